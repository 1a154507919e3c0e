using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Auth;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// The <c>authorization.k8s.io/v1</c> reviews, answered by the RBAC authorizer and never stored:
/// SelfSubjectAccessReview (<c>kubectl auth can-i</c>), SelfSubjectRulesReview (<c>kubectl auth can-i --list</c>),
/// SubjectAccessReview and LocalSubjectAccessReview (another user's rights, for those allowed to ask).
/// </summary>
internal static class AccessReviews
{
    public const string Group = "authorization.k8s.io";

    public static readonly IReadOnlyList<(string Name, string Kind)> Kinds =
    [
        ("localsubjectaccessreviews", "LocalSubjectAccessReview"),
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
        ("subjectaccessreviews", "SubjectAccessReview"),
    ];

    /// <summary>The answer to one review posted by <paramref name="caller"/>; <paramref name="ns"/> is the URL's namespace.</summary>
    public static JsonObject Answer(string review, string? ns, JsonObject body, UserInfo caller, RbacAuthorizer rbac)
    {
        var kind = Kinds.FirstOrDefault(k => k.Name == review).Kind;
        if (kind is null || (review == "localsubjectaccessreviews") != (ns is not null))
        {
            throw ApiException.NoRoute();
        }

        var givenKind = Meta.Str(body["kind"]);
        if (givenKind is { Length: > 0 } && givenKind != kind)
        {
            throw ApiException.BadRequest($"{givenKind} in version \"v1\" cannot be handled as a {kind}: no kind \"{givenKind}\" is registered for version \"{Group}/v1\"");
        }

        var spec = body["spec"] as JsonObject ?? [];
        var status = new JsonObject();
        if (review == "selfsubjectrulesreviews")
        {
            var rulesNamespace = Meta.Str(spec["namespace"]) ?? "";
            if (rulesNamespace.Length == 0)
            {
                throw Invalid(kind, "spec.namespace", "Required value: no namespace on request");
            }

            var rules = rbac.Rules(caller, rulesNamespace).ToList();
            status["resourceRules"] = new JsonArray([.. rules.Where(r => r.NonResourceUrls.Length == 0).Select(r => (JsonNode)r.ToJson())]);
            status["nonResourceRules"] = new JsonArray([.. rules.Where(r => r.NonResourceUrls.Length > 0).Select(r => (JsonNode)r.ToJson())]);
            status["incomplete"] = false;
        }
        else
        {
            var user = caller;
            if (review is "subjectaccessreviews" or "localsubjectaccessreviews")
            {
                var name = Meta.Str(spec["user"]) ?? "";
                var groups = spec["groups"] is JsonArray g ? g.Select(Meta.Str).Where(x => x is not null).Select(x => x!).ToList() : [];
                if (name.Length == 0 && groups.Count == 0)
                {
                    throw Invalid(kind, "spec.user", "Invalid value: \"\": at least one of user or group must be specified");
                }

                user = new UserInfo(name, groups);
            }

            var resource = spec["resourceAttributes"] as JsonObject;
            var nonResource = spec["nonResourceAttributes"] as JsonObject;
            if ((resource is null) == (nonResource is null))
            {
                throw Invalid(kind, "spec.resourceAttributes", "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
            }

            if (ns is not null && Meta.Str(resource?["namespace"]) is { } given && given != ns)
            {
                throw Invalid(kind, "spec.resourceAttributes.namespace", $"Invalid value: \"{given}\": must match metadata.namespace");
            }

            var attributes = resource is not null
                ? new RequestAttributes(Text(resource, "verb"), Text(resource, "group"), Text(resource, "resource"), Text(resource, "subresource"), ns ?? Text(resource, "namespace"), Text(resource, "name"), "")
                : new RequestAttributes(Text(nonResource!, "verb"), "", "", "", "", "", Text(nonResource!, "path"));
            var (allowed, reason) = rbac.Authorize(user, attributes);
            status["allowed"] = allowed;
            if (reason.Length > 0)
            {
                status["reason"] = reason;
            }
        }

        var metadata = new JsonObject { ["creationTimestamp"] = null };
        if (ns is not null)
        {
            metadata["namespace"] = ns;
        }

        return new JsonObject
        {
            ["kind"] = kind,
            ["apiVersion"] = Group + "/v1",
            ["metadata"] = metadata,
            ["spec"] = spec.DeepClone(),
            ["status"] = status,
        };
    }

    private static string Text(JsonObject o, string field) => Meta.Str(o[field]) ?? "";

    private static ApiException Invalid(string kind, string field, string message) =>
        new(422, "Invalid", $"{kind}.{Group} \"\" is invalid: {field}: {message}", null, kind, [new FieldCause(message.Split(':')[0] == "Required value" ? "FieldValueRequired" : "FieldValueInvalid", field, message)]) { Group = Group };
}
