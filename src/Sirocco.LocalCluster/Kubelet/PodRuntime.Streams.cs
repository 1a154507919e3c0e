using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The streaming pod subresources: <c>log</c> and <c>exec</c>.</summary>
internal sealed partial class PodRuntime
{
    private static readonly string[] ExecProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];

    /// <summary>PodLogOptions checks, made before the pod's containers are looked at, as the real server decodes them first.</summary>
    private static void ValidateLogOptions(IQueryCollection q, string pod)
    {
        foreach (var (field, rule) in new[] { ("sinceSeconds", "must be greater than 0"), ("tailLines", "must be greater than or equal to 0"), ("limitBytes", "must be greater than 0") })
        {
            if (long.TryParse(q[field], out var v) && (field == "tailLines" ? v < 0 : v <= 0))
            {
                throw ApiException.Invalid("PodLogOptions", pod, [new FieldCause("FieldValueInvalid", field, $"Invalid value: {v}: {rule}")]);
            }
        }
    }

    public async Task StreamLogsAsync(HttpContext ctx, StoredObject stored, CancellationToken cancellationToken)
    {
        var q = ctx.Request.Query;
        ValidateLogOptions(q, stored.Name);
        var pod = stored.ToJson();
        var run = FindContainer(pod, q["container"], out var worker);
        var previous = q["previous"] == "true";
        if (run.Logs.Count == 0 || (previous && run.Logs.Count < 2))
        {
            if (previous)
            {
                throw ApiException.BadRequest($"previous terminated container \"{run.Name}\" in pod \"{stored.Name}\" not found");
            }

            throw ApiException.BadRequest($"container \"{run.Name}\" in pod \"{stored.Name}\" is waiting to start: {run.Reason ?? "ContainerCreating"}");
        }

        var log = previous ? run.Logs[^2] : run.Logs[^1];
        var timestamps = q["timestamps"] == "true";
        var follow = q["follow"] == "true" && !previous;
        DateTimeOffset? since = null;
        if (long.TryParse(q["sinceSeconds"], out var sinceSeconds))
        {
            since = _cluster.Now.AddSeconds(-sinceSeconds);
        }
        else if (Time.Parse(q["sinceTime"]) is { } sinceTime)
        {
            since = sinceTime;
        }

        var tail = long.TryParse(q["tailLines"], out var t) ? t : -1;
        var limit = long.TryParse(q["limitBytes"], out var l) ? l : long.MaxValue;

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cluster.Stopping.Token);
        var token = cts.Token;
        long offset = 0;
        var written = 0L;
        var lines = log.ReadFrom(ref offset).Where(x => since is null || x.Time >= since).ToList();
        if (tail >= 0)
        {
            lines = lines.Skip((int)Math.Max(0, lines.Count - tail)).ToList();
        }

        async Task<bool> WriteAsync(List<LogLine> batch)
        {
            if (batch.Count == 0)
            {
                return true;
            }

            using var buffer = new MemoryStream();
            foreach (var line in batch)
            {
                if (timestamps)
                {
                    buffer.Write(Encoding.ASCII.GetBytes(Time.Nano(line.Time) + " "));
                }

                buffer.Write(line.Content);
                if (!line.Partial)
                {
                    buffer.WriteByte((byte)'\n');
                }
            }

            var bytes = buffer.ToArray();
            var room = limit - written;
            var count = (int)Math.Min(room, bytes.Length);
            await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, count), token).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(token).ConfigureAwait(false);
            written += count;
            return written < limit;
        }

        if (!await WriteAsync(lines).ConfigureAwait(false) || !follow)
        {
            return;
        }

        try
        {
            while (true)
            {
                // Take the signal before reading: an append or the end after this read completes it.
                var changed = log.Changed;
                var ended = log.Ended;
                if (!await WriteAsync(log.ReadFrom(ref offset)).ConfigureAwait(false) || ended)
                {
                    return;
                }

                await changed.WaitAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The client left or the cluster stops.
        }
    }

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

    private ContainerRun FindContainer(JsonObject pod, string? name, out PodWorker? worker)
    {
        var podName = Meta.Get(pod, "name") ?? "";
        var main = (pod["spec"]?["containers"] as JsonArray ?? []).Select(c => Meta.Str(c?["name"]) ?? "").ToList();
        var init = (pod["spec"]?["initContainers"] as JsonArray ?? []).Select(c => Meta.Str(c?["name"]) ?? "").ToList();
        if (string.IsNullOrEmpty(name))
        {
            if (main.Count != 1)
            {
                var initText = init.Count > 0 ? $" or one of the init containers: [{string.Join(" ", init)}]" : "";
                throw ApiException.BadRequest($"a container name must be specified for pod {podName}, choose one of: [{string.Join(" ", main)}]{initText}");
            }

            name = main[0];
        }

        if (!main.Contains(name) && !init.Contains(name))
        {
            throw ApiException.BadRequest($"container {name} is not valid for pod {podName}");
        }

        var uid = Meta.Get(pod, "uid") ?? "";
        lock (_gate)
        {
            _workers.TryGetValue(uid, out worker);
        }

        var run = worker?.Containers.FirstOrDefault(c => c.Name == name);
        if (run is null && worker is null)
        {
            // The pod ran before the cluster last started: its logs are still on disk.
            var dir = Path.Combine(_cluster.StateDirectory, "pods", uid, "logs", name);
            var files = Directory.Exists(dir)
                ? Directory.GetFiles(dir, "*.log").Select(f => (File: f, Run: int.TryParse(Path.GetFileNameWithoutExtension(f), out var n) ? n : -1)).Where(f => f.Run >= 0).OrderBy(f => f.Run).ToList()
                : [];
            if (files.Count > 0)
            {
                run = new ContainerRun(new V1Container { Name = name, Image = "" }, init: false, "Completed");
                foreach (var (file, _) in files)
                {
                    run.Logs.Add(ContainerLog.Existing(file));
                }
            }
        }

        return run ?? throw ApiException.BadRequest($"container \"{name}\" in pod \"{podName}\" is waiting to start: ContainerCreating");
    }

    public async Task ExecAsync(HttpContext ctx, StoredObject stored, CancellationToken cancellationToken)
    {
        var q = ctx.Request.Query;
        var pod = stored.ToJson();
        var command = q["command"].Where(c => c is not null).Select(c => c!).ToList();
        if (command.Count == 0)
        {
            throw ApiException.BadRequest("you must specify at least 1 command");
        }

        var run = FindContainer(pod, q["container"], out var worker);
        var pid = await SandboxedPidAsync(worker, run.Name, ctx.RequestAborted).ConfigureAwait(false);
        if (pid is null)
        {
            throw ApiException.BadRequest($"unable to upgrade connection: container not found (\"{run.Name}\")");
        }

        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest("Upgrade request required: the local cluster serves exec over WebSocket (v4.channel.k8s.io, v5.channel.k8s.io) only");
        }

        var protocol = ExecProtocols.FirstOrDefault(p => ctx.WebSockets.WebSocketRequestedProtocols.Contains(p));
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync(protocol).ConfigureAwait(false);
        var useStdin = q["stdin"] is var s && (s == "true" || s == "1");
        var start = new ProcessStartInfo("/usr/bin/nsenter")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in Sandbox.EnterArguments(pid.Value, run.Spec, command))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Clear();
        foreach (var (k, v) in run.Environment)
        {
            start.Environment[k] = v;
        }

        using var send = new SemaphoreSlim(1, 1);
        async Task SendAsync(byte channel, ReadOnlyMemory<byte> data)
        {
            var frame = new byte[data.Length + 1];
            frame[0] = channel;
            data.CopyTo(frame.AsMemory(1));
            await send.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    await socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (WebSocketException)
            {
                // The client went away.
            }
            finally
            {
                send.Release();
            }
        }

        Process process;
        try
        {
            // Through the launcher: the exec'd command joins the containers' CPU group like the container itself.
            process = await Launcher.StartAsync(start).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            await SendAsync(3, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new JsonObject
            {
                ["metadata"] = new JsonObject(),
                ["status"] = "Failure",
                ["message"] = e.Message,
                ["reason"] = "InternalError",
            }, JsonText.Options))).ConfigureAwait(false);
            return;
        }

        using var _ = process;
        if (!useStdin)
        {
            process.StandardInput.Close();
        }

        async Task PumpAsync(Stream from, byte channel)
        {
            var buffer = new byte[16 * 1024];
            int read;
            try
            {
                while ((read = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    await SendAsync(channel, buffer.AsMemory(0, read)).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // Pipe closed.
            }
        }

        var stdout = PumpAsync(process.StandardOutput.BaseStream, 1);
        var stderr = PumpAsync(process.StandardError.BaseStream, 2);
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = ReadClientAsync(socket, process, useStdin, readCts.Token);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        process.StandardOutput.Dispose();
        process.StandardError.Dispose();
        var exit = process.ExitCode;
        var status = exit == 0
            ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
            : new JsonObject
            {
                ["metadata"] = new JsonObject(),
                ["status"] = "Failure",
                ["message"] = $"command terminated with non-zero exit code: error executing command [{string.Join(" ", command)}], exit code {exit}",
                ["reason"] = "NonZeroExitCode",
                ["details"] = new JsonObject
                {
                    ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = exit.ToString(CultureInfo.InvariantCulture) }),
                },
            };
        var errorPayload = protocol is "v4.channel.k8s.io" or "v5.channel.k8s.io"
            ? JsonSerializer.SerializeToUtf8Bytes(status, JsonText.Options)
            : exit == 0 ? [] : Encoding.UTF8.GetBytes((string)status["message"]!);
        await SendAsync(3, errorPayload).ConfigureAwait(false);
        try
        {
            // Say we are done and let the client close its side; cancelling a receive would abort the socket.
            await send.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (WebSocketException)
        {
            // Already closed by the client.
        }
        finally
        {
            send.Release();
        }

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

    private static async Task ReadClientAsync(WebSocket socket, Process process, bool useStdin, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        var stdin = process.StandardInput.BaseStream;
        var stdinOpen = useStdin;
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, token).ConfigureAwait(false);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var data = message.ToArray();
                if (data.Length == 0)
                {
                    continue;
                }

                if (data[0] == 0 && stdinOpen && data.Length > 1)
                {
                    await stdin.WriteAsync(data.AsMemory(1), token).ConfigureAwait(false);
                    await stdin.FlushAsync(token).ConfigureAwait(false);
                }
                else if (data[0] == 255 && data.Length > 1 && data[1] == 0 && stdinOpen)
                {
                    stdinOpen = false;
                    stdin.Close();
                }
            }
        }
        catch (WebSocketException)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The command closed its stdin.
        }
        finally
        {
            if (stdinOpen)
            {
                try
                {
                    stdin.Close();
                }
                catch (IOException)
                {
                    // Already closed.
                }
            }
        }
    }
}
