using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Api;

/// <summary>A cause in an Invalid status: which field and why.</summary>
internal sealed record FieldCause(string Type, string Field, string Message);

/// <summary>A request failure that becomes a Kubernetes <c>Status</c> response.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int code, string reason, string message, string? name = null, string? kind = null, IReadOnlyList<FieldCause>? causes = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Name = name;
        Kind = kind;
        Causes = causes ?? [];
    }

    public ApiException()
        : this(500, "InternalError", "internal error")
    {
    }

    public ApiException(string message)
        : this(500, "InternalError", message)
    {
    }

    public ApiException(string message, Exception inner)
        : base(message, inner)
    {
        Code = 500;
        Reason = "InternalError";
        Causes = [];
    }

    public int Code { get; }

    public string Reason { get; }

    public string? Name { get; }

    public string? Kind { get; }

    public IReadOnlyList<FieldCause> Causes { get; }

    /// <summary>The API group in the details, for options kinds such as <c>DeleteOptions</c> (group meta.k8s.io).</summary>
    public string? Group { get; init; }

    /// <summary>Written with an empty <c>details</c> object, as the real server does for routing and patch errors.</summary>
    public bool EmptyDetails { get; init; }

    /// <summary>No such resource or subresource.</summary>
    public static ApiException NoRoute() => new(404, "NotFound", "the server could not find the requested resource") { EmptyDetails = true };

    /// <summary>An error from the real server's internals: no reason in the Status.</summary>
    public static ApiException Internal(string message) => new(500, "", message);

    /// <summary>An invalid options object (DeleteOptions, ListOptions): named with its group, as the real server does.</summary>
    public static ApiException InvalidOptions(string kind, IReadOnlyList<FieldCause> causes)
    {
        var e = Invalid(kind + ".meta.k8s.io", "", causes);
        return new ApiException(422, "Invalid", e.Message, null, kind, causes) { Group = "meta.k8s.io" };
    }

    public static ApiException NotFound(string resource, string name) =>
        new(404, "NotFound", $"{Qualified(resource)} \"{name}\" not found", name, resource) { Group = GroupOf(resource) };

    public static ApiException AlreadyExists(string resource, string name) =>
        new(409, "AlreadyExists", $"{Qualified(resource)} \"{name}\" already exists", name, resource) { Group = GroupOf(resource) };

    public static ApiException Conflict(string resource, string name) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {Qualified(resource)} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", name, resource) { Group = GroupOf(resource) };

    /// <summary>A 403 as the real server words it: <c>roles.rbac.authorization.k8s.io "x" is forbidden: …</c>.</summary>
    public static ApiException Forbidden(string resource, string name, string why) =>
        new(403, "Forbidden", name.Length > 0 ? $"{Qualified(resource)} \"{name}\" is forbidden: {why}" : $"{Qualified(resource)} is forbidden: {why}", name, resource) { Group = GroupOf(resource) };

    /// <summary>The group of a resource outside the core group (resource names are unique across served groups).</summary>
    private static string? GroupOf(string resource) =>
        ResourceInfo.All.FirstOrDefault(r => r.Name == resource && r.Group.Length > 0)?.Group;

    private static string Qualified(string resource) => GroupOf(resource) is { } g ? resource + "." + g : resource;

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public static ApiException MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message) { EmptyDetails = true };

    public static ApiException Invalid(string kind, string name, IReadOnlyList<FieldCause> causes)
    {
        // Like the real server's aggregate: the same error twice is written once (the causes keep both).
        var distinct = causes.Select(c => $"{c.Field}: {c.Message}").Distinct(StringComparer.Ordinal).ToList();
        var details = string.Join(", ", distinct);
        var message = distinct.Count == 1
            ? $"{kind} \"{name}\" is invalid: {details}"
            : $"{kind} \"{name}\" is invalid: [{details}]";
        return new ApiException(422, "Invalid", message, name, kind, causes);
    }

    /// <summary>The Status object for this failure.</summary>
    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
        };
        if (Reason.Length > 0)
        {
            status["reason"] = Reason;
        }

        if (!string.IsNullOrEmpty(Name) || Kind is not null || Causes.Count > 0)
        {
            var details = new JsonObject();
            if (!string.IsNullOrEmpty(Name))
            {
                details["name"] = Name;
            }

            if (Group is not null)
            {
                details["group"] = Group;
            }

            if (Kind is not null)
            {
                details["kind"] = Kind;
            }

            if (Causes.Count > 0)
            {
                details["causes"] = new JsonArray([.. Causes.Select(c => (JsonNode)new JsonObject
                {
                    ["reason"] = c.Type,
                    ["message"] = c.Message,
                    ["field"] = c.Field,
                })]);
            }

            status["details"] = details;
        }
        else if (EmptyDetails)
        {
            status["details"] = new JsonObject();
        }

        status["code"] = Code;
        return status;
    }
}
