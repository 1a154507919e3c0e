using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The streaming pod subresource <c>log</c>, and the container lookup the streaming subresources share.</summary>
internal sealed partial class PodRuntime
{
    /// <summary>PodLogOptions decoded and checked before the pod's containers are looked at, as the real server does.</summary>
    private static LogOptions DecodeLogOptions(IQueryCollection q, string pod)
    {
        var options = new LogOptions(
            QueryParams.Bool(q, "previous"),
            QueryParams.Bool(q, "timestamps"),
            QueryParams.Bool(q, "follow"),
            QueryParams.Int(q, "sinceSeconds"),
            QueryParams.Time(q, "sinceTime") is { } t ? t.AddTicks(-(t.Ticks % TimeSpan.TicksPerSecond)) : null,
            QueryParams.Int(q, "tailLines"),
            QueryParams.Int(q, "limitBytes"));
        if (options.SinceSeconds is not null && options.SinceTime is not null)
        {
            throw ApiException.Invalid("PodLogOptions", pod, [new FieldCause("FieldValueForbidden", "[]", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")]);
        }

        foreach (var (field, value, rule) in new[] { ("sinceSeconds", options.SinceSeconds, "must be greater than 0"), ("tailLines", options.TailLines, "must be greater than or equal to 0"), ("limitBytes", options.LimitBytes, "must be greater than 0") })
        {
            if (value is { } v && (field == "tailLines" ? v < 0 : v <= 0))
            {
                throw ApiException.Invalid("PodLogOptions", pod, [new FieldCause("FieldValueInvalid", field, $"Invalid value: {v}: {rule}")]);
            }
        }

        return options;
    }

    private sealed record LogOptions(bool Previous, bool Timestamps, bool Follow, long? SinceSeconds, DateTimeOffset? SinceTime, long? TailLines, long? LimitBytes);

    public async Task StreamLogsAsync(HttpContext ctx, StoredObject stored, CancellationToken cancellationToken)
    {
        var q = ctx.Request.Query;
        var options = DecodeLogOptions(q, stored.Name);
        var pod = stored.ToJson();
        var run = FindContainer(pod, QueryParams.Text(q, "container"), out var worker);
        var previous = options.Previous;
        if (run.Logs.Count == 0 || (previous && run.Logs.Count < 2))
        {
            if (previous)
            {
                throw ApiException.BadRequest($"previous terminated container \"{run.Name}\" in pod \"{stored.Name}\" not found");
            }

            throw ApiException.BadRequest($"container \"{run.Name}\" in pod \"{stored.Name}\" is waiting to start: {run.Reason ?? "ContainerCreating"}");
        }

        var log = previous ? run.Logs[^2] : run.Logs[^1];
        var timestamps = options.Timestamps;
        var follow = options.Follow && !previous;
        var since = options.SinceSeconds is { } sinceSeconds ? _cluster.Now.AddSeconds(-Math.Min(sinceSeconds, 100L * 365 * 86400)) : options.SinceTime;
        var tail = options.TailLines ?? -1;
        var limit = options.LimitBytes ?? long.MaxValue;

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
                    buffer.Write(Encoding.ASCII.GetBytes(Time.NanoFixed(line.Time) + " "));
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
}
