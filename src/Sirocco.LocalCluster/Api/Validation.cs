using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The checks the real API server makes on the fields this cluster supports.</summary>
internal static partial class Validation
{
    private const string Dns1123LabelHint = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    private const string Dns1123SubdomainHint = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string QualifiedNameHint = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    private const string QualifiedNameWithPrefixHint = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
    private const string LabelValueHint = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    private const string EnvNameHint = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
    private const string ConfigKeyHint = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigKey();

    public static List<string> Dns1123LabelErrors(string value)
    {
        var errors = new List<string>();
        if (value.Length > 63)
        {
            errors.Add("must be no more than 63 characters");
        }

        if (!Dns1123Label().IsMatch(value))
        {
            errors.Add(Dns1123LabelHint);
        }

        return errors;
    }

    public static List<string> Dns1123SubdomainErrors(string value)
    {
        var errors = new List<string>();
        if (value.Length > 253)
        {
            errors.Add("must be no more than 253 characters");
        }

        if (!Dns1123Subdomain().IsMatch(value))
        {
            errors.Add(Dns1123SubdomainHint);
        }

        return errors;
    }

    /// <summary>The real server's IsQualifiedName: an optional DNS subdomain prefix, a slash and a name part.</summary>
    public static List<string> LabelKeyErrors(string key)
    {
        var errors = new List<string>();
        var parts = key.Split('/');
        string name;
        switch (parts.Length)
        {
            case 1:
                name = parts[0];
                break;
            case 2:
                name = parts[1];
                if (parts[0].Length == 0)
                {
                    errors.Add("prefix part must be non-empty");
                }
                else
                {
                    errors.AddRange(Dns1123SubdomainErrors(parts[0]).Select(e => "prefix part " + e));
                }

                break;
            default:
                errors.Add(QualifiedNameWithPrefixHint);
                return errors;
        }

        if (name.Length == 0)
        {
            errors.Add("name part must be non-empty");
        }
        else if (name.Length > 63)
        {
            errors.Add("name part must be no more than 63 characters");
        }

        if (!QualifiedName().IsMatch(name))
        {
            errors.Add(QualifiedNameHint);
        }

        return errors;
    }

    public static List<string> LabelValueErrors(string value)
    {
        var errors = new List<string>();
        if (value.Length > 63)
        {
            errors.Add("must be no more than 63 characters");
        }

        if (value.Length > 0 && !QualifiedName().IsMatch(value))
        {
            errors.Add(LabelValueHint);
        }

        return errors;
    }

    /// <summary>The real server's IsConfigMapKey: keys of configmaps and secrets, env var sources and items.</summary>
    public static List<string> ConfigKeyErrors(string key)
    {
        var errors = new List<string>();
        if (key.Length > 253)
        {
            errors.Add("must be no more than 253 characters");
        }

        if (!ConfigKey().IsMatch(key))
        {
            errors.Add(ConfigKeyHint);
        }

        errors.AddRange(ChDirPrefixErrors(key));
        return errors;
    }

    public static List<string> EnvVarNameErrors(string name)
    {
        var errors = new List<string>();
        if (!EnvName().IsMatch(name))
        {
            errors.Add(EnvNameHint);
        }

        errors.AddRange(ChDirPrefixErrors(name));
        return errors;
    }

    private static IEnumerable<string> ChDirPrefixErrors(string value)
    {
        if (value == ".")
        {
            yield return "must not be '.'";
        }
        else if (value == "..")
        {
            yield return "must not be '..'";
        }
        else if (value.StartsWith("..", StringComparison.Ordinal))
        {
            yield return "must not start with '..'";
        }
    }

    /// <summary>Names that are only path segments (events): no '.', '..', '/' or '%'.</summary>
    private static List<string> PathSegmentNameErrors(string name, bool prefix)
    {
        if (!prefix && name is "." or "..")
        {
            return [$"may not be '{name}'"];
        }

        var errors = new List<string>();
        foreach (var bad in new[] { "/", "%" })
        {
            if (name.Contains(bad, StringComparison.Ordinal))
            {
                errors.Add($"may not contain '{bad}'");
            }
        }

        return errors;
    }

    /// <summary>The real server's name functions; a generateName prefix may end with a dash.</summary>
    private static List<string> NameErrors(string kind, string name, bool prefix)
    {
        if (kind == "events")
        {
            return PathSegmentNameErrors(name, prefix);
        }

        if (prefix && name.EndsWith('-'))
        {
            // As v1.20's maskTrailingDash: the last two characters become one "a" ("Q-" passes as "a").
            name = name[..Math.Max(0, name.Length - 2)] + "a";
        }

        return kind == "namespaces" ? Dns1123LabelErrors(name) : Dns1123SubdomainErrors(name);
    }

