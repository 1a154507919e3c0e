using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Sirocco's own metrics of its Kubernetes work, on the meter <c>Sirocco.Kubernetes</c>:
/// <c>sirocco.kubernetes.api_requests</c> (by verb, resource and status code, as the API server counts its
/// <c>apiserver_request_total</c>), <c>sirocco.kubernetes.watch_restarts</c>, <c>sirocco.kubernetes.pod_start_latency</c>
/// (seconds from the create request to a started container) and <c>sirocco.kubernetes.log_bytes</c> (container output
/// streamed into task logs). Spans of pods go to the activity source of the same name.
/// </summary>
internal static class KubernetesMetrics
{
    public const string Name = "Sirocco.Kubernetes";

    public static readonly ActivitySource Activities = new(Name);

    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("sirocco.kubernetes.api_requests", description: "Kubernetes API requests, by verb, resource and status code");
    private static readonly Counter<long> WatchRestarts = Meter.CreateCounter<long>("sirocco.kubernetes.watch_restarts", description: "Pod and event watches opened again (expired, broken or refused)");
    private static readonly Histogram<double> StartLatency = Meter.CreateHistogram<double>("sirocco.kubernetes.pod_start_latency", "s", "From the pod's create request to its base container started");
    private static readonly Counter<long> LogBytes = Meter.CreateCounter<long>("sirocco.kubernetes.log_bytes", "By", "Container output streamed into task logs");

    public static void Request(HttpRequestMessage request, int? status)
    {
        var (verb, resource) = Describe(request.Method.Method, request.RequestUri);
        Requests.Add(1, new TagList
        {
            { "verb", verb },
            { "resource", resource },
            { "code", status is { } s ? s.ToString(CultureInfo.InvariantCulture) : "error" },
        });
    }

    public static void WatchRestarted(string what) => WatchRestarts.Add(1, new KeyValuePair<string, object?>("resource", what));

    public static void PodStarted(TimeSpan sinceCreate) => StartLatency.Record(sinceCreate.TotalSeconds);

    public static void LogStreamed(int bytes) => LogBytes.Add(bytes);

    /// <summary>
    /// The API server's verb (GET, LIST, WATCH, POST, PUT, PATCH, DELETE, DELETECOLLECTION, CONNECT) and resource
    /// (with its subresource: <c>pods/log</c>) of a request, from its method and path.
    /// </summary>
    internal static (string Verb, string Resource) Describe(string method, Uri? uri)
    {
        var segments = (uri?.AbsolutePath ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries);

        // /api/v1/... or /apis/group/version/...
        var i = segments.Length > 0 && segments[0] == "api" ? 2 : 3;
        if (segments.Length <= i || (segments[0] != "api" && segments[0] != "apis"))
        {
            return (method.ToUpperInvariant(), segments.Length == 0 ? "/" : segments[0]);
        }

        if (segments[i] == "namespaces" && segments.Length > i + 2)
        {
            i += 2; // namespaced: skip "namespaces/<ns>"
        }

        var resource = segments[i];
        var named = segments.Length > i + 1;
        if (segments.Length > i + 2)
        {
            resource += "/" + segments[i + 2];
        }

        var query = uri?.Query ?? string.Empty;
        var verb = method.ToUpperInvariant() switch
        {
            "GET" when query.Contains("watch=true", StringComparison.OrdinalIgnoreCase) || query.Contains("watch=1", StringComparison.Ordinal) => "WATCH",
            "GET" when !named => "LIST",
            "GET" or "POST" when resource.EndsWith("/exec", StringComparison.Ordinal) || resource.EndsWith("/attach", StringComparison.Ordinal) => "CONNECT",
            "DELETE" when !named => "DELETECOLLECTION",
            var m => m,
        };
        return (verb, resource);
    }
}

/// <summary>Counts every request a Kubernetes client sends, by verb, resource and answer.</summary>
internal sealed class ApiRequestCounter : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            KubernetesMetrics.Request(request, null);
            throw;
        }

        KubernetesMetrics.Request(request, (int)response.StatusCode);
        return response;
    }
}
