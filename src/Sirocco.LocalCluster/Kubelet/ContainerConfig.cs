using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>Thrown when a container's configuration refers to something missing (a secret, a key).</summary>
internal sealed class ConfigMissingException : Exception
{
    public ConfigMissingException(string message)
        : base(message)
    {
    }

    public ConfigMissingException()
    {
    }

    public ConfigMissingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Resolves what a container needs from the API: environment, volume contents, referenced values.</summary>
internal static class ContainerConfig
{
    /// <summary>Where the compatibility shims appear inside every container.</summary>
    public const string CompatMountPath = "/opt/sirocco";

    /// <summary>The shims shipped with the local cluster (copied beside the assembly).</summary>
    public static readonly string CompatFolder = Path.Combine(AppContext.BaseDirectory, "sirocco-compat");

    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>The container's environment in order, or throws <see cref="ConfigMissingException"/>.</summary>
    /// <remarks>
    /// In an image, its Env comes after the defaults and before Kubernetes' service variables and the container's env;
    /// <paramref name="home"/> is the image user's home folder.
    /// </remarks>
    public static List<KeyValuePair<string, string>> Environment(ObjectStore store, V1Pod pod, V1Container container, ClusterContext cluster, IReadOnlyList<string>? imageEnv = null, string? home = null, string apiHost = "127.0.0.1", IReadOnlyList<KeyValuePair<string, string>>? network = null)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var env = new List<KeyValuePair<string, string>>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        void Set(string name, string value)
        {
            env.RemoveAll(e => e.Key == name);
            env.Add(new(name, value));
            values[name] = value;
        }

        Set("PATH", DefaultPath);
        Set("HOSTNAME", pod.Metadata.Name);
        Set("HOME", home ?? "/root");
        foreach (var entry in imageEnv ?? [])
        {
            // In the environment, but not for $(VAR) expansion: the kubelet does not see an image's Env.
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                var name = entry[..eq];
                env.RemoveAll(e => e.Key == name);
                env.Add(new(name, entry[(eq + 1)..]));
                values.Remove(name);
            }
        }

        var port = cluster.Port.ToString(CultureInfo.InvariantCulture);
        Set("KUBERNETES_SERVICE_HOST", apiHost);
        Set("KUBERNETES_SERVICE_PORT", port);
        Set("KUBERNETES_SERVICE_PORT_HTTPS", port);
        Set("KUBERNETES_PORT", $"tcp://{apiHost}:{port}");
        Set("KUBERNETES_PORT_443_TCP", $"tcp://{apiHost}:{port}");
        Set("KUBERNETES_PORT_443_TCP_PROTO", "tcp");
        Set("KUBERNETES_PORT_443_TCP_PORT", port);
        Set("KUBERNETES_PORT_443_TCP_ADDR", apiHost);
        foreach (var (name, value) in network ?? [])
        {
            Set(name, value); // the pod's proxy; the container's own env, set below, wins
        }

        // The host's perl stands in for perl images. Debian's perl 5.36 (bignum 0.66) dies in `perl -Mbignum=bpi -e
        // 'print bpi(2000)'`, which the seed's ex-all-configs runs and the perl:5.34 image handles; a shim fixes bpi.
        // The container's own env (set below) can override or clear these.
        if (imageEnv is null && container.Command is [var program, ..] && Path.GetFileName(program) == "perl" && Directory.Exists(CompatFolder))
        {
            Set("PERL5LIB", CompatMountPath + "/perl");
            Set("PERL5OPT", "-MSiroccoBignumFix");
        }

        foreach (var from in container.EnvFrom ?? [])
        {
            var prefix = from.Prefix ?? "";
            if (from.SecretRef is { } sr)
            {
                var data = SecretData(store, ns, sr.Name, sr.Optional == true);
                foreach (var (k, v) in data ?? [])
                {
                    Set(prefix + k, Encoding.UTF8.GetString(v));
                }
            }

            if (from.ConfigMapRef is { } cr)
            {
                var data = ConfigMapData(store, ns, cr.Name, cr.Optional == true);
                foreach (var (k, v) in data ?? [])
                {
                    Set(prefix + k, Encoding.UTF8.GetString(v));
                }
            }
        }

        foreach (var e in container.Env ?? [])
        {
            if (e.ValueFrom is null)
            {
                Set(e.Name, Expand(e.Value ?? "", values));
                continue;
            }

            var value = ValueFrom(store, pod, container, e.ValueFrom, cluster);
            if (value is not null)
            {
                Set(e.Name, value);
            }
        }

