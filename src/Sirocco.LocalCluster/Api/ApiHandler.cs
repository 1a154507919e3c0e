using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Sirocco.LocalCluster.Auth;
using Sirocco.LocalCluster.Kubelet;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// The HTTP face of the cluster: authentication, routing of the core/v1 paths, the verbs on each
/// resource, watches, and the pod subresources (status, log, exec).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ApiHandler
{
    private readonly ClusterContext _cluster;
    private readonly ObjectStore _store;
    private readonly ILogger _logger;
    private readonly byte[] _tokenBytes;
    private readonly ApiWatch _watch;
    private const string UserKey = "sirocco.user";

    public ApiHandler(ClusterContext cluster, ILogger logger)
    {
        _cluster = cluster;
        _store = cluster.Store;
        _logger = logger;
        _tokenBytes = Encoding.UTF8.GetBytes("Bearer " + cluster.Token);
        _watch = new ApiWatch(cluster);
    }

    /// <summary>Request counts and gauges served at <c>/metrics</c>.</summary>
    public ApiMetrics Metrics { get; } = new();

    /// <summary>Set by the kubelet once it runs; serves logs and exec.</summary>
    public PodRuntime? Runtime { get; set; }

    public Task HandleAsync(HttpContext ctx) => Metrics.MeasureAsync(ctx, () => HandleCoreAsync(ctx));

    private async Task HandleCoreAsync(HttpContext ctx)
    {
        try
        {
            var path = ctx.Request.Path.Value ?? "/";
            if (path is "/healthz" or "/livez" or "/readyz")
            {
                ctx.Response.ContentType = "text/plain";
                await ctx.Response.WriteAsync("ok", ctx.RequestAborted).ConfigureAwait(false);
                return;
            }

            var user = await AuthenticateAsync(ctx.Request.Headers.Authorization).ConfigureAwait(false)
                ?? throw new ApiException(401, "Unauthorized", "Unauthorized");
            ctx.Items[UserKey] = user;
            if (!user.IsMaster)
            {
                Authorize(user, RequestAttributes.Of(ctx.Request.Method, path, QueryParams.Bool(ctx.Request.Query, "watch")));
            }

            if (ctx.Request.ContentLength > MaxRequestBody)
            {
                // Read what the client sends, so it gets the answer rather than a broken connection.
                await ctx.Request.Body.CopyToAsync(Stream.Null, ctx.RequestAborted).ConfigureAwait(false);
                throw new ApiException(413, "RequestEntityTooLarge", $"Request entity too large: limit is {MaxRequestBody}");
            }

            if (path == "/metrics" && ctx.Request.Method == "GET")
            {
                ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                await ctx.Response.WriteAsync(Metrics.Render(_store), ctx.RequestAborted).ConfigureAwait(false);
                return;
            }

            await RouteAsync(ctx, path).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await WriteErrorAsync(ctx, e).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            await WriteErrorAsync(ctx, new ApiException(413, "RequestEntityTooLarge", $"Request entity too large: limit is {MaxRequestBody}")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested || _cluster.Stopping.IsCancellationRequested)
        {
            // The client went away, or the cluster stops (Ctrl-C ends open watches: not an error).
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError(e, "request {Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
            await WriteErrorAsync(ctx, new ApiException(500, "InternalError", "Internal error occurred: " + e.Message)).ConfigureAwait(false);
        }
    }

    /// <summary>The admin (the cluster's own token) or a service account (a token this cluster issued); null for anyone else.</summary>
    private async Task<UserInfo?> AuthenticateAsync(StringValues header)
    {
        if (header.Count != 1 || header[0] is not { } value)
        {
            return null;
        }

        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(value), _tokenBytes))
        {
            return UserInfo.Admin;
        }

        return value.StartsWith("Bearer ", StringComparison.Ordinal)
            ? await _cluster.Tokens.AuthenticateAsync(value["Bearer ".Length..].Trim(), _store).ConfigureAwait(false)
            : null;
    }

    private void Authorize(UserInfo user, RequestAttributes a)
    {
        if (_cluster.Rbac.Authorize(user, a).Allowed)
        {
            return;
        }

        var why = RbacAuthorizer.Denial(user, a);
        throw a.IsResource
            ? ApiException.Forbidden(a.Resource, a.Name, why)
            : new ApiException(403, "Forbidden", "forbidden: " + why) { EmptyDetails = true };
    }

    private static UserInfo CurrentUser(HttpContext ctx) => (UserInfo)ctx.Items[UserKey]!;

    private async Task RouteAsync(HttpContext ctx, string path)
    {
        var parts = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = ctx.Request.Method;
        switch (parts)
        {
            case []:
                await WriteJsonAsync(ctx, 200, new JsonObject { ["paths"] = new JsonArray("/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/readyz", "/version") }).ConfigureAwait(false);
                return;
            case ["version"]:
                await WriteJsonAsync(ctx, 200, Discovery.Version()).ConfigureAwait(false);
                return;
            case ["api"]:
                await WriteJsonAsync(ctx, 200, Discovery.ApiVersions(_cluster.ServerAddress)).ConfigureAwait(false);
                return;
            case ["api", "v1"]:
                await WriteJsonAsync(ctx, 200, Discovery.ResourceList("")).ConfigureAwait(false);
                return;
            case ["apis"]:
                await WriteJsonAsync(ctx, 200, Discovery.GroupList()).ConfigureAwait(false);
                return;
            case ["apis", var group] when ResourceInfo.Groups.Contains(group):
                await WriteJsonAsync(ctx, 200, Discovery.Group(group)).ConfigureAwait(false);
                return;
            case ["apis", var group, "v1"] when ResourceInfo.Groups.Contains(group):
                await WriteJsonAsync(ctx, 200, Discovery.ResourceList(group)).ConfigureAwait(false);
                return;
            case ["openapi", "v3", "apis", var group, "v1"] when ResourceInfo.Groups.Contains(group):
                await WriteJsonAsync(ctx, 200, Discovery.OpenApi(group)).ConfigureAwait(false);
                return;
            case ["apis", AccessReviews.Group, "v1", var review] when method == "POST":
                await ReviewAsync(ctx, review, null).ConfigureAwait(false);
                return;
            case ["apis", AccessReviews.Group, "v1", "namespaces", var reviewNamespace, var review] when method == "POST":
                await ReviewAsync(ctx, review, reviewNamespace).ConfigureAwait(false);
                return;
            case ["apis", var group, "v1", .. var rest] when ResourceInfo.Groups.Contains(group):
                await ResourceAsync(ctx, method, rest, group).ConfigureAwait(false);
                return;
            case ["openapi", "v3"]:
                await WriteJsonAsync(ctx, 200, Discovery.OpenApiIndex()).ConfigureAwait(false);
                return;
            case ["openapi", "v3", "api", "v1"]:
                await WriteJsonAsync(ctx, 200, Discovery.OpenApi("")).ConfigureAwait(false);
                return;
            case ["api", "v1", .. var rest]:
                await ResourceAsync(ctx, method, rest, "").ConfigureAwait(false);
                return;
            default:
                throw ApiException.NoRoute();
        }
    }

    private async Task ResourceAsync(HttpContext ctx, string method, string[] rest, string group)
    {
        string? ns = null;
        string resourceName;
        string? name = null;
        string? sub = null;
        if (rest is ["namespaces", var n, var r, ..] && r is not ("status" or "finalize"))
        {
            ns = n;
            resourceName = r;
            name = rest.Length > 3 ? rest[3] : null;
            sub = rest.Length > 4 ? rest[4] : null;
            if (rest.Length > 5)
            {
                throw ApiException.NoRoute();
            }
        }
        else
        {
            resourceName = rest[0];
            name = rest.Length > 1 ? rest[1] : null;
            sub = rest.Length > 2 ? rest[2] : null;
            if (rest.Length > 3)
            {
                throw ApiException.NoRoute();
            }
        }

        var resource = ResourceInfo.Find(group, resourceName) ?? throw ApiException.NoRoute();
        if (resource.Namespaced && ns is null && name is not null)
        {
            throw ApiException.NoRoute();
        }

        if (!resource.Namespaced && ns is not null)
        {
            throw ApiException.NoRoute();
        }

        if (sub is not null && !resource.Subresources.Contains(sub))
        {
            throw ApiException.NoRoute();
        }

        var key = ns ?? "";
        switch (name, sub, method)
        {
            case (null, _, "GET"):
                if (QueryParams.Bool(ctx.Request.Query, "watch"))
                {
                    await _watch.ServeAsync(ctx, resource, ns).ConfigureAwait(false);
                }
                else
                {
                    await ListAsync(ctx, resource, ns).ConfigureAwait(false);
                }

                return;
            case (null, _, "POST") when ns is not null || !resource.Namespaced:
                await CreateAsync(ctx, resource, key).ConfigureAwait(false);
                return;
            case (null, _, "DELETE") when ns is not null || !resource.Namespaced:
                await DeleteCollectionAsync(ctx, resource, ns).ConfigureAwait(false);
                return;
            case (not null, null or "status", "GET"):
                await GetAsync(ctx, resource, key, name).ConfigureAwait(false);
                return;
            case (not null, null or "status", "PUT"):
                await UpdateAsync(ctx, resource, key, name, sub == "status").ConfigureAwait(false);
                return;
            case (not null, null or "status", "PATCH"):
                await PatchAsync(ctx, resource, key, name, sub == "status").ConfigureAwait(false);
                return;
            case (not null, null, "DELETE"):
                await DeleteAsync(ctx, resource, key, name).ConfigureAwait(false);
                return;
            case (not null, "log", "GET"):
                await Runtime!.StreamLogsAsync(ctx, Existing(resource, key, name), ctx.RequestAborted).ConfigureAwait(false);
                return;
            case (not null, "exec", "GET" or "POST"):
                await Runtime!.ExecAsync(ctx, Existing(resource, key, name), ctx.RequestAborted).ConfigureAwait(false);
                return;
            case (not null, "token", "POST"):
                await TokenRequestAsync(ctx, key, name).ConfigureAwait(false);
                return;
            case (not null, "attach", "GET" or "POST"):
                await Runtime!.AttachAsync(ctx, Existing(resource, key, name), ctx.RequestAborted).ConfigureAwait(false);
                return;
            default:
                throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource");
        }
    }

    private async Task ReviewAsync(HttpContext ctx, string review, string? ns)
    {
        var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
        await WriteJsonAsync(ctx, 201, AccessReviews.Answer(review, ns, body, CurrentUser(ctx), _cluster.Rbac)).ConfigureAwait(false);
    }

    /// <summary>A TokenRequest (<c>kubectl create token</c>): a token of the service account, bound to it.</summary>
    private async Task TokenRequestAsync(HttpContext ctx, string ns, string name)
    {
        var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
        var account = _store.Get("serviceaccounts", ns, name) ?? throw ApiException.NotFound("serviceaccounts", name);
        var spec = body["spec"] as JsonObject ?? [];
        var audiences = spec["audiences"] is JsonArray { Count: > 0 } a ? a.Select(Meta.Str).Where(x => x is not null).Select(x => x!).ToList() : [ServiceAccountTokens.Issuer];
        var seconds = spec["expirationSeconds"] is JsonValue given && long.TryParse(given.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 3600;
        if (seconds < 600 || seconds > (1L << 32))
        {
            throw ApiException.Invalid("TokenRequest.authentication.k8s.io", name,
                [new FieldCause("FieldValueInvalid", "spec.expirationSeconds", seconds < 600 ? $"Invalid value: {seconds}: may not specify a duration less than 10 minutes" : $"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds")]);
        }

        var (token, expires) = _cluster.Tokens.Issue(ns, name, Meta.Get(account.ToJson(), "uid") ?? "", audiences, seconds);
        await WriteJsonAsync(ctx, 201, new JsonObject
        {
            ["kind"] = "TokenRequest",
            ["apiVersion"] = "authentication.k8s.io/v1",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["creationTimestamp"] = null },
            ["spec"] = new JsonObject
            {
                ["audiences"] = new JsonArray([.. audiences.Select(x => (JsonNode)x)]),
                ["expirationSeconds"] = seconds,
                ["boundObjectRef"] = null,
            },
            ["status"] = new JsonObject { ["token"] = token, ["expirationTimestamp"] = Time.Seconds(expires) },
        }).ConfigureAwait(false);
    }

    /// <summary>RBAC objects: their fields, an unchanged roleRef, and no escalation by the writer.</summary>
    private JsonObject Admit(HttpContext ctx, ResourceInfo resource, string ns, JsonObject? current, JsonObject next)
    {
        RbacAdmission.Validate(resource, next, current);
        RbacAdmission.CheckEscalation(CurrentUser(ctx), resource, ns, next, _cluster.Rbac, _store);
        return next;
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        try
        {
            if ((ctx.Request.ContentType ?? "").StartsWith(Protobuf.MediaType, StringComparison.Ordinal))
            {
                return Protobuf.Decode(await RequestBody.ReadBytesAsync(ctx).ConfigureAwait(false));
            }

            return await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject
                ?? throw ApiException.BadRequest("the request body is not a JSON object");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the request body is not valid JSON: " + e.Message);
        }
    }

    private StoredObject Existing(ResourceInfo resource, string ns, string name) =>
        _store.Get(resource.Name, ns, name) ?? throw ApiException.NotFound(resource.Name, name);

    private async Task GetAsync(HttpContext ctx, ResourceInfo resource, string ns, string name)
    {
        var stored = Existing(resource, ns, name);
        if (Tables.Wanted(ctx.Request.Headers.Accept))
        {
            await WriteJsonAsync(ctx, 200, Tables.Build(resource, [stored.ToJson()], stored.ResourceVersion.ToString(CultureInfo.InvariantCulture), QueryParams.Text(ctx.Request.Query, "includeObject"), _cluster.Now)).ConfigureAwait(false);
            return;
        }

        await WriteBytesAsync(ctx, 200, stored.Json).ConfigureAwait(false);
    }

    /// <summary>The largest request body the server reads, as the real API server's limit.</summary>
    internal const int MaxRequestBody = 3 * 1024 * 1024;

    private async Task ListAsync(HttpContext ctx, ResourceInfo resource, string? ns)
    {
        var (limitOption, _) = QueryParams.ListIntegers(ctx.Request.Query);
        var match = QueryParams.Text(ctx.Request.Query, "resourceVersionMatch");
        var listVersion = QueryParams.Text(ctx.Request.Query, "resourceVersion");
        if (!string.IsNullOrEmpty(match) && string.IsNullOrEmpty(listVersion))
        {
            throw ApiException.InvalidOptions("ListOptions", [new FieldCause("FieldValueForbidden", "resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")]);
        }

        if (match == "Exact" && listVersion != _store.ResourceVersion.ToString(CultureInfo.InvariantCulture))
        {
            // No history is kept: only the current version can be listed exactly.
            throw ApiException.Gone("The resourceVersion for the provided list is too old.");
        }

        var labels = Selector.ParseLabels(QueryParams.Text(ctx.Request.Query, "labelSelector"));
        var fields = Selector.ParseFields(QueryParams.Text(ctx.Request.Query, "fieldSelector"), resource.Name);
        var (all, rv) = _store.List(resource.Name, ns);
        var items = all.Where(o => labels.Matches(o.Labels) && fields.Matches(o.Fields));

        // Paging: the continue token is the last key returned.
        var continueFrom = QueryParams.Text(ctx.Request.Query, "continue");
        if (!string.IsNullOrEmpty(continueFrom))
        {
            string after;
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(continueFrom));
            }
            catch (FormatException)
            {
                throw ApiException.BadRequest("continue key is not valid: illegal base64 data");
            }

            items = items.Where(o => string.CompareOrdinal(o.Key, after) > 0);
        }

        var selected = items.ToList();
        string? nextToken = null;
        var remaining = 0;
        if (limitOption is > 0 and <= int.MaxValue && (int)limitOption.Value is var limit && selected.Count > limit)
        {
            remaining = selected.Count - limit;
            selected = selected.Take(limit).ToList();
            nextToken = Convert.ToBase64String(Encoding.UTF8.GetBytes(selected[^1].Key));
        }

        var rvText = rv.ToString(CultureInfo.InvariantCulture);
        if (Tables.Wanted(ctx.Request.Headers.Accept))
        {
            var table = Tables.Build(resource, selected.Select(s => s.ToJson()), rvText, QueryParams.Text(ctx.Request.Query, "includeObject"), _cluster.Now);
            if (nextToken is not null)
            {
                ((JsonObject)table["metadata"]!)["continue"] = nextToken;
            }

            await WriteJsonAsync(ctx, 200, table).ConfigureAwait(false);
            return;
        }

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("kind", resource.Kind + "List");
            w.WriteString("apiVersion", resource.ApiVersion);
            w.WriteStartObject("metadata");
            w.WriteString("resourceVersion", rvText);
            if (nextToken is not null)
            {
                w.WriteString("continue", nextToken);
                w.WriteNumber("remainingItemCount", remaining);
            }

            w.WriteEndObject();
            w.WriteStartArray("items");
            foreach (var item in selected)
            {
                WriteListItem(w, item.Json);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        ctx.Response.ContentLength = buffer.Length;
        await ctx.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>An item of a list as the real server writes it: without its own kind and apiVersion.</summary>
    private static void WriteListItem(Utf8JsonWriter w, byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        w.WriteStartObject();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name is not ("kind" or "apiVersion"))
            {
                p.WriteTo(w);
            }
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Makes a decoded object ready to store as new: its namespace, generated name, uid and creation time, defaults,
    /// then admission and validation in the real server's order. Returns its name.
    /// </summary>
    private string PrepareCreate(ResourceInfo resource, string ns, JsonObject obj)
    {
        var meta = Meta.Of(obj);
        if (resource.Namespaced)
        {
            var bodyNs = Meta.Str(meta["namespace"]);
            if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }

        if (string.IsNullOrEmpty(Meta.Str(meta["name"])) && Meta.Str(meta["generateName"]) is { Length: > 0 } prefix)
        {
            meta["name"] = prefix + RandomSuffix();
        }

        foreach (var server in new[] { "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink" })
        {
            meta.Remove(server);
        }

        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Time.Seconds(_cluster.Now);
        Defaults.Apply(resource.Name, obj);
        if (resource.Name == "pods")
        {
            obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = Defaults.QosClass((JsonObject)obj["spec"]!) };
        }

        // Admission before validation, as the real server orders them: the namespace must exist and not be
        // terminating, and a pod's service account, priority class and overhead must be known.
        var name = Meta.Str(meta["name"]) ?? "";
        StoredObject? nsObj = null;
        if (resource.Namespaced)
        {
            nsObj = _store.Get("namespaces", "", ns) ?? throw ApiException.NotFound("namespaces", ns);
            if (nsObj.Fields.GetValueOrDefault("status.phase") == "Terminating")
            {
                throw new ApiException(403, "Forbidden", $"{resource.Name} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated", name, resource.Name,
                    [new FieldCause("NamespaceTerminating", "metadata.namespace", $"namespace {ns} is being terminated")]);
            }
        }

        if (resource.Name == "pods" && obj["spec"] is JsonObject podSpec)
        {
            AdmitPod(ns, name, podSpec);
        }

        Validation.Check(resource, obj);
        if (resource.Name == "pods" && nsObj is not null)
        {
            PodSecurity.Admit(ns, nsObj.Labels, name, obj);
        }
        else if (resource.Name == "namespaces")
        {
            PodSecurity.CheckNamespaceLabels(name, obj);
        }

        return name;
    }

    private async Task CreateAsync(HttpContext ctx, ResourceInfo resource, string ns)
    {
        var obj = await RequestBody.DecodeAsync(ctx, resource).ConfigureAwait(false);
        var name = PrepareCreate(resource, ns, obj);
        Admit(ctx, resource, ns, null, obj);

        if (IsDryRun(ctx))
        {
            await WriteJsonAsync(ctx, 201, obj).ConfigureAwait(false);
            return;
        }

        var stored = _store.Create(resource.Name, obj);
        if (resource.Name == "namespaces")
        {
            _cluster.Namespaces.Populate(name);
        }

        await WriteBytesAsync(ctx, 201, stored.Json).ConfigureAwait(false);
    }

    /// <summary>What the real server's admission plugins refuse (403) before validation: a service account or priority
    /// class that does not exist here, overhead without a runtime class, a preemption policy it did not compute.</summary>
    private void AdmitPod(string ns, string name, JsonObject spec)
    {
        var account = Meta.Str(spec["serviceAccountName"]);
        if (!string.IsNullOrEmpty(account) && _store.Get("serviceaccounts", ns, account) is null)
        {
            throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: error looking up service account {ns}/{account}: serviceaccount \"{account}\" not found", name, "pods");
        }

        var priorityClass = Meta.Str(spec["priorityClassName"]);
        if (!string.IsNullOrEmpty(priorityClass))
        {
            var priority = priorityClass switch
            {
                "system-node-critical" => 2000001000,
                "system-cluster-critical" => 2000000000,
                _ => throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: no PriorityClass with name {priorityClass} was found", name, "pods"),
            };
            spec["priority"] = priority;
        }

        // Priority admission computes the preemption policy (always PreemptLowerPriority here: no priority class
        // sets another); a different one in the spec is refused.
        if (Meta.Str(spec["preemptionPolicy"]) is { } preemption && preemption != "PreemptLowerPriority")
        {
            throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: the string value of PreemptionPolicy ({preemption}) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name", name, "pods");
        }

        if (spec["overhead"] is JsonObject { Count: > 0 } && string.IsNullOrEmpty(Meta.Str(spec["runtimeClassName"])))
        {
            throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead", name, "pods");
        }
    }

    private async Task UpdateAsync(HttpContext ctx, ResourceInfo resource, string ns, string name, bool status)
    {
        var obj = await RequestBody.DecodeAsync(ctx, resource).ConfigureAwait(false);
        var bodyName = Meta.Get(obj, "name");
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        if (IsDryRun(ctx))
        {
            var current = Existing(resource, ns, name).ToJson();
            await WriteJsonAsync(ctx, 200, Admit(ctx, resource, ns, current, Merge(resource, current, obj, status))).ConfigureAwait(false);
            return;
        }

        if (resource.Name == "events" && !status && _store.Get(resource.Name, ns, name) is null)
        {
            // Events are created by an update of a missing one, as the real server allows for them.
            Meta.Of(obj)["name"] = name;
            PrepareCreate(resource, ns, obj);
            await WriteBytesAsync(ctx, 201, _store.Create(resource.Name, obj).Json).ConfigureAwait(false);
            return;
        }

        var stored = _store.Update(resource.Name, ns, name, current => Admit(ctx, resource, ns, current, Merge(resource, current, obj, status)));
        stored = FinishDeletion(resource, stored);
        await WriteBytesAsync(ctx, 200, stored.Json).ConfigureAwait(false);
    }

    private async Task PatchAsync(HttpContext ctx, ResourceInfo resource, string ns, string name, bool status)
    {
        var body = await RequestBody.ReadTextAsync(ctx).ConfigureAwait(false);
        var contentType = ctx.Request.ContentType ?? "";
        var strict = RequestBody.FieldValidation(ctx);
        var warnings = new List<string>();
        JsonObject Change(JsonObject current)
        {
            warnings.Clear();
            var patched = Patches.Apply(contentType, current.DeepClone().AsObject(), body);
            var (decoded, unknown) = resource.Decode(patched);
            RequestBody.RewriteQuantities(resource, patched, decoded);
            RequestBody.HandleUnknown(strict, unknown, warnings);
            if (Meta.Str(decoded["kind"]) is { } kind && kind != resource.Kind)
            {
                throw ApiException.BadRequest($"the kind of the object ({kind}) does not match the kind of the request ({resource.Kind})");
            }

            if (Meta.Get(decoded, "name") is { Length: > 0 } patchedName && patchedName != name)
            {
                throw ApiException.BadRequest($"the name of the object ({patchedName}) does not match the name on the URL ({name})");
            }

            decoded["kind"] = resource.Kind;
            decoded["apiVersion"] = resource.ApiVersion;
            RequestBody.MergeStringData(resource, decoded);
            return Admit(ctx, resource, ns, current, Merge(resource, current, decoded, status));
        }

        byte[] result;
        if (IsDryRun(ctx))
        {
            result = JsonSerializer.SerializeToUtf8Bytes(Change(Existing(resource, ns, name).ToJson()), JsonText.Options);
        }
        else
        {
            result = FinishDeletion(resource, _store.Update(resource.Name, ns, name, Change)).Json;
        }

        RequestBody.AddWarnings(ctx, warnings);
        await WriteBytesAsync(ctx, 200, result).ConfigureAwait(false);
    }

    /// <summary>The next version of an object from the current one and the client's intended one.</summary>
    private JsonObject Merge(ResourceInfo resource, JsonObject current, JsonObject intended, bool statusOnly)
    {
        var name = Meta.Get(current, "name")!;
        var wanted = Meta.Get(intended, "resourceVersion");
        if (!string.IsNullOrEmpty(wanted) && wanted != Meta.Get(current, "resourceVersion"))
        {
            throw ApiException.Conflict(resource.Name, name);
        }

        if (Meta.Get(intended, "uid") is { Length: > 0 } uid && uid != Meta.Get(current, "uid"))
        {
            throw ApiException.Conflict(resource.Name, name);
        }

        JsonObject next;
        if (statusOnly)
        {
            next = current;
            next["status"] = intended["status"]?.DeepClone();
        }
        else
        {
            next = intended;
            var meta = Meta.Of(next);
            var old = Meta.Of(current);
            foreach (var keep in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name" })
            {
                meta.Remove(keep);
                if (old[keep] is { } v)
                {
                    meta[keep] = v.DeepClone();
                }
            }

            if (resource.Name is "pods" or "namespaces" or "nodes")
            {
                next["status"] = current["status"]?.DeepClone();
            }

            if (resource.Name == "pods")
            {
                if (next["spec"] is JsonObject nextSpec)
                {
                    Defaults.DefaultTolerations(nextSpec);
                }

                CheckPodUpdate(current, next);
            }

            if (resource.Name == "namespaces")
            {
                Meta.Child(meta, "labels")["kubernetes.io/metadata.name"] = name;
            }

            // A changed secret type is reported by Validation.Check with the other errors, as the real server does.
            next["type"] ??= resource.Name == "secrets" ? current["type"]?.DeepClone() : null;
            if (next["type"] is null)
            {
                next.Remove("type");
            }
        }

        if (resource.Name == "events")
        {
            Defaults.Apply(resource.Name, next);
        }

        Validation.Check(resource, next, current);
        if (resource.Name == "namespaces")
        {
            PodSecurity.CheckNamespaceLabels(Meta.Get(next, "name") ?? "", next);
        }

        return next;
    }

    private static void CheckPodUpdate(JsonObject current, JsonObject next)
    {
        // Only images, activeDeadlineSeconds, added tolerations and the grace period may change on a pod.
        static JsonObject Comparable(JsonObject? spec)
        {
            var copy = spec?.DeepClone().AsObject() ?? [];
            copy.Remove("activeDeadlineSeconds");
            copy.Remove("tolerations");
            copy.Remove("terminationGracePeriodSeconds");
            foreach (var list in new[] { "containers", "initContainers" })
            {
                if (copy[list] is JsonArray a)
                {
                    foreach (var c in a.OfType<JsonObject>())
                    {
                        c.Remove("image");
                    }
                }
            }

            return copy;
        }

        foreach (var list in new[] { "containers", "initContainers" })
        {
            if ((current["spec"]?[list] as JsonArray)?.Count != (next["spec"]?[list] as JsonArray)?.Count)
            {
                throw ApiException.Invalid("Pod", Meta.Get(current, "name")!, [new FieldCause("FieldValueForbidden", "spec." + list, "Forbidden: pod updates may not add or remove containers")]);
            }
        }

        if (!JsonNode.DeepEquals(Comparable(current["spec"] as JsonObject), Comparable(next["spec"] as JsonObject)))
        {
            throw ApiException.Invalid("Pod", Meta.Get(current, "name")!, [new FieldCause("FieldValueForbidden", "spec", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")]);
        }
    }

    private async Task DeleteAsync(HttpContext ctx, ResourceInfo resource, string ns, string name)
    {
        var options = await ReadDeleteOptionsAsync(ctx).ConfigureAwait(false);
        if (IsDryRun(ctx) || options.DryRun)
        {
            await WriteBytesAsync(ctx, 200, Existing(resource, ns, name).Json).ConfigureAwait(false);
            return;
        }

        var result = DeleteOne(resource, ns, name, options);
        await WriteJsonAsync(ctx, 200, result).ConfigureAwait(false);
    }

    private async Task DeleteCollectionAsync(HttpContext ctx, ResourceInfo resource, string? ns)
    {
        var options = await ReadDeleteOptionsAsync(ctx).ConfigureAwait(false);
        var labels = Selector.ParseLabels(QueryParams.Text(ctx.Request.Query, "labelSelector"));
        var fields = Selector.ParseFields(QueryParams.Text(ctx.Request.Query, "fieldSelector"), resource.Name);
        var (all, rv) = _store.List(resource.Name, ns);
        var items = new JsonArray();
        foreach (var o in all.Where(o => labels.Matches(o.Labels) && fields.Matches(o.Fields)))
        {
            try
            {
                var deleted = IsDryRun(ctx) || options.DryRun ? o.ToJson() : DeleteOne(resource, o.Namespace, o.Name, options with { Uid = null, ResourceVersion = null });
                if (deleted["kind"]?.ToString() == "Status" || (resource.Name == "pods" && _store.Get(resource.Name, o.Namespace, o.Name) is null))
                {
                    // The list shows what was deleted at once as it was stored.
                    deleted = o.ToJson();
                }

                deleted.Remove("kind");
                deleted.Remove("apiVersion");
                items.Add(deleted);
            }
            catch (ApiException e) when (e.Code == 404)
            {
                // Deleted meanwhile.
            }
        }

        await WriteJsonAsync(ctx, 200, new JsonObject
        {
            ["kind"] = resource.Kind + "List",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        }).ConfigureAwait(false);
    }

    /// <summary>An object being deleted whose last finalizer was just removed goes away (pods and namespaces have
    /// their own controllers for that).</summary>
    private StoredObject FinishDeletion(ResourceInfo resource, StoredObject stored)
    {
        if (resource.Name is "pods" or "namespaces")
        {
            return stored;
        }

        var obj = stored.ToJson();
        if (Meta.Get(obj, "deletionTimestamp") is null || obj["metadata"]?["finalizers"] is JsonArray { Count: > 0 })
        {
            return stored;
        }

        try
        {
            _store.Delete(resource.Name, stored.Namespace, stored.Name, null);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            // Gone meanwhile.
        }

        return stored;
    }

    /// <summary>Deletes one object the way the real API server does for its kind; returns the response body.</summary>
    internal JsonObject DeleteOne(ResourceInfo resource, string ns, string name, DeleteOptions options)
    {
        void Precondition(StoredObject current)
        {
            var obj = current.ToJson();
            if (options.Uid is not null && options.Uid != Meta.Get(obj, "uid"))
            {
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on {resource.Kind} \"{name}\": the UID in the precondition ({options.Uid}) does not match the UID in record ({Meta.Get(obj, "uid")}). The object might have been deleted and then recreated", name, resource.Kind);
            }

            if (options.ResourceVersion is not null && options.ResourceVersion != Meta.Get(obj, "resourceVersion"))
            {
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on {resource.Kind} \"{name}\": the ResourceVersion in the precondition ({options.ResourceVersion}) does not match the ResourceVersion in record ({Meta.Get(obj, "resourceVersion")}). The object might have been modified", name, resource.Kind);
            }
        }

        switch (resource.Name)
        {
            case "pods":
                {
                    var current = Existing(resource, ns, name);
                    Precondition(current);
                    var pod = current.ToJson();
                    var phase = current.Fields.GetValueOrDefault("status.phase");
                    var grace = options.GracePeriodSeconds ?? (long?)pod["spec"]?["terminationGracePeriodSeconds"] ?? 30;
                    if (string.IsNullOrEmpty(current.Fields.GetValueOrDefault("spec.nodeName")) || phase is "Succeeded" or "Failed" || grace <= 0)
                    {
                        // Gone at once; the answer shows it as deleted now (a negative grace period is kept as given).
                        var gone = _store.Delete(resource.Name, ns, name, Precondition).ToJson();
                        Meta.Of(gone)["deletionTimestamp"] ??= Time.Seconds(_cluster.Now);
                        Meta.Of(gone)["deletionGracePeriodSeconds"] ??= Math.Min(grace, 0);
                        return gone;
                    }

                    var now = _cluster.Now;
                    return _store.Update(resource.Name, ns, name, p =>
                    {
                        var meta = Meta.Of(p);
                        var existingGrace = (long?)meta["deletionGracePeriodSeconds"];
                        if (existingGrace is not null && existingGrace <= grace)
                        {
                            return p;
                        }

                        meta["deletionTimestamp"] = Time.Seconds(now.AddSeconds(grace));
                        meta["deletionGracePeriodSeconds"] = grace;
                        return p;
                    }).ToJson();
                }

            case "namespaces":
                {
                    if (name is "default" or "kube-system" or "kube-public")
                    {
                        throw new ApiException(403, "Forbidden", $"namespaces \"{name}\" is forbidden: this namespace may not be deleted", name, "namespaces");
                    }

                    var current = Existing(resource, "", name);
                    Precondition(current);
                    var now = _cluster.Now;
                    var updated = _store.Update(resource.Name, "", name, n =>
                    {
                        Meta.Of(n)["deletionTimestamp"] ??= Time.Seconds(now);
                        Meta.Child(n, "status")["phase"] = "Terminating";
                        return n;
                    });
                    _cluster.Namespaces.Terminate(name);
                    return updated.ToJson();
                }

            default:
                {
                    var current = Existing(resource, ns, name);
                    var hasFinalizers = current.ToJson()["metadata"]?["finalizers"] is JsonArray { Count: > 0 };
                    var gcFinalizer = options.PropagationPolicy switch { "Foreground" => "foregroundDeletion", "Orphan" => "orphan", _ => null };
                    if (hasFinalizers || gcFinalizer is not null)
                    {
                        // Kept, marked as being deleted, until its finalizers are gone (the garbage collector's own
                        // finalizer goes at once: nothing here has dependents to wait for).
                        var now = _cluster.Now;
                        var marked = _store.Update(resource.Name, ns, name, o =>
                        {
                            Precondition(current);
                            var meta = Meta.Of(o);
                            meta["deletionTimestamp"] ??= Time.Seconds(now);
                            meta["deletionGracePeriodSeconds"] ??= 0;
                            if (gcFinalizer is not null && !(meta["finalizers"] as JsonArray ?? []).Any(f => Meta.Str(f) == gcFinalizer))
                            {
                                Meta.Array(o["metadata"]!.AsObject(), "finalizers").Add(gcFinalizer);
                            }

                            return o;
                        });
                        var response = marked.ToJson();
                        if (gcFinalizer is not null)
                        {
                            FinishDeletion(resource, _store.Update(resource.Name, ns, name, o =>
                            {
                                var finalizers = (JsonArray)o["metadata"]!["finalizers"]!;
                                foreach (var f in finalizers.Where(f => Meta.Str(f) == gcFinalizer).ToList())
                                {
                                    finalizers.Remove(f);
                                }

                                if (finalizers.Count == 0)
                                {
                                    Meta.Of(o).Remove("finalizers");
                                }

                                return o;
                            }));
                        }

                        return response;
                    }

                    var deleted = _store.Delete(resource.Name, ns, name, Precondition);
                    if (resource.Name == "serviceaccounts")
                    {
                        // The real server answers with the deleted object for these.
                        return deleted.ToJson();
                    }

                    var details = new JsonObject { ["name"] = name };
                    if (resource.Group.Length > 0)
                    {
                        details["group"] = resource.Group;
                    }

                    details["kind"] = resource.Name;
                    details["uid"] = deleted.ToJson()["metadata"]?["uid"]?.DeepClone();
                    return new JsonObject
                    {
                        ["kind"] = "Status",
                        ["apiVersion"] = "v1",
                        ["metadata"] = new JsonObject(),
                        ["status"] = "Success",
                        ["details"] = details,
                    };
                }
        }
    }

    private static async Task<DeleteOptions> ReadDeleteOptionsAsync(HttpContext ctx)
    {
        var options = new DeleteOptions();
        var bytes = await RequestBody.ReadBytesAsync(ctx).ConfigureAwait(false);
        var isProtobuf = (ctx.Request.ContentType ?? "").StartsWith(Protobuf.MediaType, StringComparison.Ordinal);
        if (bytes.Length > 0 && (isProtobuf || !string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(bytes))))
        {
            JsonObject o;
            try
            {
                o = isProtobuf ? Protobuf.Decode(bytes) : JsonNode.Parse(bytes) as JsonObject ?? throw ApiException.BadRequest("DeleteOptions must be a JSON object");
            }
            catch (JsonException e)
            {
                throw ApiException.BadRequest("couldn't decode DeleteOptions: " + e.Message);
            }

            if (o["gracePeriodSeconds"] is { } graceNode && !(graceNode is JsonValue gn && gn.TryGetValue<long>(out _)))
            {
                throw ApiException.BadRequest("couldn't decode DeleteOptions: gracePeriodSeconds must be an integer");
            }

            options = options with
            {
                GracePeriodSeconds = o["gracePeriodSeconds"] is JsonValue g && g.TryGetValue<long>(out var gv) ? gv : null,
                Uid = Meta.Str(o["preconditions"]?["uid"]),
                ResourceVersion = Meta.Str(o["preconditions"]?["resourceVersion"]),
                DryRun = o["dryRun"] is JsonArray d && d.Count > 0,
                PropagationPolicy = Meta.Str(o["propagationPolicy"]),
            };
        }

        if (QueryParams.Int(ctx.Request.Query, "gracePeriodSeconds") is { } q)
        {
            options = options with { GracePeriodSeconds = q };
        }

        var policy = QueryParams.Text(ctx.Request.Query, "propagationPolicy") ?? options.PropagationPolicy;
        options = options with { PropagationPolicy = policy };
        if (policy is not null and not ("Orphan" or "Background" or "Foreground"))
        {
            throw ApiException.InvalidOptions("DeleteOptions", [new FieldCause("FieldValueNotSupported", "propagationPolicy", $"Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")]);
        }

        return options;
    }

    private static bool IsDryRun(HttpContext ctx)
    {
        var values = ctx.Request.Query["dryRun"];
        if (values.Any(v => v != "All"))
        {
            var kind = ctx.Request.Method switch { "POST" => "CreateOptions", "DELETE" => "DeleteOptions", "PATCH" => "PatchOptions", _ => "UpdateOptions" };
            var unsupported = "Unsupported value: []string{" + string.Join(", ", values.Select(v => $"\"{v}\"")) + "}: supported values: \"All\"";
            throw ApiException.InvalidOptions(kind, [new FieldCause("FieldValueNotSupported", "dryRun", unsupported)]);
        }

        return values.Count > 0;
    }


    private static string RandomSuffix()
    {
        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
    }

    private static async Task WriteErrorAsync(HttpContext ctx, ApiException e)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }

        await WriteJsonAsync(ctx, e.Code, e.ToStatus()).ConfigureAwait(false);
    }

    internal static async Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body)
    {
        await WriteBytesAsync(ctx, code, JsonSerializer.SerializeToUtf8Bytes(body, JsonText.Options)).ConfigureAwait(false);
    }

    private static async Task WriteBytesAsync(HttpContext ctx, int code, byte[] body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>The options of a delete request, from its query and its DeleteOptions body.</summary>
internal sealed record DeleteOptions(long? GracePeriodSeconds = null, string? Uid = null, string? ResourceVersion = null, bool DryRun = false, string? PropagationPolicy = null);
