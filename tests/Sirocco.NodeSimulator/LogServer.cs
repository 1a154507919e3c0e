using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Sirocco.NodeSimulator;

/// <summary>
/// The kubelet's log endpoint, simulated: the API server forwards <c>pods/log</c> here
/// (<c>GET /containerLogs/NS/POD/CONTAINER</c> with follow, timestamps, sinceSeconds, sinceTime and tailLines). A
/// container's output is its pod's <see cref="SimulatorOptions.LogAnnotation"/>, one line a millisecond from the
/// container's start; a followed log of a running container stays open until the pod's run time is over, as the
/// kubelet ends the stream when the container exits. https with a throwaway self-signed certificate (the API server
/// checks no kubelet certificate unless told to).
/// </summary>
internal sealed class LogServer(WebApplication app, int port) : IAsyncDisposable
{
    public int Port { get; } = port;

    public static async Task<LogServer> StartAsync(Func<string, V1Pod?> find, Func<V1Pod, TimeSpan> runFor, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=sirocco-node-simulator", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = X509CertificateLoader.LoadPkcs12(
            request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7)).Export(X509ContentType.Pkcs12),
            null);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = null;
            k.Listen(IPAddress.Loopback, 0, l =>
            {
                l.Protocols = HttpProtocols.Http1AndHttp2;
                l.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.MapGet("/containerLogs/{ns}/{pod}/{container}", (HttpContext ctx, string ns, string pod, string container) => ServeAsync(ctx, find(ns + "/" + pod), pod, container, runFor));
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Urls.First();
        return new LogServer(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync().ConfigureAwait(false);

    private static async Task ServeAsync(HttpContext ctx, V1Pod? pod, string podName, string container, Func<V1Pod, TimeSpan> runFor)
    {
        var response = ctx.Response;
        var status = pod?.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == container);
        if (pod is null || status?.State is not { } state || (state.Running is null && state.Terminated is null))
        {
            response.StatusCode = pod is null ? 404 : 400;
            await response.WriteAsync(pod is null
                ? $"pod {podName} not found on this node"
                : $"container \"{container}\" in pod \"{podName}\" is waiting to start: ContainerCreating").ConfigureAwait(false);
            return;
        }

        var query = ctx.Request.Query;
        var started = (state.Running?.StartedAt ?? state.Terminated?.StartedAt ?? DateTime.UtcNow).ToUniversalTime();
        var text = pod.Metadata.Annotations?.TryGetValue(SimulatorOptions.LogAnnotation, out var t) == true ? t : string.Empty;
        var lines = text.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }

        var interval = Duration(pod, SimulatorOptions.LogLineIntervalAnnotation) ?? TimeSpan.FromMilliseconds(1);
        var cutAt = Duration(pod, SimulatorOptions.LogCutAfterAnnotation) is { } cut && started + cut > DateTime.UtcNow ? started + cut : DateTime.MaxValue;
        var follow = IsTrue(query["follow"]) && state.Running is not null;
        var stamped = lines.Select((line, i) => (At: started + (interval * i), Line: line))
            .Where(l => follow ? l.At < cutAt : l.At <= DateTime.UtcNow);
        var since = query["sinceSeconds"] is [{ } s] && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTime.UtcNow.AddSeconds(-seconds)
            : query["sinceTime"] is [{ } st] && DateTime.TryParse(st, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                ? time
                : (DateTime?)null;
        if (since is { } from)
        {
            stamped = stamped.Where(l => l.At >= from);
        }

        if (query["tailLines"] is [{ } tl] && int.TryParse(tl, NumberStyles.None, CultureInfo.InvariantCulture, out var tail))
        {
            stamped = stamped.TakeLast(tail);
        }

        var timestamps = IsTrue(query["timestamps"]);
        response.ContentType = "text/plain";
        foreach (var (at, line) in stamped)
        {
            // A followed stream gets each line when the container writes it.
            await UntilAsync(at, ctx.RequestAborted).ConfigureAwait(false);

            await response.WriteAsync(timestamps ? $"{at:yyyy-MM-ddTHH:mm:ss.fffffff}00Z {line}\n" : line + "\n", ctx.RequestAborted).ConfigureAwait(false);
        }

        await response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        var end = pod.Status.StartTime is { } podStart ? podStart.ToUniversalTime() + runFor(pod) : DateTime.UtcNow;
        end = end < cutAt ? end : cutAt;
        if (follow)
        {
            try
            {
                await UntilAsync(end, ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the client went away
            }
        }
    }

    /// <summary>
    /// Waits until the clock reads <paramref name="at"/>: a timer rounds its period down to whole milliseconds, and a
    /// stream that ended a moment before the exit time it reports would look cut short.
    /// </summary>
    private static async Task UntilAsync(DateTime at, CancellationToken ct)
    {
        for (var left = at - DateTime.UtcNow; left > TimeSpan.Zero; left = at - DateTime.UtcNow)
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(1), ct).ConfigureAwait(false);
        }
    }

    private static TimeSpan? Duration(V1Pod pod, string annotation) =>
        pod.Metadata.Annotations?.TryGetValue(annotation, out var text) == true ? SimulatorOptions.ParseDuration(text) : null;

    private static bool IsTrue(Microsoft.Extensions.Primitives.StringValues v) =>
        v is [{ } s] && (s == "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase));
}
