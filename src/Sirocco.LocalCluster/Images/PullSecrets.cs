using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Images;

/// <summary>
/// The registry credentials a pod may use, as the kubelet finds them: the pod's <c>imagePullSecrets</c>, then its
/// service account's, each a Secret of type <c>kubernetes.io/dockerconfigjson</c> (or the older
/// <c>kubernetes.io/dockercfg</c>). A secret's entry matches a registry by host (with or without scheme and path;
/// Docker Hub's <c>https://index.docker.io/v1/</c> for <c>docker.io</c>).
/// </summary>
internal static class PullSecrets
{
    public static List<RegistryCredential> For(ObjectStore store, V1Pod pod, ImageReference image)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var names = (pod.Spec.ImagePullSecrets ?? []).Select(r => r.Name).ToList();
        var account = store.Get("serviceaccounts", ns, pod.Spec.ServiceAccountName ?? "default");
        if (account?.ToJson()["imagePullSecrets"] is JsonArray fromAccount)
        {
            names.AddRange(fromAccount.Select(r => r?["name"]?.GetValue<string>() ?? "").Where(n => n.Length > 0));
        }

        var result = new List<RegistryCredential>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (store.Get("secrets", ns, name)?.ToJson() is not { } secret || secret["data"] is not JsonObject data)
            {
                continue;
            }

            var auths = Decode(data[".dockerconfigjson"]) is { } config ? config["auths"] as JsonObject
                : Decode(data[".dockercfg"]) as JsonObject;
            foreach (var (key, entry) in auths ?? [])
            {
                if (Host(key) == image.Registry && Credential(entry) is { } credential && !result.Contains(credential))
                {
                    result.Add(credential);
                }
            }
        }

        return result;
    }

    private static JsonNode? Decode(JsonNode? value)
    {
        if (Meta.Str(value) is not { Length: > 0 } base64)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(Convert.FromBase64String(base64));
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static RegistryCredential? Credential(JsonNode? entry)
    {
        if (entry is not JsonObject)
        {
            return null;
        }

        if (entry["username"] is JsonValue u && u.TryGetValue<string>(out var user) && entry["password"] is JsonValue p && p.TryGetValue<string>(out var password))
        {
            return new RegistryCredential(user, password);
        }

        if (entry["auth"] is JsonValue a && a.TryGetValue<string>(out var auth) && auth.Length > 0)
        {
            string text;
            try
            {
                text = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            }
            catch (FormatException)
            {
                // Not base64: the entry is skipped, as the kubelet skips it.
                return null;
            }

            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 ? new RegistryCredential(text[..colon], text[(colon + 1)..]) : null;
        }

        return null;
    }

    /// <summary>The registry a config key names, normalised as image names are.</summary>
    internal static string Host(string key)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        var slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }

        return host is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? ImageReference.DockerHub : host;
    }
}
