using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Api;

/// <summary>The discovery documents: version, API versions, resource lists and groups.</summary>
internal static class Discovery
{
    public const string GitVersion = "v1.32.0-sirocco";

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = GitVersion,
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.23.0",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
        {
            ["clientCIDR"] = "0.0.0.0/0",
            ["serverAddress"] = serverAddress,
        }),
    };

    public static JsonObject GroupList() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(),
    };

    public static JsonObject ResourceList()
    {
        var resources = new JsonArray();
        foreach (var r in ResourceInfo.All)
        {
            var entry = new JsonObject
            {
                ["name"] = r.Name,
                ["singularName"] = r.SingularName,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray([.. r.Verbs.Select(v => (JsonNode)v)]),
            };
            if (r.ShortNames.Length > 0)
            {
                entry["shortNames"] = new JsonArray([.. r.ShortNames.Select(v => (JsonNode)v)]);
            }

            if (r.Name == "pods")
            {
                entry["categories"] = new JsonArray("all");
            }

            resources.Add(entry);
            foreach (var sub in r.Subresources)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = $"{r.Name}/{sub}",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = sub switch { "exec" => "PodExecOptions", "attach" => "PodAttachOptions", "log" => "Pod", _ => r.Kind },
                    ["verbs"] = sub switch
                    {
                        "exec" or "attach" => new JsonArray("create", "get"),
                        "log" => new JsonArray("get"),
                        _ => new JsonArray("get", "patch", "update"),
                    },
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["groupVersion"] = "v1",
            ["resources"] = resources,
        };
    }

    /// <summary>The OpenAPI v3 index: one group-version document.</summary>
    public static JsonObject OpenApiIndex() => new()
    {
        ["paths"] = new JsonObject
        {
            ["api/v1"] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/api/v1?hash=" + GitVersion },
        },
    };

    /// <summary>
    /// A minimal OpenAPI v3 document for core/v1: the patch operation of every served kind with its
    /// group-version-kind and the <c>fieldValidation</c> parameter, which is what kubectl reads to decide
    /// that the server validates fields itself. Schemas are not published.
    /// </summary>
    public static JsonObject OpenApiCoreV1()
    {
        var paths = new JsonObject();
        foreach (var r in ResourceInfo.All)
        {
            var path = r.Namespaced ? $"/api/v1/namespaces/{{namespace}}/{r.Name}/{{name}}" : $"/api/v1/{r.Name}/{{name}}";
            var prefix = r.Namespaced ? "Namespaced" : "";
            paths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patchCoreV1{prefix}{r.Kind}",
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = r.Kind },
                },
            };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes (Sirocco local cluster)", ["version"] = GitVersion },
            ["paths"] = paths,
        };
    }
}
