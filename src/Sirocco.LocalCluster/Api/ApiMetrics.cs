using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// What the cluster serves at <c>/metrics</c> (Prometheus text, authenticated as every API path), in the names of the
/// real API server: <c>apiserver_request_total</c> and <c>apiserver_request_duration_seconds</c> by verb, resource,
/// subresource and code, <c>apiserver_current_inflight_requests</c> by kind, <c>apiserver_longrunning_requests</c>
/// (watches, followed logs, exec) and <c>apiserver_storage_objects</c> by resource.
/// </summary>
internal sealed class ApiMetrics
{
    private readonly ConcurrentDictionary<(string Verb, string Resource, string Sub, int Code), Totals> _requests = new();
    // In flight: [0] mutating, [1] read-only, [2] long-running.
    private readonly int[] _inFlight = new int[3];

    /// <summary>Counts one request from start to end.</summary>
    public async Task MeasureAsync(HttpContext ctx, Func<Task> handle)
    {
        var (verb, resource, sub) = Describe(ctx.Request.Method, ctx.Request.Path.Value ?? "/", ctx.Request.Query);
        var longRunning = verb is "WATCH" or "CONNECT" || (sub == "log" && QueryParams.Bool(ctx.Request.Query, "follow"));
        var kind = longRunning ? 2 : verb is "GET" or "LIST" ? 1 : 0;
        Interlocked.Increment(ref _inFlight[kind]);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await handle().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight[kind]);
            if (resource.Length > 0)
            {
                var totals = _requests.GetOrAdd((verb, resource, sub, ctx.Response.StatusCode), _ => new Totals());
                totals.Add(Stopwatch.GetElapsedTime(started));
            }
        }
    }

    public string Render(ObjectStore store)
    {
        var text = new StringBuilder();
        var rows = _requests.OrderBy(r => r.Key.Resource, StringComparer.Ordinal).ThenBy(r => r.Key.Sub, StringComparer.Ordinal)
            .ThenBy(r => r.Key.Verb, StringComparer.Ordinal).ThenBy(r => r.Key.Code).ToList();
        text.Append("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.\n");
        text.Append("# TYPE apiserver_request_total counter\n");
        foreach (var (k, t) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_request_total{{code=\"{k.Code}\",group=\"\",resource=\"{k.Resource}\",subresource=\"{k.Sub}\",verb=\"{k.Verb}\",version=\"v1\"}} {t.Count}\n");
        }

        text.Append("# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, resource and subresource.\n");
        text.Append("# TYPE apiserver_request_duration_seconds summary\n");
        foreach (var g in rows.GroupBy(r => (r.Key.Verb, r.Key.Resource, r.Key.Sub)))
        {
            var labels = $"group=\"\",resource=\"{g.Key.Resource}\",subresource=\"{g.Key.Sub}\",verb=\"{g.Key.Verb}\",version=\"v1\"";
            text.Append(CultureInfo.InvariantCulture, $"apiserver_request_duration_seconds_sum{{{labels}}} {g.Sum(r => r.Value.Seconds):0.######}\n");
            text.Append(CultureInfo.InvariantCulture, $"apiserver_request_duration_seconds_count{{{labels}}} {g.Sum(r => r.Value.Count)}\n");
        }

        text.Append("# HELP apiserver_current_inflight_requests Requests being served, by kind (long-running ones counted apart).\n");
        text.Append("# TYPE apiserver_current_inflight_requests gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_current_inflight_requests{{request_kind=\"mutating\"}} {Volatile.Read(ref _inFlight[0])}\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_current_inflight_requests{{request_kind=\"readOnly\"}} {Volatile.Read(ref _inFlight[1])}\n");
        text.Append("# HELP apiserver_longrunning_requests Watches, followed logs and exec sessions open.\n");
        text.Append("# TYPE apiserver_longrunning_requests gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_longrunning_requests {Volatile.Read(ref _inFlight[2])}\n");
        text.Append("# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.\n");
        text.Append("# TYPE apiserver_storage_objects gauge\n");
        foreach (var resource in ResourceInfo.All.Select(r => r.Name).Order(StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_storage_objects{{resource=\"{resource}\"}} {store.List(resource, null).Items.Count}\n");
        }

        return text.ToString();
    }

    /// <summary>The API server's verb, resource and subresource of a request (empty resource: not a resource path).</summary>
    internal static (string Verb, string Resource, string Sub) Describe(string method, string path, IQueryCollection query)
    {
        var parts = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not ["api", "v1", _, ..])
        {
            return (method, string.Empty, string.Empty);
        }

        var rest = parts[2..];
        if (rest is ["namespaces", _, var r, ..] && r is not ("status" or "finalize"))
        {
            rest = rest[2..];
        }

        var resource = rest[0];
        var named = rest.Length > 1;
        var sub = rest.Length > 2 ? rest[2] : string.Empty;
        var verb = method switch
        {
            "GET" when QueryParams.Bool(query, "watch") => "WATCH",
            "GET" or "POST" when sub is "exec" or "attach" or "portforward" => "CONNECT",
            "GET" when !named => "LIST",
            "DELETE" when !named => "DELETECOLLECTION",
            _ => method,
        };
        return (verb, resource, sub);
    }

    private sealed class Totals
    {
        private long _count;
        private long _ticks;

        public long Count => Interlocked.Read(ref _count);

        public double Seconds => TimeSpan.FromTicks(Interlocked.Read(ref _ticks)).TotalSeconds;

        public void Add(TimeSpan took)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, took.Ticks);
        }
    }
}
