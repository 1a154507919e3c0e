using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace Sirocco.Testing;

/// <summary>
/// A private PostgreSQL server for tests: a new cluster (<c>initdb</c>) in a temporary folder, listening on a free
/// loopback port and a unix socket inside that folder, stopped and deleted on dispose. Use it as an xunit collection
/// fixture so that one server serves a whole test assembly, and <see cref="CreateDatabaseAsync"/> per test.
/// When the tests run as root (initdb refuses root), the server runs as the <c>postgres</c> user, else <c>nobody</c>.
/// Without PostgreSQL installed, starting fails with a message that says so: tests must not pass without it.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string Superuser = "sirocco";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _createLock = new(1, 1);
    private string? _binDir;
    private string? _runAs;
    private int _databases;

    /// <summary>The temporary folder: the data directory, the socket, the log.</summary>
    public string Folder { get; private set; } = string.Empty;

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>The superuser's password; it has reserved URL characters so that URLs must percent-encode it.</summary>
    public string Password { get; } = "pw/@:" + Guid.NewGuid().ToString("N")[..12];

    private string DataDir => Path.Combine(Folder, "data");

    private string LogFile => Path.Combine(Folder, "server.log");

    /// <summary>Creates the cluster and starts the server; returns when it accepts connections.</summary>
    public async Task InitializeAsync()
    {
        _binDir = FindBinDir() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: initdb, pg_ctl and postgres were not found on PATH or under /usr/lib/postgresql/*/bin. "
            + "Install it (Debian: apt-get install postgresql; scripts/test.sh does this when initdb is missing).");
        Folder = Directory.CreateTempSubdirectory("sirocco-pg-").FullName;
        if ((await RunAsync("id", ["-u"], asServerUser: false)).Output.Trim() == "0")
        {
            _runAs = await RunAsync("id", ["-u", "postgres"], asServerUser: false, check: false) is { ExitCode: 0 } ? "postgres" : "nobody";
            await RunAsync("chown", ["-R", _runAs + ":", Folder], asServerUser: false);
        }

        var pwFile = Path.Combine(Folder, "pwfile");
        await File.WriteAllTextAsync(pwFile, Password + "\n");
        if (_runAs is not null)
        {
            await RunAsync("chown", [_runAs + ":", pwFile], asServerUser: false);
        }

        await RunAsync(
            Path.Combine(_binDir, "initdb"),
            ["-D", DataDir, "-U", Superuser, "--pwfile", pwFile, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            asServerUser: true);
        File.Delete(pwFile);

        // The port is free when picked but could be taken before the server binds it: try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException e)
            {
                last = e;
            }
        }

        throw last!;
    }

    /// <summary>Creates a new, empty database and returns its URL (<c>postgresql://sirocco:***@127.0.0.1:PORT/NAME</c>).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "test_" + Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture);
        await _createLock.WaitAsync();
        try
        {
            await using var conn = new NpgsqlConnection(AdminConnectionString());
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE {name}";
            await cmd.ExecuteNonQueryAsync();
        }
        finally
        {
            _createLock.Release();
        }

        return Url(name);
    }

    /// <summary>The URL of database <paramref name="database"/> on this server, password percent-encoded.</summary>
    public string Url(string database) =>
        $"postgresql://{Superuser}:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}/{database}";

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>) and deletes the folder.</summary>
    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_binDir is not null && File.Exists(Path.Combine(DataDir, "postmaster.pid")))
        {
            var stop = await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "-t", "30", "stop"], asServerUser: true, check: false);
            if (stop.ExitCode != 0)
            {
                KillPostmaster();
            }
        }

        _createLock.Dispose();
        if (Folder.Length > 0 && Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    private async Task StartAsync()
    {
        var options = string.Join(
            ' ',
            "-c listen_addresses=127.0.0.1",
            $"-c port={Port.ToString(CultureInfo.InvariantCulture)}",
            $"-c unix_socket_directories='{Folder}'",
            "-c max_connections=200",
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        var start = await RunAsync(
            Path.Combine(_binDir!, "pg_ctl"),
            ["-D", DataDir, "-l", LogFile, "-o", options, "-w", "-t", ((int)ReadyTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "start"],
            asServerUser: true,
            check: false);
        if (start.ExitCode != 0)
        {
            KillPostmaster();
            throw new InvalidOperationException($"PostgreSQL did not start on port {Port}: {start.Output}\n{ReadLog()}");
        }

        // pg_ctl -w waited for the server; also wait, with a deadline, until the TCP port takes a login.
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection(AdminConnectionString());
                await conn.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            catch (NpgsqlException e)
            {
                throw new InvalidOperationException($"PostgreSQL on port {Port} took no connection within {ReadyTimeout.TotalSeconds} s: {e.Message}\n{ReadLog()}", e);
            }
        }
    }

    private string AdminConnectionString() => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = Password,
        Database = "postgres",
        Pooling = false,
    }.ConnectionString;

    private string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no server log)";

    /// <summary>The last resort when pg_ctl cannot stop the server: kill the postmaster named in postmaster.pid.</summary>
    private void KillPostmaster()
    {
        var pidFile = Path.Combine(DataDir, "postmaster.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill(entireProcessTree: true);
            p.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException)
        {
            // already gone
        }
    }

    /// <summary>The first folder with initdb, pg_ctl and postgres: on PATH, else the newest /usr/lib/postgresql/N/bin.</summary>
    private static string? FindBinDir()
    {
        static bool Complete(string dir) => new[] { "initdb", "pg_ctl", "postgres" }.All(f => File.Exists(Path.Combine(dir, f)));

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .Select(d => Path.GetDirectoryName(File.ResolveLinkTarget(Path.Combine(d, "initdb"), returnFinalTarget: true)?.FullName ?? Path.Combine(d, "initdb"))!);
        var packaged = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        return onPath.Concat(packaged).FirstOrDefault(Complete);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, bool asServerUser, bool check = true)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Folder,
        };
        if (asServerUser && _runAs is not null)
        {
            psi.FileName = "runuser";
            foreach (var a in new[] { "-u", _runAs, "--", file })
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = file;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(CommandTimeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} did not finish within {CommandTimeout.TotalSeconds} s");
        }

        var output = (await stdout) + (await stderr);
        if (check && p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed with exit code {p.ExitCode}: {output}");
        }

        return (p.ExitCode, output);
    }
}
