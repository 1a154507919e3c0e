using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sirocco.Testing;

/// <summary>
/// Debian's distribution registry (<c>docker-registry</c>) on loopback, in a temporary folder: plain HTTP or TLS with a
/// certificate of its own CA, anonymous or with basic auth (htpasswd, bcrypt). Images are pushed with <c>skopeo</c>.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    private readonly Process _process;

    private TestRegistry(Process process, string host, string? caFile, string dir, RegistryTokenServer? tokens)
    {
        _process = process;
        Tokens = tokens;
        Host = host;
        CaFile = caFile;
        Directory = dir;
    }

    /// <summary>host:port.</summary>
    public string Host { get; }

    /// <summary>The PEM of the CA that signed the registry's certificate, when it speaks TLS.</summary>
    public string? CaFile { get; }

    /// <summary>The token service, when the registry uses token authentication.</summary>
    public RegistryTokenServer? Tokens { get; }

    /// <summary>The registry's folder (config, storage, certificates).</summary>
    public string Directory { get; }

    /// <summary>
    /// Starts a registry in <paramref name="dir"/>; returns once it listens. With a user, it asks for basic auth, or with
    /// <paramref name="tokenAuth"/> for a bearer token from a <see cref="RegistryTokenServer"/> that checks the user.
    /// </summary>
    public static async Task<TestRegistry> StartAsync(string dir, bool tls = false, string? user = null, string? password = null, int port = 0, bool tokenAuth = false)
    {
        System.IO.Directory.CreateDirectory(dir);
        port = port == 0 ? FreePort() : port;
        var host = $"127.0.0.1:{port}";
        var config = new List<string>
        {
            "version: 0.1",
            "log: {level: info}",
            $"storage: {{filesystem: {{rootdirectory: {Path.Combine(dir, "data")}}}, delete: {{enabled: true}}}}",
            "http:",
            $"  addr: {host}",
        };
        string? caFile = null;
        if (tls)
        {
            caFile = Path.Combine(dir, "ca.pem");
            WriteCertificates(dir, caFile);
            config.Add($"  tls: {{certificate: {Path.Combine(dir, "server.pem")}, key: {Path.Combine(dir, "server.key")}}}");
        }

        RegistryTokenServer? tokens = null;
        if (user is not null && tokenAuth)
        {
            var bundle = Path.Combine(dir, "token-ca.pem");
            tokens = await RegistryTokenServer.StartAsync(user, password ?? "", bundle);
            config.Add($"auth: {{token: {{realm: \"{tokens.Realm}\", service: {RegistryTokenServer.Service}, issuer: {RegistryTokenServer.Issuer}, rootcertbundle: {bundle}}}}}");
        }
        else if (user is not null)
        {
            var (code, output, error) = await RunAsync("/usr/bin/htpasswd", "-Bbn", user, password ?? "");
            if (code != 0)
            {
                throw new InvalidOperationException("htpasswd failed: " + error);
            }

            await File.WriteAllTextAsync(Path.Combine(dir, "htpasswd"), output.Trim() + "\n");
            config.Add($"auth: {{htpasswd: {{realm: sirocco-test, path: {Path.Combine(dir, "htpasswd")}}}}}");
        }

        var configFile = Path.Combine(dir, "config.yml");
        await File.WriteAllLinesAsync(configFile, config);
        var start = new ProcessStartInfo("/usr/bin/docker-registry") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(configFile);
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (log)
            {
                log.AppendLine(e.Data);
            }

            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }

        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var exited = process.WaitForExitAsync();
        var done = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(20)));
        if (done != listening.Task)
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            if (tokens is not null)
            {
                await tokens.DisposeAsync();
            }

            throw new InvalidOperationException($"docker-registry did not start on {host}: {log}");
        }

        return new TestRegistry(process, host, caFile, dir, tokens);
    }

    /// <summary>Copies an image with skopeo (source such as <c>oci:DIR:TAG</c>) to <c>REGISTRY/repository</c> here.</summary>
    public async Task PushAsync(string source, string repository, string? user = null, string? password = null)
    {
        List<string> args = ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"];
        if (user is not null)
        {
            args.Add($"--dest-creds={user}:{password}");
        }

        args.AddRange([source, $"docker://{Host}/{repository}"]);
        var (code, output, error) = await RunAsync("/usr/bin/skopeo", [.. args]);
        if (code != 0)
        {
            throw new InvalidOperationException($"skopeo copy {source} to {Host}/{repository} failed: {output}{error}");
        }
    }

    /// <summary>Stops the registry (as a crash would: at once).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the registry.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        if (Tokens is not null)
        {
            await Tokens.DisposeAsync();
        }
    }

    /// <summary>Runs a program (60 s at most); returns exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 60 s");
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    private static void WriteCertificates(string dir, string caFile)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=sirocco-test-registry-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.key"), key.ExportPkcs8PrivateKeyPem());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
