using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The interactive pod subresources: <c>exec</c> and <c>attach</c>.</summary>
internal sealed partial class PodRuntime
{
    /// <summary>The real server's answer to a streaming request that is not an upgrade.</summary>
    private static ApiException UpgradeRequired() => ApiException.BadRequest("Upgrade request required");

    /// <summary>
    /// The host pid of a container's process once its sandbox is set up. bubblewrap forks the container's pid 1, mounts
    /// the volumes, then execs the command: entering the namespaces before that exec would miss the mounts (an exec
    /// into a just-started sidecar saw an empty /airflow/xcom). The kernel offers no event for an exec in another
    /// process, so this looks at /proc/PID/exe a few times, for at most 2 s.
    /// </summary>
    private static async Task<int?> SandboxedPidAsync(PodWorker? worker, string container, CancellationToken token)
    {
        var deadline = Environment.TickCount64 + 2000;
        while (true)
        {
            var pid = worker?.ContainerPid(container);
            if (pid is null)
            {
                // Running is reported when bubblewrap starts; its child may not be forked yet.
                if (worker is null || Environment.TickCount64 > deadline)
                {
                    return null;
                }

                await Task.Delay(10, token).ConfigureAwait(false);
                continue;
            }

            string? exe;
            try
            {
                exe = new FileInfo($"/proc/{pid.Value.ToString(CultureInfo.InvariantCulture)}/exe").LinkTarget;
            }
            catch (IOException)
            {
                exe = null;
            }
            catch (UnauthorizedAccessException)
            {
                exe = null;
            }

            if ((exe is not null && !exe.EndsWith("/bwrap", StringComparison.Ordinal)) || Environment.TickCount64 > deadline)
            {
                return pid;
            }

            await Task.Delay(10, token).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a command in a running container over a WebSocket channel protocol, with a terminal when asked.</summary>
    public async Task ExecAsync(HttpContext ctx, StoredObject stored, CancellationToken cancellationToken)
    {
        if (!StreamTransport.IsUpgrade(ctx))
        {
            throw UpgradeRequired();
        }

        var options = StreamOptions.Decode(ctx.Request.Query, exec: true);
        var run = FindContainer(stored.ToJson(), options.Container, out var worker);
        var pid = await SandboxedPidAsync(worker, run.Name, ctx.RequestAborted).ConfigureAwait(false);
        if (pid is null)
        {
            throw ApiException.BadRequest($"unable to upgrade connection: container not found (\"{run.Name}\")");
        }

        // A terminal wants a session of its own (setsid); an image may have no setsid, and then the command runs without.
        var inSession = options.Tty && (run.RootFs is null || Sirocco.LocalCluster.Images.RootPath.IsFile(run.RootFs, "/usr/bin/setsid"));
        var enter = Sandbox.EnterArguments(pid.Value, run.Spec, inSession ? Pty.InSession(options.Command) : options.Command, run.ImageUser).ToList();
        using var socket = await StreamTransport.AcceptAsync(ctx, options).ConfigureAwait(false);
        using var pty = options.Tty ? Pty.Open(pid.Value) : null;
        var start = new ProcessStartInfo(pty is null ? NsenterPath : "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in pty is null ? enter : pty.LaunchArguments(NsenterPath, enter))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Clear();
        foreach (var (k, v) in run.Environment)
        {
            start.Environment[k] = v;
        }

        // The client's input is read from the start: a terminal gets its first window size before the command starts
        // (kubectl sends it at once; a client that sends none waits at most half a second), so the command sees its
        // size from the beginning.
        var input = new ExecInput(options.Stdin, pty);
        var sized = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = socket.ReceiveAsync(input.WriteAsync, input.Close, (width, height) =>
        {
            pty?.Resize(width, height);
            sized.TrySetResult();
        }, readCts.Token);
        if (pty is not null)
        {
            await Task.WhenAny(sized.Task, reader, Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken)).ConfigureAwait(false);
        }

        Process process;
        try
        {
            // Through the launcher: the exec'd command joins the containers' CPU group and its pod's pids group.
            process = await Launcher.StartAsync(start, worker is null ? null : Pids?.ForPod(worker.Uid)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            input.Failed();
            await socket.SendStatusAsync(null, options.Command, e.Message).ConfigureAwait(false);
            await readCts.CancelAsync().ConfigureAwait(false);
            return;
        }

        using var _ = process;
        input.Started(process.StandardInput.BaseStream);
        var output = pty is not null
            ? PumpTerminalAsync(pty, socket, options.Stdout)
            : Task.WhenAll(
                PumpAsync(process.StandardOutput.BaseStream, socket, 1, options.Stdout),
                PumpAsync(process.StandardError.BaseStream, socket, 2, options.Stderr));
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);

        // A terminal's output ends when every holder closes it; a daemon the command left behind may keep it open.
        await Task.WhenAny(output, Task.Delay(pty is null ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
        process.StandardOutput.Dispose();
        process.StandardError.Dispose();
        await EndAsync(socket, process.ExitCode, options.Command, reader, readCts).ConfigureAwait(false);
    }

    private const string NsenterPath = "/usr/bin/nsenter";

    /// <summary>
    /// Attaches to a running container: its output from now on (stdout and stderr as the container log merges them),
    /// and its stdin when the container has one (<c>stdin: true</c>). The session ends when the container does.
    /// </summary>
    public async Task AttachAsync(HttpContext ctx, StoredObject stored, CancellationToken cancellationToken)
    {
        if (!StreamTransport.IsUpgrade(ctx))
        {
            throw UpgradeRequired();
        }

        var options = StreamOptions.Decode(ctx.Request.Query, exec: false);
        var run = FindContainer(stored.ToJson(), options.Container, out _);
        if (run.State != "running" || run.Logs.Count == 0)
        {
            throw ApiException.BadRequest($"unable to upgrade connection: container {run.Name} not found in pod {stored.Name}");
        }

        var log = run.Logs[^1];
        var stdin = options.Stdin ? run.Stdin : null;

        // Output from this moment: marked before the client can send anything the container would answer.
        long offset = 0;
        log.ReadFrom(ref offset);
        using var socket = await StreamTransport.AcceptAsync(ctx, options).ConfigureAwait(false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cluster.Stopping.Token);
        var reader = socket.ReceiveAsync(
            data => stdin?.WriteAsync(data, cts.Token) ?? Task.CompletedTask,
            () => stdin?.Detached(),
            (_, _) => { },
            cts.Token);
        try
        {
            while (!reader.IsCompleted)
            {
                var changed = log.Changed;
                var ended = log.Ended;
                foreach (var line in log.ReadFrom(ref offset))
                {
                    if (options.Stdout || options.Stderr)
                    {
                        await socket.SendAsync(options.Stdout ? (byte)1 : (byte)2, line.Partial ? line.Content : [.. line.Content, (byte)'\n']).ConfigureAwait(false);
                    }
                }

                if (ended)
                {
                    break;
                }

                await Task.WhenAny(changed, reader).WaitAsync(cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The client left or the cluster stops.
        }

        await EndAsync(socket, 0, options.Command, reader, cts).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends a session: its status, the end of output, then up to 5 s for the client to close its side (cancelling a
    /// receive earlier would abort the socket).
    /// </summary>
    private static async Task EndAsync(IStreamTransport socket, int? exitCode, IReadOnlyList<string> command, Task reader, CancellationTokenSource readCts)
    {
        await socket.SendStatusAsync(exitCode, command).ConfigureAwait(false);
        await socket.CloseOutputAsync().ConfigureAwait(false);
        await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        await readCts.CancelAsync().ConfigureAwait(false);
        try
        {
            await reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client never closed its side.
        }
    }

    /// <summary>Sends a stream's output on a channel, or drains it when the client did not ask for that stream.</summary>
    private static async Task PumpAsync(Stream from, IStreamTransport socket, byte channel, bool wanted)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                if (wanted)
                {
                    await socket.SendAsync(channel, buffer.AsMemory(0, read)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Pipe closed.
        }
    }

    /// <summary>Sends a terminal's output on stdout, read on a dedicated thread (see <see cref="Pty.Read"/>).</summary>
    private static Task PumpTerminalAsync(Pty pty, IStreamTransport socket, bool wanted) =>
        Task.Factory.StartNew(
            () =>
            {
                var buffer = new byte[16 * 1024];
                int read;
                try
                {
                    while ((read = pty.Read(buffer)) > 0)
                    {
                        if (wanted)
                        {
                            socket.SendAsync(1, buffer.AsMemory(0, read).ToArray()).GetAwaiter().GetResult();
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The session ended while a daemon still held the terminal.
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
}