    /// <summary>
    /// Checks an object about to be written; on update, <paramref name="old"/> is the stored object it replaces.
    /// Throws 422 Invalid with every cause found, in the order the real server (v1.20) finds them.
    /// </summary>
    public static void Check(ResourceInfo resource, JsonObject obj, JsonObject? old = null)
    {
        var causes = new List<FieldCause>();
        var name = Meta.Get(obj, "name") ?? "";
        if (old is not null)
        {
            // On update the server first makes its common metadata checks (the object's, then the update's),
            // which repeats the label and annotation errors the kind's own checks find again below.
            CheckMetadata("events", obj, causes, resource.Name);
            CheckMetadataMaps(resource.Name, obj, causes);
        }

        switch (resource.Name)
        {
            case "events":
                // The event's own checks; the common metadata checks follow on create only when these pass.
                CheckEvent(obj, causes);
                if (causes.Count == 0 && old is null)
                {
                    CheckMetadata(resource.Name, obj, causes);
                }

                break;
            case "pods":
                CheckMetadata(resource.Name, obj, causes);
                CheckPod(obj, causes);
                if (old is not null)
                {
                    CheckMetadataMaps(resource.Name, obj, causes);
                }

                break;
            case "namespaces":
                CheckMetadata(resource.Name, obj, causes);
                CheckNamespace(obj, causes);
                if (old is not null)
                {
                    CheckMetadataMaps(resource.Name, obj, causes);
                }

                break;
            case "secrets":
                if (old is not null)
                {
                    CheckMetadataMaps(resource.Name, obj, causes);
                    CheckSecretUpdate(obj, old, causes);
                }

                CheckMetadata(resource.Name, obj, causes);
                CheckSecret(obj, causes);
                break;
            case "configmaps":
                if (old is not null)
                {
                    CheckMetadataMaps(resource.Name, obj, causes);
                    CheckImmutable(obj, old, ["data", "binaryData"], causes);
                }

                CheckMetadata(resource.Name, obj, causes);
                CheckConfigMap(obj, causes);
                break;
            default:
                if (old is not null)
                {
                    CheckMetadataMaps(resource.Name, obj, causes);
                }

                CheckMetadata(resource.Name, obj, causes);
                break;
        }

        if (causes.Count > 0)
        {
            throw ApiException.Invalid(resource.Kind, name, causes);
        }
    }

    /// <summary>The real server's ValidateObjectMeta: generateName, name, then labels and annotations.</summary>
    /// <remarks><paramref name="rules"/> picks the name rules (a resource's plural); <paramref name="kind"/> is the resource, when different.</remarks>
    private static void CheckMetadata(string rules, JsonObject obj, List<FieldCause> causes, string? kind = null)
    {
        var meta = Meta.Of(obj);
        if (Meta.Str(meta["generateName"]) is { Length: > 0 } generateName)
        {
            foreach (var e in NameErrors(rules, generateName, true))
            {
                causes.Add(InvalidValue("metadata.generateName", generateName, e));
            }
        }

        var name = Meta.Str(meta["name"]);
        if (string.IsNullOrEmpty(name))
        {
            causes.Add(Required("metadata.name", "name or generateName is required"));
        }
        else
        {
            foreach (var e in NameErrors(rules, name, false))
            {
                causes.Add(InvalidValue("metadata.name", name, e));
            }
        }

        CheckMetadataMaps(kind ?? rules, obj, causes);
        var finalizers = (meta["finalizers"] as JsonArray ?? []).Select(f => Meta.Str(f) ?? "").ToList();
        foreach (var finalizer in finalizers)
        {
            causes.AddRange(LabelKeyErrors(finalizer).Select(e => InvalidValue("metadata.finalizers", finalizer, e)));
        }

        if (finalizers.Contains("orphan") && finalizers.Contains("foregroundDeletion"))
        {
            var shown = "[]string{" + string.Join(", ", finalizers.Select(GoQuote)) + "}";
            causes.Add(new FieldCause("FieldValueInvalid", "metadata.finalizers", $"Invalid value: {shown}: finalizer orphan and foregroundDeletion cannot be both set"));
        }

        if (rules != "events")
        {
            // The core kinds also want finalizers without a domain to be the standard ones.
            for (var i = 0; i < finalizers.Count; i++)
            {
                if (!finalizers[i].Contains('/', StringComparison.Ordinal) && finalizers[i] is not ("kubernetes" or "orphan" or "foregroundDeletion"))
                {
                    causes.Add(InvalidValue($"metadata.finalizers[{i}]", finalizers[i], "name is neither a standard finalizer name nor is it fully qualified"));
                }
            }
        }
    }

