using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// One watch request, as the real API server serves it: from a resource version (410 Gone when it is too old) or with
/// the initial events and their end bookmark, filtered by label and field selectors (an object that enters or leaves
/// the selection is ADDED or DELETED), optionally as tables, with bookmarks every
/// <see cref="LocalClusterOptions.BookmarkInterval"/> when asked.
/// </summary>
internal sealed class ApiWatch(ClusterContext cluster)
{
    /// <summary>Serves a watch of <paramref name="resource"/> (in <paramref name="ns"/>, or all namespaces) until its timeout, the client leaves or the cluster stops.</summary>
    public async Task ServeAsync(HttpContext ctx, ResourceInfo resource, string? ns)
    {
        var query = ctx.Request.Query;
        var (_, timeoutOption) = QueryParams.ListIntegers(query);
        var labels = Selector.ParseLabels(QueryParams.Text(query, "labelSelector"));
        var fields = Selector.ParseFields(QueryParams.Text(query, "fieldSelector"), resource.Name);
        var rvText = QueryParams.Text(query, "resourceVersion");
        long? from = null;
        if (!string.IsNullOrEmpty(rvText) && rvText != "0")
        {
            if (!long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw ApiException.Internal($"resourceVersion: Invalid value: \"{rvText}\": strconv.ParseUint: parsing \"{rvText}\": invalid syntax");
            }

            from = parsed;
        }

        var sendInitial = QueryParams.Bool(query, "sendInitialEvents");
        if (sendInitial)
        {
            from = null;
        }

        var bookmarks = QueryParams.Bool(query, "allowWatchBookmarks");
        var table = Tables.Wanted(ctx.Request.Headers.Accept);
        string? includeObject = QueryParams.Text(query, "includeObject");
        var timeout = timeoutOption is > 0 ? TimeSpan.FromSeconds(Math.Min(timeoutOption.Value, int.MaxValue)) : TimeSpan.FromMinutes(30);

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        var body = ctx.Response.Body;

        StoreWatcher watcher;
        try
        {
            watcher = cluster.Store.Watch(resource.Name, from);
        }
        catch (ApiException gone) when (gone.Code == 410)
        {
            await WriteEventAsync(body, "ERROR", JsonSerializer.SerializeToUtf8Bytes(gone.ToStatus(), JsonText.Options), ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        using var watch = watcher;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, cluster.Stopping.Token);
        cts.CancelAfter(timeout);
        var token = cts.Token;
        await ctx.Response.StartAsync(token).ConfigureAwait(false);
        await body.FlushAsync(token).ConfigureAwait(false);

        var matching = new HashSet<string>(StringComparer.Ordinal);
        var notMatching = new HashSet<string>(StringComparer.Ordinal);
        var filtered = !labels.IsEmpty || !fields.IsEmpty;
        var initialPending = sendInitial;
        var lastSent = watcher.StartVersion;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (initialPending && !watcher.Events.TryPeek(out var _))
                {
                    initialPending = false;
                    await WriteBookmarkAsync(body, resource, watcher.StartVersion, initialEnd: true, token).ConfigureAwait(false);
                }

                while (watcher.Events.TryRead(out var e))
                {
                    var o = e.Object;
                    lastSent = Math.Max(lastSent, o.ResourceVersion);
                    if (ns is not null && o.Namespace != ns)
                    {
                        continue;
                    }

                    var now = labels.Matches(o.Labels) && fields.Matches(o.Fields);
                    string? type;
                    if (!filtered)
                    {
                        type = e.Type switch { StoreEventType.Added => "ADDED", StoreEventType.Modified => "MODIFIED", _ => "DELETED" };
                    }
                    else
                    {
                        type = Transition(e.Type, now, o.Key, matching, notMatching);
                    }

                    if (type is null)
                    {
                        continue;
                    }

                    var shown = o.Json;
                    if (type == "DELETED" && e.Type == StoreEventType.Modified && e.Previous is { } before)
                    {
                        // Left the selection: the object as the watcher last saw it, at the new version.
                        var was = before.ToJson();
                        Meta.Of(was)["resourceVersion"] = o.ResourceVersion.ToString(CultureInfo.InvariantCulture);
                        shown = JsonSerializer.SerializeToUtf8Bytes(was, JsonText.Options);
                    }

                    var json = table
                        ? JsonSerializer.SerializeToUtf8Bytes(Tables.Build(resource, [JsonNode.Parse(shown)!.AsObject()], o.ResourceVersion.ToString(CultureInfo.InvariantCulture), includeObject, cluster.Now), JsonText.Options)
                        : shown;
                    await WriteEventAsync(body, type, json, token).ConfigureAwait(false);
                }

                if (initialPending)
                {
                    continue;
                }

                var wait = watcher.Events.WaitToReadAsync(token).AsTask();
                if (bookmarks)
                {
                    var tick = Task.Delay(cluster.Options.BookmarkInterval, cluster.Options.TimeProvider, token);
                    var done = await Task.WhenAny(wait, tick).ConfigureAwait(false);
                    if (done == tick && !watcher.Events.TryPeek(out _))
                    {
                        var version = Math.Max(lastSent, cluster.Store.ResourceVersion);
                        if (!watcher.Events.TryPeek(out _))
                        {
                            await WriteBookmarkAsync(body, resource, version, initialEnd: false, token).ConfigureAwait(false);
                        }
                    }

                    if (done == wait && !await wait.ConfigureAwait(false))
                    {
                        return;
                    }
                }
                else if (!await wait.ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout or the client left: the watch ends.
        }
    }

    private static string? Transition(StoreEventType type, bool now, string key, HashSet<string> matching, HashSet<string> notMatching)
    {
        switch (type)
        {
            case StoreEventType.Added:
                if (now)
                {
                    matching.Add(key);
                    notMatching.Remove(key);
                    return "ADDED";
                }

                notMatching.Add(key);
                return null;
            case StoreEventType.Modified:
                if (now)
                {
                    var wasOut = notMatching.Remove(key);
                    matching.Add(key);
                    return wasOut ? "ADDED" : "MODIFIED";
                }

                notMatching.Add(key);
                return matching.Remove(key) ? "DELETED" : null;
            default:
                notMatching.Remove(key);
                return matching.Remove(key) || now ? "DELETED" : null;
        }
    }

    private static async Task WriteBookmarkAsync(Stream body, ResourceInfo resource, long version, bool initialEnd, CancellationToken token)
    {
        var metadata = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) };
        if (initialEnd)
        {
            metadata["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        }

        var obj = new JsonObject { ["kind"] = resource.Kind, ["apiVersion"] = resource.ApiVersion, ["metadata"] = metadata };
        await WriteEventAsync(body, "BOOKMARK", JsonSerializer.SerializeToUtf8Bytes(obj, JsonText.Options), token).ConfigureAwait(false);
    }

    /// <summary>Writes one watch event line and flushes it.</summary>
    internal static async Task WriteEventAsync(Stream body, string type, byte[] obj, CancellationToken token)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        var buffer = new byte[prefix.Length + obj.Length + 2];
        prefix.CopyTo(buffer, 0);
        obj.CopyTo(buffer, prefix.Length);
        buffer[^2] = (byte)'}';
        buffer[^1] = (byte)'\n';
        await body.WriteAsync(buffer, token).ConfigureAwait(false);
        await body.FlushAsync(token).ConfigureAwait(false);
    }
}
