using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The real server's (v1.20) checks of a container's probes, hooks, devices and security context.</summary>
internal static partial class Validation
{
    private static void CheckProbe(JsonObject? probe, string at, List<FieldCause> causes)
    {
        if (probe is null)
        {
            return;
        }

        CheckHandler(probe, at, causes);
        foreach (var field in new[] { "initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold" })
        {
            if (Long(probe[field]) is { } value && value < 0)
            {
                causes.Add(InvalidValue($"{at}.{field}", value, "must be greater than or equal to 0"));
            }
        }
    }

    /// <summary>A probe's or hook's handler: exactly one of exec, httpGet and tcpSocket.</summary>
    private static void CheckHandler(JsonObject handler, string at, List<FieldCause> causes)
    {
        var count = 0;
        foreach (var kind in new[] { "exec", "httpGet", "tcpSocket" })
        {
            if (handler[kind] is not JsonObject action)
            {
                continue;
            }

            var actionAt = $"{at}.{kind}";
            if (count++ > 0)
            {
                causes.Add(Forbidden(actionAt, "may not specify more than 1 handler type"));
                continue;
            }

            switch (kind)
            {
                case "exec":
                    if ((action["command"] as JsonArray)?.Count is null or 0)
                    {
                        causes.Add(Required(actionAt + ".command", ""));
                    }

                    break;
                case "httpGet":
                    // An empty path is defaulted to "/" before these checks, so it is never missing here.
                    CheckPortNumOrName(action["port"], actionAt + ".port", causes);
                    if (Meta.Str(action["scheme"]) is { Length: > 0 } scheme && scheme is not ("HTTP" or "HTTPS"))
                    {
                        causes.Add(NotSupported(actionAt + ".scheme", scheme, "HTTP", "HTTPS"));
                    }

                    break;
                default:
                    CheckPortNumOrName(action["port"], actionAt + ".port", causes);
                    break;
            }
        }

        if (count == 0)
        {
            causes.Add(Required(at, "must specify a handler type"));
        }
    }

    private static void CheckPortNumOrName(JsonNode? port, string at, List<FieldCause> causes)
    {
        if (Meta.Str(port) is { } name)
        {
            causes.AddRange(PortNameErrors(name).Select(e => InvalidValue(at, name, e)));
        }
        else if ((Long(port) ?? 0) is var number && number is < 1 or > 65535)
        {
            causes.Add(InvalidValue(at, number, "must be between 1 and 65535, inclusive"));
        }
    }

    private static void CheckVolumeDevices(JsonObject container, string at, Dictionary<string, JsonObject> volumes, List<FieldCause> causes)
    {
        var devices = container["volumeDevices"] as JsonArray ?? [];
        var mounts = (container["volumeMounts"] as JsonArray ?? []).Select(m => (Name: Meta.Str(m?["name"]) ?? "", Path: Meta.Str(m?["mountPath"]) ?? "")).ToList();
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < devices.Count; i++)
        {
            var dat = $"{at}[{i}]";
            var name = Meta.Str(devices[i]?["name"]) ?? "";
            var path = Meta.Str(devices[i]?["devicePath"]) ?? "";
            var volume = volumes.GetValueOrDefault(name);
            if (name.Length == 0)
            {
                causes.Add(Required(dat + ".name", ""));
            }

            if (names.Contains(name))
            {
                causes.Add(InvalidValue(dat + ".name", name, "must be unique"));
            }

            if (volume is not null && volume["persistentVolumeClaim"] is not JsonObject)
            {
                causes.Add(InvalidValue(dat + ".name", name, "can only use volume source type of PersistentVolumeClaim for block mode"));
            }

            if (volume is null)
            {
                causes.Add(NotFound(dat + ".name", name));
            }

            if (path.Length == 0)
            {
                causes.Add(Required(dat + ".devicePath", ""));
            }

            if (paths.Contains(path))
            {
                causes.Add(InvalidValue(dat + ".devicePath", path, "must be unique"));
            }

            if (path.Split('/').Contains(".."))
            {
                causes.Add(InvalidValue(dat + ".devicePath", path, "can not contain backsteps ('..')"));
            }
            else
            {
                paths.Add(path);
            }

            if (mounts.Any(m => m.Name == name))
            {
                causes.Add(InvalidValue(dat + ".name", name, "must not already exist in volumeMounts"));
            }

            if (mounts.Any(m => m.Path == path))
            {
                causes.Add(InvalidValue(dat + ".devicePath", path, "must not already exist as a path in volumeMounts"));
            }

            if (name.Length > 0)
            {
                names.Add(name);
            }
        }
    }

    private static void CheckContainerSecurityContext(JsonObject sc, string at, List<FieldCause> causes)
    {
        CheckId(sc["runAsUser"], at + ".runAsUser", causes);
        CheckId(sc["runAsGroup"], at + ".runAsGroup", causes);
        CheckSeccomp(sc["seccompProfile"] as JsonObject, at + ".seccompProfile", causes);
        if (sc["allowPrivilegeEscalation"] is JsonValue ape && ape.TryGetValue<bool>(out var escalation) && !escalation)
        {
            // The real server shows the whole security context as Go writes the struct, pointers and all.
            const string Shown = "core.SecurityContext{...}";
            if (sc["privileged"] is JsonValue pv && pv.TryGetValue<bool>(out var privileged) && privileged)
            {
                causes.Add(new FieldCause("FieldValueInvalid", at, $"Invalid value: {Shown}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
            }

            foreach (var added in sc["capabilities"]?["add"] as JsonArray ?? [])
            {
                if (Meta.Str(added) == "CAP_SYS_ADMIN")
                {
                    causes.Add(new FieldCause("FieldValueInvalid", at, $"Invalid value: {Shown}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
                }
            }
        }
    }

    private static void CheckSeccomp(JsonObject? profile, string at, List<FieldCause> causes)
    {
        if (profile is null)
        {
            return;
        }

        var type = Meta.Str(profile["type"]) ?? "";
        if (type.Length == 0)
        {
            causes.Add(Required(at + ".type", "type is required when seccompProfile is set"));
        }
        else if (type is not ("Localhost" or "RuntimeDefault" or "Unconfined"))
        {
            causes.Add(NotSupported(at + ".type", type, "Localhost", "RuntimeDefault", "Unconfined"));
        }

        var localhost = Meta.Str(profile["localhostProfile"]);
        if (type == "Localhost")
        {
            if (localhost is null)
            {
                causes.Add(Required(at + ".localhostProfile", "must be set when seccomp type is Localhost"));
            }
            else
            {
                CheckLocalDescendingPath(localhost, at + ".localhostProfile", causes);
            }
        }
        else if (localhost is not null)
        {
            causes.Add(new FieldCause("FieldValueInvalid", at + ".localhostProfile", "Invalid value: core.SeccompProfile{...}: can only be set when seccomp type is Localhost"));
        }
    }
}
