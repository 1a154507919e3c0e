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

    public static List<string> LabelKeyErrors(string key)
    {
        var errors = new List<string>();
        var slash = key.LastIndexOf('/');
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length == 0)
            {
                errors.Add("prefix part must be non-empty");
            }
            else
            {
                errors.AddRange(Dns1123SubdomainErrors(prefix).Select(e => "prefix part " + e));
            }
        }

        if (name.Length == 0)
        {
            errors.Add("name part must be non-empty");
        }
        else
        {
            if (name.Length > 63)
            {
                errors.Add("name part must be no more than 63 characters");
            }

            if (!QualifiedName().IsMatch(name))
            {
                errors.Add(QualifiedNameHint);
            }
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

    /// <summary>Checks an object about to be written; throws 422 Invalid with every cause found.</summary>
    public static void Check(ResourceInfo resource, JsonObject obj)
    {
        var causes = new List<FieldCause>();
        var name = Meta.Get(obj, "name") ?? "";
        CheckMetadata(resource, obj, causes);
        switch (resource.Name)
        {
            case "pods":
                CheckPodSpec(obj["spec"] as JsonObject, causes);
                break;
            case "secrets":
                CheckKeys(obj["data"] as JsonObject, "data", causes);
                break;
            case "configmaps":
                CheckKeys(obj["data"] as JsonObject, "data", causes);
                CheckKeys(obj["binaryData"] as JsonObject, "binaryData", causes);
                break;
        }

        if (causes.Count > 0)
        {
            throw ApiException.Invalid(resource.Kind, name, causes);
        }
    }

    private static void CheckMetadata(ResourceInfo resource, JsonObject obj, List<FieldCause> causes)
    {
        var name = Meta.Get(obj, "name");
        if (string.IsNullOrEmpty(name))
        {
            causes.Add(Required("metadata.name", "name or generateName is required"));
        }
        else
        {
            var errors = resource.Name is "namespaces" ? Dns1123LabelErrors(name) : Dns1123SubdomainErrors(name);
            foreach (var e in errors)
            {
                causes.Add(InvalidValue("metadata.name", name, e));
            }
        }

        if (Meta.Of(obj)["labels"] is JsonObject labels)
        {
            foreach (var (key, value) in labels)
            {
                foreach (var e in LabelKeyErrors(key))
                {
                    causes.Add(InvalidValue("metadata.labels", key, e));
                }

                var text = Meta.Str(value) ?? "";
                foreach (var e in LabelValueErrors(text))
                {
                    causes.Add(InvalidValue($"metadata.labels", text, e));
                }
            }
        }

        if (Meta.Of(obj)["annotations"] is JsonObject annotations)
        {
            var total = 0;
            foreach (var (key, value) in annotations)
            {
                foreach (var e in LabelKeyErrors(key))
                {
                    causes.Add(InvalidValue("metadata.annotations", key, e));
                }

                total += key.Length + (Meta.Str(value)?.Length ?? 0);
            }

            if (total > 256 * 1024)
            {
                causes.Add(new FieldCause("FieldValueTooLong", "metadata.annotations", "Too long: must have at most 262144 bytes"));
            }
        }
    }

    private static void CheckKeys(JsonObject? data, string field, List<FieldCause> causes)
    {
        if (data is null)
        {
            return;
        }

        foreach (var (key, _) in data)
        {
            if (key.Length > 253 || !ConfigKey().IsMatch(key))
            {
                causes.Add(InvalidValue($"{field}[{key}]", key, ConfigKeyHint));
            }
        }
    }

    private static void CheckPodSpec(JsonObject? spec, List<FieldCause> causes)
    {
        if (spec is null)
        {
            causes.Add(Required("spec.containers", ""));
            return;
        }

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        if (spec["volumes"] is JsonArray vols)
        {
            for (var i = 0; i < vols.Count; i++)
            {
                var vname = Meta.Str(vols[i]?["name"]) ?? "";
                var path = $"spec.volumes[{i}].name";
                if (vname.Length == 0)
                {
                    causes.Add(Required(path, ""));
                }
                else
                {
                    foreach (var e in Dns1123LabelErrors(vname))
                    {
                        causes.Add(InvalidValue(path, vname, e));
                    }

                    if (!volumes.Add(vname))
                    {
                        causes.Add(Duplicate(path, vname));
                    }
                }

                var sources = (vols[i] as JsonObject)?.Where(p => p.Key != "name" && p.Value is not null).Count() ?? 0;
                if (sources == 0)
                {
                    causes.Add(Required($"spec.volumes[{i}]", "must specify a volume type"));
                }
                else if (sources > 1)
                {
                    causes.Add(new FieldCause("FieldValueForbidden", $"spec.volumes[{i}]", "Forbidden: may not specify more than 1 volume type"));
                }
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        CheckContainers(spec["initContainers"] as JsonArray, "spec.initContainers", volumes, names, causes);
        if (spec["containers"] is not JsonArray containers || containers.Count == 0)
        {
            causes.Add(Required("spec.containers", ""));
        }
        else
        {
            CheckContainers(containers, "spec.containers", volumes, names, causes);
        }

        var restart = Meta.Str(spec["restartPolicy"]);
        if (restart is not null and not ("Always" or "OnFailure" or "Never"))
        {
            causes.Add(new FieldCause("FieldValueNotSupported", "spec.restartPolicy", $"Unsupported value: \"{restart}\": supported values: \"Always\", \"OnFailure\", \"Never\""));
        }

        if (spec["activeDeadlineSeconds"] is JsonValue ads && ads.TryGetValue<long>(out var deadline) && deadline <= 0)
        {
            causes.Add(InvalidValue("spec.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"));
        }

        if (spec["terminationGracePeriodSeconds"] is JsonValue tg && tg.TryGetValue<long>(out var grace) && grace < 0)
        {
            causes.Add(InvalidValue("spec.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"));
        }
    }

    private static void CheckContainers(JsonArray? containers, string field, HashSet<string> volumes, HashSet<string> names, List<FieldCause> causes)
    {
        if (containers is null)
        {
            return;
        }

        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject ?? [];
            var at = $"{field}[{i}]";
            var name = Meta.Str(c["name"]) ?? "";
            if (name.Length == 0)
            {
                causes.Add(Required(at + ".name", ""));
            }
            else
            {
                foreach (var e in Dns1123LabelErrors(name))
                {
                    causes.Add(InvalidValue(at + ".name", name, e));
                }

                if (!names.Add(name))
                {
                    causes.Add(Duplicate(at + ".name", name));
                }
            }

            if (string.IsNullOrEmpty(Meta.Str(c["image"])))
            {
                causes.Add(Required(at + ".image", ""));
            }

            if (c["volumeMounts"] is JsonArray mounts)
            {
                var paths = new HashSet<string>(StringComparer.Ordinal);
                for (var j = 0; j < mounts.Count; j++)
                {
                    var m = mounts[j];
                    var mname = Meta.Str(m?["name"]) ?? "";
                    var mpath = Meta.Str(m?["mountPath"]) ?? "";
                    var mat = $"{at}.volumeMounts[{j}]";
                    if (mname.Length == 0)
                    {
                        causes.Add(Required(mat + ".name", ""));
                    }
                    else if (!volumes.Contains(mname))
                    {
                        causes.Add(new FieldCause("FieldValueNotFound", mat + ".name", $"Not found: \"{mname}\""));
                    }

                    if (mpath.Length == 0)
                    {
                        causes.Add(Required(mat + ".mountPath", ""));
                    }
                    else if (!paths.Add(mpath))
                    {
                        causes.Add(new FieldCause("FieldValueInvalid", mat + ".mountPath", $"Invalid value: \"{mpath}\": must be unique"));
                    }

                    var sub = Meta.Str(m?["subPath"]);
                    if (sub is not null && (sub.StartsWith('/') || sub.Split('/').Contains("..")))
                    {
                        causes.Add(InvalidValue(mat + ".subPath", sub, "must be a relative path without '..'"));
                    }
                }
            }

            if (c["env"] is JsonArray env)
            {
                for (var j = 0; j < env.Count; j++)
                {
                    var ename = Meta.Str(env[j]?["name"]) ?? "";
                    if (ename.Length == 0)
                    {
                        causes.Add(Required($"{at}.env[{j}].name", ""));
                    }
                    else if (!EnvName().IsMatch(ename))
                    {
                        causes.Add(InvalidValue($"{at}.env[{j}].name", ename, EnvNameHint));
                    }
                }
            }

            CheckResources(c["resources"] as JsonObject, at + ".resources", causes);
        }
    }

    private static void CheckResources(JsonObject? resources, string field, List<FieldCause> causes)
    {
        var limits = resources?["limits"] as JsonObject;
        var requests = resources?["requests"] as JsonObject;
        foreach (var (kind, map) in new[] { ("limits", limits), ("requests", requests) })
        {
            if (map is null)
            {
                continue;
            }

            foreach (var (key, value) in map)
            {
                var q = Quantity.Parse(Meta.Text(value));
                if (q < 0)
                {
                    causes.Add(InvalidValue($"{field}.{kind}[{key}]", Meta.Text(value), "must be greater than or equal to 0"));
                }
            }
        }

        if (limits is null || requests is null)
        {
            return;
        }

        foreach (var (key, value) in requests)
        {
            if (limits[key] is { } limit && Quantity.Parse(Meta.Text(value)) > Quantity.Parse(Meta.Text(limit)))
            {
                causes.Add(InvalidValue($"{field}.requests", Meta.Text(value), $"must be less than or equal to {key} limit of {Meta.Text(limit)}"));
            }
        }
    }

    private static FieldCause Required(string field, string detail) =>
        new("FieldValueRequired", field, detail.Length == 0 ? "Required value" : "Required value: " + detail);

    private static FieldCause Duplicate(string field, string value) =>
        new("FieldValueDuplicate", field, $"Duplicate value: \"{value}\"");

    private static FieldCause InvalidValue(string field, object value, string detail) =>
        new("FieldValueInvalid", field, value is string s ? $"Invalid value: \"{s}\": {detail}" : $"Invalid value: {value}: {detail}");
}