        return env;
    }

    private static string? ValueFrom(ObjectStore store, V1Pod pod, V1Container container, V1EnvVarSource source, ClusterContext cluster)
    {
        var ns = pod.Metadata.NamespaceProperty;
        if (source.SecretKeyRef is { } s)
        {
            var data = SecretData(store, ns, s.Name, s.Optional == true);
            if (data is null)
            {
                return null;
            }

            if (!data.TryGetValue(s.Key, out var bytes))
            {
                return s.Optional == true ? null : throw new ConfigMissingException($"couldn't find key {s.Key} in Secret {ns}/{s.Name}");
            }

            return Encoding.UTF8.GetString(bytes);
        }

        if (source.ConfigMapKeyRef is { } c)
        {
            var data = ConfigMapData(store, ns, c.Name, c.Optional == true);
            if (data is null)
            {
                return null;
            }

            if (!data.TryGetValue(c.Key, out var bytes))
            {
                return c.Optional == true ? null : throw new ConfigMissingException($"couldn't find key {c.Key} in ConfigMap {ns}/{c.Name}");
            }

            return Encoding.UTF8.GetString(bytes);
        }

        if (source.FieldRef is { } f)
        {
            return FieldValue(pod, f.FieldPath);
        }

        if (source.ResourceFieldRef is { } r)
        {
            var target = r.ContainerName is { Length: > 0 } cn
                ? (pod.Spec.Containers ?? []).Concat(pod.Spec.InitContainers ?? []).FirstOrDefault(x => x.Name == cn) ?? container
                : container;
            return ResourceValue(target, r.Resource, r.Divisor?.ToString(), cluster);
        }

        return null;
    }

    /// <summary>The value of a downward-API field path, or throws when the path is not supported.</summary>
    public static string FieldValue(V1Pod pod, string path)
    {
        static string MapValue(IDictionary<string, string>? map, string path, string prefix)
        {
            var key = path[(prefix.Length + 2)..^2];
            return map is not null && map.TryGetValue(key, out var v) ? v : "";
        }

        return path switch
        {
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty,
            "metadata.uid" => pod.Metadata.Uid,
            "metadata.labels" => string.Join("\n", (pod.Metadata.Labels ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}=\"{kv.Value}\"")),
            "metadata.annotations" => string.Join("\n", (pod.Metadata.Annotations ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}=\"{kv.Value}\"")),
            _ when path.StartsWith("metadata.labels['", StringComparison.Ordinal) => MapValue(pod.Metadata.Labels, path, "metadata.labels"),
            _ when path.StartsWith("metadata.annotations['", StringComparison.Ordinal) => MapValue(pod.Metadata.Annotations, path, "metadata.annotations"),
            "spec.nodeName" => pod.Spec.NodeName ?? "",
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "",
            "status.hostIP" or "status.podIP" or "status.hostIPs" or "status.podIPs" => "127.0.0.1",
            _ => throw new ConfigMissingException($"unsupported fieldPath: {path}"),
        };
    }

    private static string ResourceValue(V1Container container, string resource, string? divisor, ClusterContext cluster)
    {
        var parts = resource.Split('.');
        var map = parts[0] == "limits" ? container.Resources?.Limits : container.Resources?.Requests;
        decimal value;
        if (map is not null && map.TryGetValue(parts[^1], out var q))
        {
            value = Quantity.Parse(q.ToString());
        }
        else
        {
            value = parts[^1] switch
            {
                "cpu" => parts[0] == "limits" ? System.Environment.ProcessorCount : 0,
                "memory" => parts[0] == "limits" ? NodeInfo.MemoryBytes() : 0,
                _ => 0,
            };
        }

        var d = string.IsNullOrEmpty(divisor) ? 1m : Quantity.Parse(divisor);
        if (d == 0)
        {
            d = 1;
        }

        return Math.Ceiling(value / d).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: defined variables are replaced, <c>$$</c> escapes, the rest stays.</summary>
    public static string Expand(string input, IReadOnlyDictionary<string, string> values)
    {
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }

        var sb = new StringBuilder();
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] != '$' || i + 1 >= input.Length)
            {
                sb.Append(input[i]);
                continue;
            }

            var next = input[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i++;
            }
            else if (next == '(')
            {
                var close = input.IndexOf(')', i + 2);
                if (close < 0)
                {
                    sb.Append(input, i, input.Length - i);
                    break;
                }

                var name = input[(i + 2)..close];
                sb.Append(values.TryGetValue(name, out var v) ? v : $"$({name})");
                i = close;
            }
            else
            {
                sb.Append('$');
            }
        }

        return sb.ToString();
    }

    /// <summary>A secret's data, null when it is missing and optional; throws when missing and required.</summary>
    public static Dictionary<string, byte[]>? SecretData(ObjectStore store, string ns, string name, bool optional)
    {
        var stored = store.Get("secrets", ns, name);
        if (stored is null)
        {
            return optional ? null : throw new ConfigMissingException($"secret \"{name}\" not found");
        }

        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (stored.ToJson()["data"] is JsonObject data)
        {
            foreach (var (k, v) in data)
            {
                result[k] = Convert.FromBase64String(Meta.Str(v) ?? "");
            }
        }

        return result;
    }

    /// <summary>A config map's data and binary data, null when missing and optional; throws when missing and required.</summary>
    public static Dictionary<string, byte[]>? ConfigMapData(ObjectStore store, string ns, string name, bool optional)
    {
        var stored = store.Get("configmaps", ns, name);
        if (stored is null)
        {
            return optional ? null : throw new ConfigMissingException($"configmap \"{name}\" not found");
        }

        var obj = stored.ToJson();
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (obj["data"] is JsonObject data)
        {
            foreach (var (k, v) in data)
            {
                result[k] = Encoding.UTF8.GetBytes(Meta.Str(v) ?? "");
            }
        }

        if (obj["binaryData"] is JsonObject bin)
        {
            foreach (var (k, v) in bin)
            {
                result[k] = Convert.FromBase64String(Meta.Str(v) ?? "");
            }
        }

        return result;
    }
}