    /// <summary>Owner references: each names its owner fully, and at most one is the controller.</summary>
    private static void CheckOwnerReferences(JsonArray refs, List<FieldCause> causes)
    {
        string? controller = null;
        foreach (var r in refs)
        {
            var apiVersion = Meta.Str(r?["apiVersion"]) ?? "";
            var kind = Meta.Str(r?["kind"]) ?? "";
            var name = Meta.Str(r?["name"]) ?? "";
            var parts = apiVersion.Split('/');
            var version = apiVersion.Length == 0 || parts.Length > 2 ? "" : parts[^1];
            if (version.Length == 0)
            {
                causes.Add(InvalidValue("metadata.ownerReferences.apiVersion", apiVersion, "version must not be empty"));
            }

            if (kind.Length == 0)
            {
                causes.Add(InvalidValue("metadata.ownerReferences.kind", kind, "kind must not be empty"));
            }

            if (name.Length == 0)
            {
                causes.Add(InvalidValue("metadata.ownerReferences.name", name, "name must not be empty"));
            }

            if (string.IsNullOrEmpty(Meta.Str(r?["uid"])))
            {
                causes.Add(InvalidValue("metadata.ownerReferences.uid", "", "uid must not be empty"));
            }

            if (apiVersion == "v1" && kind == "Event")
            {
                causes.Add(new FieldCause("FieldValueInvalid", "metadata.ownerReferences", "Invalid value: v1.OwnerReference{...}: /v1, Kind=Event is disallowed from being an owner"));
            }

            if (r?["controller"] is JsonValue c && c.TryGetValue<bool>(out var isController) && isController)
            {
                if (controller is not null)
                {
                    // The real server shows the whole list as Go writes it, pointers and all.
                    causes.Add(new FieldCause("FieldValueInvalid", "metadata.ownerReferences", $"Invalid value: []v1.OwnerReference{{...}}: Only one reference can have Controller set to true. Found \"true\" in references for {controller} and {name}"));
                }
                else
                {
                    controller = name;
                }
            }
        }
    }

    /// <summary>Labels and annotations, checked both by ValidateObjectMeta and ValidateObjectMetaUpdate.</summary>
    private static void CheckMetadataMaps(string kind, JsonObject obj, List<FieldCause> causes)
    {
        var meta = Meta.Of(obj);
        if (meta["labels"] is JsonObject labels)
        {
            CheckLabels(labels, "metadata.labels", causes, kind == "namespaces" ? Meta.Str(meta["name"]) : null);
        }

        if (meta["annotations"] is JsonObject annotations)
        {
            var total = 0L;
            foreach (var (key, value) in annotations)
            {
                foreach (var e in LabelKeyErrors(key.ToLowerInvariant()))
                {
                    causes.Add(InvalidValue("metadata.annotations", key, e));
                }

                total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(Meta.Str(value) ?? "");
            }

            if (total > 256 * 1024)
            {
                causes.Add(TooLong("metadata.annotations", 256 * 1024));
            }
        }

        if (meta["ownerReferences"] is JsonArray refs)
        {
            CheckOwnerReferences(refs, causes);
        }
    }

    /// <summary>Label maps (metadata.labels, spec.nodeSelector): qualified-name keys and label values.</summary>
    private static void CheckLabels(JsonObject labels, string field, List<FieldCause> causes, string? namespaceName = null)
    {
        foreach (var (key, value) in labels)
        {
            var text = Meta.Str(value) ?? "";
            if (namespaceName is not null && key == "kubernetes.io/metadata.name" && text == namespaceName)
            {
                // Written by this server itself from the namespace's name (newer Kubernetes does the same).
                continue;
            }

            foreach (var e in LabelKeyErrors(key))
            {
                causes.Add(InvalidValue(field, key, e));
            }

            foreach (var e in LabelValueErrors(text))
            {
                causes.Add(InvalidValue(field, text, e));
            }
        }
    }

    internal static FieldCause Required(string field, string detail) =>
        new("FieldValueRequired", field, detail.Length == 0 ? "Required value" : "Required value: " + detail);

    internal static FieldCause Duplicate(string field, string value) =>
        new("FieldValueDuplicate", field, $"Duplicate value: {GoQuote(value)}");

    internal static FieldCause NotFound(string field, string value) =>
        new("FieldValueNotFound", field, $"Not found: {GoQuote(value)}");

    internal static FieldCause Forbidden(string field, string detail) =>
        new("FieldValueForbidden", field, "Forbidden: " + detail);

    internal static FieldCause TooLong(string field, int max) =>
        new("FieldValueTooLong", field, $"Too long: must have at most {max} bytes");

    internal static FieldCause NotSupported(string field, string value, params string[] supported) =>
        new("FieldValueNotSupported", field, $"Unsupported value: {GoQuote(value)}: supported values: {string.Join(", ", supported.Select(GoQuote))}");

    /// <summary>An Invalid cause; strings are quoted as Go's %q does, other values written as they are.</summary>
    internal static FieldCause InvalidValue(string field, object value, string detail) =>
        new("FieldValueInvalid", field, value is string s ? $"Invalid value: {GoQuote(s)}: {detail}" : $"Invalid value: {value}: {detail}");

    /// <summary>A string quoted as Go's %q writes it.</summary>
    internal static string GoQuote(string s)
    {
        var b = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"':
                    b.Append("\\\"");
                    break;
                case '\\':
                    b.Append("\\\\");
                    break;
                case '\n':
                    b.Append("\\n");
                    break;
                case '\t':
                    b.Append("\\t");
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                case < ' ':
                    b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    break;
                default:
                    b.Append(c);
                    break;
            }
        }

        return b.Append('"').ToString();
    }
}
