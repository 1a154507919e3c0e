using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Sirocco.Testing;

/// <summary>The Kubernetes Engine API v1 of the fake.</summary>
public sealed partial class FakeGoogle
{
    private readonly ConcurrentDictionary<string, JsonObject> _clusters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (JsonObject Operation, int Polls)> _operations = new(StringComparer.Ordinal);
    private int _operationIds;

    /// <summary>The API server that clusters created through the fake are served by (host:port).</summary>
    public string? BackingEndpoint { get; set; }

    /// <summary>The CA (PEM) of <see cref="BackingEndpoint"/>.</summary>
    public string? BackingCaPem { get; set; }

    /// <summary>How many polls an operation answers RUNNING before DONE.</summary>
    public int OperationPolls { get; set; } = 1;

    /// <summary>Adds a running cluster served by <paramref name="endpoint"/> (host:port) with CA <paramref name="caPem"/>.</summary>
    public void AddCluster(string project, string location, string name, string endpoint, string caPem, string? privateEndpoint = null) =>
        _clusters[$"projects/{project}/locations/{location}/clusters/{name}"] = ClusterJson(project, name, location, endpoint, caPem, privateEndpoint, "RUNNING");

    /// <summary>Whether the fake has the cluster.</summary>
    public bool HasCluster(string project, string location, string name) =>
        _clusters.ContainsKey($"projects/{project}/locations/{location}/clusters/{name}");

    private JsonObject ClusterJson(string project, string name, string location, string endpoint, string caPem, string? privateEndpoint, string status)
    {
        var cluster = new JsonObject
        {
            ["name"] = name,
            ["selfLink"] = new Uri(Url, $"v1/projects/{project}/locations/{location}/clusters/{name}").ToString(),
            ["location"] = location,
            ["status"] = status,
            ["endpoint"] = endpoint,
            ["masterAuth"] = new JsonObject { ["clusterCaCertificate"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem)) },
        };
        if (privateEndpoint is not null)
        {
            cluster["privateClusterConfig"] = new JsonObject { ["enablePrivateNodes"] = true, ["privateEndpoint"] = privateEndpoint };
        }

        return cluster;
    }

    private void MapContainer(WebApplication app)
    {
        app.MapGet("/v1/projects/{project}/locations/{location}/clusters/{name}", (HttpContext http, string project, string location, string name) =>
        {
            Count("cluster-get");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            var path = $"projects/{project}/locations/{location}/clusters/{name}";
            return _clusters.TryGetValue(path, out var cluster) ? Results.Json(cluster) : Error(404, "NOT_FOUND", $"Not found: {path}.");
        });

        app.MapPost("/v1/projects/{project}/locations/{location}/clusters", async (HttpContext http, string project, string location) =>
        {
            Count("cluster-create");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject;
            var name = body?["cluster"]?["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name))
            {
                return Error(400, "INVALID_ARGUMENT", "Cluster.name must be set.");
            }

            var path = $"projects/{project}/locations/{location}/clusters/{name}";
            var cluster = ClusterJson(project, name, location, BackingEndpoint ?? "", BackingCaPem ?? "", null, "PROVISIONING");
            if (!_clusters.TryAdd(path, cluster))
            {
                return Error(409, "ALREADY_EXISTS", $"Already exists: {path}.");
            }

            return Results.Json(NewOperation(project, location, "CREATE_CLUSTER", path));
        });

        app.MapDelete("/v1/projects/{project}/locations/{location}/clusters/{name}", (HttpContext http, string project, string location, string name) =>
        {
            Count("cluster-delete");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            var path = $"projects/{project}/locations/{location}/clusters/{name}";
            if (!_clusters.TryGetValue(path, out var cluster))
            {
                return Error(404, "NOT_FOUND", $"Not found: {path}.");
            }

            cluster["status"] = "STOPPING";
            return Results.Json(NewOperation(project, location, "DELETE_CLUSTER", path));
        });

        app.MapGet("/v1/projects/{project}/locations/{location}/operations/{id}", (HttpContext http, string project, string location, string id) =>
        {
            Count("operation-get");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            if (!_operations.TryGetValue(id, out var entry))
            {
                return Error(404, "NOT_FOUND", $"Not found: operation {id}.");
            }

            var polls = entry.Polls + 1;
            _operations[id] = (entry.Operation, polls);
            if (polls >= OperationPolls)
            {
                entry.Operation["status"] = "DONE";
                var target = entry.Operation["targetLink"]!.GetValue<string>();
                if (entry.Operation["operationType"]!.GetValue<string>() == "DELETE_CLUSTER")
                {
                    _clusters.TryRemove(target, out _);
                }
                else if (_clusters.TryGetValue(target, out var created))
                {
                    created["status"] = "RUNNING";
                }
            }

            return Results.Json(entry.Operation);
        });
    }

    private JsonObject NewOperation(string project, string location, string type, string target)
    {
        var id = $"operation-{Interlocked.Increment(ref _operationIds)}";
        var operation = new JsonObject
        {
            ["name"] = id,
            ["zone"] = location,
            ["operationType"] = type,
            ["status"] = "RUNNING",
            ["selfLink"] = new Uri(Url, $"v1/projects/{project}/locations/{location}/operations/{id}").ToString(),
            ["targetLink"] = target,
        };
        _operations[id] = (operation, 0);
        return (JsonObject)operation.DeepClone();
    }
}
