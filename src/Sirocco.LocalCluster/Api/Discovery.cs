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
        ["groups"] = new JsonArray([.. ResourceInfo.Groups.Select(g => (JsonNode)GroupEntry(g))]),
    };

    /// <summary>One group's document (<c>/apis/&lt;group&gt;</c>).</summary>
    public static JsonObject Group(string group)
    {
        var entry = GroupEntry(group);
        entry["kind"] = "APIGroup";
        entry["apiVersion"] = "v1";
        return entry;
    }

    private static JsonObject GroupEntry(string group) => new()
    {
        ["name"] = group,
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = group + "/v1", ["version"] = "v1" }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = group + "/v1", ["version"] = "v1" },
    };

    /// <summary>The resources of one group-version (<c>/api/v1</c> for the core group "").</summary>
    public static JsonObject ResourceList(string group)
    {
        var resources = new JsonArray();
        if (group == AccessReviews.Group)
        {
            foreach (var (name, kind) in AccessReviews.Kinds)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = name,
                    ["singularName"] = kind.ToLowerInvariant(),
                    ["namespaced"] = name == "localsubjectaccessreviews",
                    ["kind"] = kind,
                    ["verbs"] = new JsonArray("create"),
                });
            }
        }

        foreach (var r in ResourceInfo.All.Where(r => r.Group == group))
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
                    ["kind"] = sub switch { "exec" => "PodExecOptions", "attach" => "PodAttachOptions", "log" => "Pod", "token" => "TokenRequest", _ => r.Kind },
                    ["verbs"] = sub switch
                    {
                        "exec" or "attach" => new JsonArray("create", "get"),
                        "token" => new JsonArray("create"),
                        "log" => new JsonArray("get"),
                        _ => new JsonArray("get", "patch", "update"),
                    },
                });
            }
        }

        // As the real server: the core list names no apiVersion, a group's does.
        return group.Length == 0
            ? new JsonObject { ["kind"] = "APIResourceList", ["groupVersion"] = "v1", ["resources"] = resources }
            : new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = group + "/v1", ["resources"] = resources };
    }

    /// <summary>The OpenAPI v3 index: one group-version document.</summary>
    public static JsonObject OpenApiIndex()
    {
        var paths = new JsonObject
        {
            ["api/v1"] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/api/v1?hash=" + GitVersion },
        };
        foreach (var group in ResourceInfo.Groups)
        {
            paths[$"apis/{group}/v1"] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/apis/{group}/v1?hash=" + GitVersion };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>
    /// A minimal OpenAPI v3 document for one group-version: the patch operation of every served kind with its
    /// group-version-kind and the <c>fieldValidation</c> parameter, which is what kubectl reads to decide
    /// that the server validates fields itself. Schemas are not published.
    /// </summary>
    public static JsonObject OpenApi(string group)
    {
        var paths = new JsonObject();
        foreach (var r in ResourceInfo.All.Where(r => r.Group == group))
        {
            var root = group.Length == 0 ? "/api/v1" : $"/apis/{group}/v1";
            var path = r.Namespaced ? $"{root}/namespaces/{{namespace}}/{r.Name}/{{name}}" : $"{root}/{r.Name}/{{name}}";
            var operationGroup = group.Length == 0 ? "Core" : "RbacAuthorization";
            var prefix = r.Namespaced ? "Namespaced" : "";
            paths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patch{operationGroup}V1{prefix}{r.Kind}",
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = group, ["version"] = "v1", ["kind"] = r.Kind },
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
