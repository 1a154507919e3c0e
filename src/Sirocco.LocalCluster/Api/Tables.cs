using System.Globalization;
using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>Server-side printing: the <c>meta.k8s.io/v1 Table</c> that <c>kubectl get</c> asks for.</summary>
internal static class Tables
{
    public static bool Wanted(string? accept) => accept is not null && accept.Contains("as=Table", StringComparison.Ordinal);

    public static JsonObject Build(ResourceInfo resource, IEnumerable<JsonObject> items, string resourceVersion, string? includeObject, DateTimeOffset now)
    {
        var rows = new JsonArray();
        foreach (var item in items)
        {
            rows.Add(Row(resource, item, includeObject, now));
        }

        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
            ["columnDefinitions"] = Columns(resource.Name),
            ["rows"] = rows,
        };
    }

    private static JsonArray Columns(string resource)
    {
        (string Name, string Type, int Priority, string Format)[] columns = resource switch
        {
            "pods" => [("Name", "string", 0, "name"), ("Ready", "string", 0, ""), ("Status", "string", 0, ""), ("Restarts", "string", 0, ""), ("Age", "string", 0, ""), ("IP", "string", 1, ""), ("Node", "string", 1, ""), ("Nominated Node", "string", 1, ""), ("Readiness Gates", "string", 1, "")],
            "namespaces" => [("Name", "string", 0, "name"), ("Status", "string", 0, ""), ("Age", "string", 0, "")],
            "secrets" => [("Name", "string", 0, "name"), ("Type", "string", 0, ""), ("Data", "string", 0, ""), ("Age", "string", 0, "")],
            "configmaps" => [("Name", "string", 0, "name"), ("Data", "string", 0, ""), ("Age", "string", 0, "")],
            "serviceaccounts" => [("Name", "string", 0, "name"), ("Secrets", "string", 0, ""), ("Age", "string", 0, "")],
            "nodes" => [("Name", "string", 0, "name"), ("Status", "string", 0, ""), ("Roles", "string", 0, ""), ("Age", "string", 0, ""), ("Version", "string", 0, ""), ("Internal-IP", "string", 1, ""), ("OS-Image", "string", 1, ""), ("Kernel-Version", "string", 1, "")],
            "events" => [("Last Seen", "string", 0, ""), ("Type", "string", 0, ""), ("Reason", "string", 0, ""), ("Object", "string", 0, ""), ("Message", "string", 0, ""), ("Name", "string", 1, "name")],
            _ => [("Name", "string", 0, "name"), ("Age", "string", 0, "")],
        };
        return new JsonArray([.. columns.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["type"] = c.Type,
            ["format"] = c.Format,
            ["description"] = c.Name,
            ["priority"] = c.Priority,
        })]);
    }

    private static JsonObject Row(ResourceInfo resource, JsonObject obj, string? includeObject, DateTimeOffset now)
    {
        var name = Meta.Get(obj, "name") ?? "";
        var age = Age(Meta.Get(obj, "creationTimestamp"), now);
        JsonNode?[] cells = resource.Name switch
        {
            "pods" => PodCells(obj, name, age, now),
            "namespaces" => [name, Meta.Text(Meta.At(obj, "status.phase")), age],
            "secrets" => [name, Meta.Text(obj["type"]), ((obj["data"] as JsonObject)?.Count ?? 0).ToString(CultureInfo.InvariantCulture), age],
            "configmaps" => [name, (((obj["data"] as JsonObject)?.Count ?? 0) + ((obj["binaryData"] as JsonObject)?.Count ?? 0)).ToString(CultureInfo.InvariantCulture), age],
            "serviceaccounts" => [name, ((obj["secrets"] as JsonArray)?.Count ?? 0).ToString(CultureInfo.InvariantCulture), age],
            "nodes" => [name, "Ready", "<none>", age, Meta.Text(Meta.At(obj, "status.nodeInfo.kubeletVersion")), "127.0.0.1", Meta.Text(Meta.At(obj, "status.nodeInfo.osImage")), Meta.Text(Meta.At(obj, "status.nodeInfo.kernelVersion"))],
            "events" => EventCells(obj, name, now),
            _ => [name, age],
        };
        var row = new JsonObject { ["cells"] = new JsonArray(cells) };
        switch (includeObject)
        {
            case "None":
                break;
            case "Object":
                row["object"] = obj.DeepClone();
                break;
            default:
                row["object"] = new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = obj["metadata"]?.DeepClone(),
                };
                break;
        }

        return row;
    }

    private static JsonNode?[] EventCells(JsonObject e, string name, DateTimeOffset now)
    {
        var last = Meta.Str(e["lastTimestamp"]) ?? Meta.Str(e["eventTime"]) ?? Meta.Get(e, "creationTimestamp");
        var involved = $"{Meta.Text(Meta.At(e, "involvedObject.kind")).ToLowerInvariant()}/{Meta.Text(Meta.At(e, "involvedObject.name"))}";
        return [Age(last, now), Meta.Text(e["type"]), Meta.Text(e["reason"]), involved, Meta.Text(e["message"]), name];
    }

    private static JsonNode?[] PodCells(JsonObject pod, string name, string age, DateTimeOffset now)
    {
        var status = pod["status"] as JsonObject ?? [];
        var spec = pod["spec"] as JsonObject ?? [];
        var reason = Meta.Str(status["reason"]) ?? Meta.Str(status["phase"]) ?? "Pending";
        var total = (spec["containers"] as JsonArray)?.Count ?? 0;
        var ready = 0;
        var restarts = 0;
        DateTimeOffset? lastRestart = null;
        var initializing = false;
        var inits = status["initContainerStatuses"] as JsonArray ?? [];
        var initCount = (spec["initContainers"] as JsonArray)?.Count ?? 0;
        for (var i = 0; i < inits.Count; i++)
        {
            var c = inits[i] as JsonObject ?? [];
            restarts += (int?)c["restartCount"] ?? 0;
            var term = c["state"]?["terminated"];
            var wait = c["state"]?["waiting"];
            if (term is not null && ((int?)term["exitCode"] ?? 0) == 0)
            {
                continue;
            }

            initializing = true;
            if (term is not null)
            {
                var r = Meta.Str(term["reason"]);
                reason = string.IsNullOrEmpty(r) ? $"Init:ExitCode:{(int?)term["exitCode"]}" : "Init:" + r;
            }
            else if (wait is not null && Meta.Str(wait["reason"]) is { Length: > 0 } wr && wr != "PodInitializing")
            {
                reason = "Init:" + wr;
            }
            else
            {
                reason = $"Init:{i}/{initCount}";
            }

            break;
        }

        if (!initializing)
        {
            restarts = 0;
            var hasRunning = false;
            var statuses = (status["containerStatuses"] as JsonArray ?? []).OfType<JsonObject>().Reverse();
            foreach (var c in statuses)
            {
                restarts += (int?)c["restartCount"] ?? 0;
                if (Meta.Str(c["lastState"]?["terminated"]?["finishedAt"]) is { } finished && DateTimeOffset.TryParse(finished, CultureInfo.InvariantCulture, out var f) && (lastRestart is null || f > lastRestart))
                {
                    lastRestart = f;
                }

                var wait = c["state"]?["waiting"];
                var term = c["state"]?["terminated"];
                if (wait is not null && Meta.Str(wait["reason"]) is { Length: > 0 } wr)
                {
                    reason = wr;
                }
                else if (term is not null && Meta.Str(term["reason"]) is { Length: > 0 } tr)
                {
                    reason = tr;
                }
                else if (term is not null)
                {
                    reason = $"ExitCode:{(int?)term["exitCode"]}";
                }
                else if (c["state"]?["running"] is not null && ((bool?)c["ready"] ?? false))
                {
                    hasRunning = true;
                    ready++;
                }
            }

            if (reason == "Completed" && hasRunning)
            {
                reason = "Running";
            }
        }

        if (Meta.Get(pod, "deletionTimestamp") is not null)
        {
            reason = "Terminating";
        }

        var restartText = restarts.ToString(CultureInfo.InvariantCulture);
        if (restarts > 0 && lastRestart is not null)
        {
            restartText += $" ({Age(lastRestart.Value.ToString("o", CultureInfo.InvariantCulture), now)} ago)";
        }

        return [name, $"{ready}/{total}", reason, restartText, age, Meta.Str(status["podIP"]) ?? "<none>", Meta.Str(spec["nodeName"]) ?? "<none>", "<none>", "<none>"];
    }

    /// <summary>A short age such as <c>5s</c>, <c>3m2s</c>, <c>4h</c>, <c>2d3h</c>, as kubectl prints it.</summary>
    public static string Age(string? timestamp, DateTimeOffset now)
    {
        if (timestamp is null || !DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            return "<unknown>";
        }

        var d = now - t;
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }

        var s = (long)d.TotalSeconds;
        return s switch
        {
            < 120 => $"{s}s",
            < 600 => $"{s / 60}m{(s % 60 == 0 ? "" : $"{s % 60}s")}",
            < 3 * 3600 => $"{s / 60}m",
            < 8 * 3600 => $"{s / 3600}h{(s / 60 % 60 == 0 ? "" : $"{s / 60 % 60}m")}",
            < 48 * 3600 => $"{s / 3600}h",
            < 8 * 86400 => $"{s / 86400}d{(s / 3600 % 24 == 0 ? "" : $"{s / 3600 % 24}h")}",
            < 2 * 365 * 86400 => $"{s / 86400}d",
            _ => $"{s / (365 * 86400)}y{s / 86400 % 365}d",
        };
    }
}
