using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using k8s.Exceptions;
using Sirocco.Connections;

namespace Sirocco.Kubernetes.Internal;

/// <summary>A client configuration and what else the connection decided.</summary>
internal sealed record ResolvedConfig(
    KubernetesClientConfiguration Configuration,
    string CacheKey,
    string Source,
    string DefaultNamespace,
    string? SidecarImage,
    V1ResourceRequirements? SidecarResources = null,
    V1SecurityContext? SidecarSecurityContext = null);

/// <summary>
/// Finds the cluster of a try, in this order: the operator's <c>in_cluster</c>; its <c>config_file</c>; the connection's
/// extras (<c>in_cluster</c>, <c>kube_config_path</c>, <c>kube_config</c>); <c>[kubernetes] in_cluster = True</c>; the
/// in-cluster service account when running in a pod; <c>$KUBECONFIG</c> or <c>~/.kube/config</c>. Errors name the file or connection at fault.
/// </summary>
internal static class ClientResolver
{
    public const string DefaultConnId = "kubernetes_default";
    private const string InClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    public static async Task<ResolvedConfig> ResolveAsync(
        KubernetesPodOperator op,
        ConnectionAccessor? connections,
        Sirocco.Configuration.SiroccoConfig? config,
        IReadOnlyDictionary<string, string> environment,
        CancellationToken cancellationToken,
        IServiceProvider? services = null)
    {
        Connection? connection = null;

        // A GKE task's cluster comes from Google, as the provider's GKE hook has it: no Kubernetes connection is read
        // (its TLS or namespace settings are for another cluster).
        var gke = op is GKEStartPodOperator && op.ConfigFile is not { Length: > 0 };
        if (!gke && op.KubernetesConnId is { Length: > 0 } id && connections is not null)
        {
            connection = await connections.FindAsync(id, cancellationToken).ConfigureAwait(false);
            if (connection is null && id != DefaultConnId)
            {
                throw new ConnectionNotFoundException(id);
            }
        }

        return await ResolveAsync(op, connection, connections, config, environment, services, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The cluster of <paramref name="op"/> with <paramref name="connection"/> as its Kubernetes connection (none: the
    /// defaults), as a try would resolve it; the connection form's Test button resolves the connection being edited so.
    /// <paramref name="connections"/> finds a GKE task's Google connection.
    /// </summary>
    public static async Task<ResolvedConfig> ResolveAsync(
        KubernetesPodOperator op,
        Connection? connection,
        ConnectionAccessor? connections,
        Sirocco.Configuration.SiroccoConfig? config,
        IReadOnlyDictionary<string, string> environment,
        IServiceProvider? services,
        CancellationToken cancellationToken)
    {
        var extras = connection?.ExtraDejson() ?? [];
        var connId = connection?.ConnId;

        string? Extra(string name) =>
            (extras[name] ?? extras["extra__kubernetes__" + name]) is JsonValue v && v.ToString() is { Length: > 0 } s ? s : null;
        bool? ExtraBool(string name) => Extra(name)?.ToLowerInvariant() switch
        {
            null => null,
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            var other => throw new SiroccoException($"connection '{connId}': extra '{name}' must be true or false, got '{other}'"),
        };

        var context = op.ClusterContext ?? Extra("cluster_context");
        var skipTls = ExtraBool("disable_verify_ssl") ?? false;
        var inCluster = op.InCluster ?? ExtraBool("in_cluster");
        var sidecar = Extra("xcom_sidecar_container_image") ?? config?.Get("kubernetes", "xcom_sidecar_container_image", null);
        var connNamespace = Extra("namespace");

        // The sidecar's resources and security context: a JSON object in the extra, or its text (the provider's extras).
        T? ExtraModel<T>(string name)
            where T : class
        {
            var node = extras[name] ?? extras["extra__kubernetes__" + name];
            var text = node switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var s) => s.Length == 0 ? null : s,
                _ => node.ToJsonString(),
            };
            if (text is null)
            {
                return null;
            }

            try
            {
                return KubernetesJson.Deserialize<T>(text);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
            {
                throw new SiroccoException($"connection '{connId}': extra '{name}' must be a JSON object of a {typeof(T).Name[2..]}: {e.Message}", e);
            }
        }

        var sidecarResources = ExtraModel<V1ResourceRequirements>("xcom_sidecar_container_resources");
        var sidecarSecurity = ExtraModel<V1SecurityContext>("xcom_sidecar_container_security_context");

        ResolvedConfig Done(KubernetesClientConfiguration c, string key, string source, bool inClusterNs = false)
        {
            c.SkipTlsVerify = c.SkipTlsVerify || skipTls;
            var ns = connNamespace
                ?? (inClusterNs && File.Exists(InClusterNamespaceFile) ? File.ReadAllText(InClusterNamespaceFile).Trim() : null)
                ?? "default";
            return new ResolvedConfig(c, $"{key}|ctx={context}|skip={skipTls}", source, ns, sidecar, sidecarResources, sidecarSecurity);
        }

        if (op.InCluster == true && op.ConfigFile is { Length: > 0 })
        {
            throw new SiroccoException($"task {op.TaskId}: in_cluster and config_file '{op.ConfigFile}' are mutually exclusive");
        }

        if (op is GKEStartPodOperator gke && op.ConfigFile is not { Length: > 0 })
        {
            var (c, key, source) = await GkeAsync(gke, connections, services, cancellationToken).ConfigureAwait(false);
            return Done(c, key, source);
        }

        if (op.InCluster == true)
        {
            return Done(InCluster("in_cluster"), "in-cluster", "in-cluster", inClusterNs: true);
        }

        if (op.ConfigFile is { Length: > 0 } file)
        {
            var (c, key) = await FromFileAsync(file, context, skipTls, "config_file").ConfigureAwait(false);
            return Done(c, key, $"config_file {file}");
        }

        if (inCluster == true)
        {
            return Done(InCluster($"connection '{connId}' in_cluster"), "in-cluster", "in-cluster", inClusterNs: true);
        }

        if (Extra("kube_config_path") is { } path)
        {
            var (c, key) = await FromFileAsync(path, context, skipTls, $"connection '{connId}' kube_config_path").ConfigureAwait(false);
            return Done(c, key, $"connection {connId} kube_config_path {path}");
        }

        if ((extras["kube_config"] ?? extras["extra__kubernetes__kube_config"]) is { } inline)
        {
            var text = inline is JsonValue v ? v.ToString() : inline.ToJsonString();
            return Done(FromText(text, context, connId!), "inline:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), $"connection {connId} kube_config");
        }

        if (config is not null && config.GetBool("kubernetes", "in_cluster"))
        {
            // The deployment's default (deploy/kubernetes sets it): the pod's own service account, unless the task or
            // its connection named a cluster above.
            return Done(InCluster("[kubernetes] in_cluster"), "in-cluster", "in-cluster", inClusterNs: true);
        }

        if (environment.TryGetValue("KUBERNETES_SERVICE_HOST", out var host) && host.Length > 0)
        {
            return Done(InCluster("in-cluster"), "in-cluster", "in-cluster", inClusterNs: true);
        }

        var fallback = environment.TryGetValue("KUBECONFIG", out var kubeconfig) && kubeconfig.Length > 0
            ? kubeconfig.Split(':')[0]
            : Path.Combine(environment.TryGetValue("HOME", out var home) && home.Length > 0 ? home : "/root", ".kube", "config");
        if (!File.Exists(fallback))
        {
            throw new SiroccoException(
                $"no Kubernetes configuration for task {op.TaskId}: set config_file, or kube_config_path in connection '{op.KubernetesConnId ?? DefaultConnId}', or create {fallback}");
        }

        var (parsed, fileKey) = await FromFileAsync(fallback, context, skipTls, "default kubeconfig").ConfigureAwait(false);
        return Done(parsed, fileKey, $"kubeconfig {fallback}");
    }

    /// <summary>
    /// A GKE cluster's endpoint and CA from the Container API, authenticated with Google tokens (refreshed by the
    /// credential while the pod runs), as the Google provider's GKEStartPodOperator does.
    /// </summary>
    private static async Task<(KubernetesClientConfiguration Config, string Key, string Source)> GkeAsync(
        GKEStartPodOperator op, ConnectionAccessor? connections, IServiceProvider? services, CancellationToken cancellationToken)
    {
        var google = Sirocco.Google.GoogleCloud.From(services, $"task {op.TaskId}");
        var cluster = await google.GetClusterAsync(connections, op.GcpConnId, string.IsNullOrEmpty(op.ProjectId) ? null : op.ProjectId, op.Location!, op.ClusterName!, op.UseInternalIp, cancellationToken, op.ImpersonationChain).ConfigureAwait(false);
        var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        try
        {
            ca.ImportFromPem(cluster.CaCertificatePem);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new SiroccoException($"GKE cluster {cluster.Name}: its CA certificate cannot be read: {e.Message}", e);
        }

        var config = new KubernetesClientConfiguration
        {
            Host = cluster.Endpoint.ToString(),
            SslCaCerts = ca,
            TokenProvider = new GkeTokenProvider(cluster),
        };
        var key = $"gke:{cluster.Name}|{cluster.Endpoint}|{cluster.CredentialKey}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cluster.CaCertificatePem)))}";
        return (config, key, $"GKE cluster {cluster.Name} ({cluster.Endpoint}, credentials from {cluster.CredentialSource})");
    }

    /// <summary>Bearer tokens for a GKE API server from the cluster's Google credential.</summary>
    private sealed class GkeTokenProvider(Sirocco.Google.GkeCluster cluster) : k8s.Authentication.ITokenProvider
    {
        public async Task<System.Net.Http.Headers.AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken) =>
            new("Bearer", await cluster.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false));
    }

    private static string FileKey(string path)
    {
        var info = new FileInfo(path);
        return $"file:{info.FullName}:{(info.Exists ? info.LastWriteTimeUtc.Ticks : 0)}:{(info.Exists ? info.Length : 0)}";
    }

    /// <summary>
    /// Kubeconfig files parsed, by file version, context and TLS choice. Every try of a task reads the same file: it is
    /// parsed once (asynchronously, with one read in flight for all the tries that start together), not once per try,
    /// and never by a thread blocked on the file. A changed file has a new key.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<KubernetesClientConfiguration>>> ParsedFiles = new(StringComparer.Ordinal);

    private const int MaxParsedFiles = 256;

    /// <summary>The parsed file and its version key (path, modification time, length), read once per try.</summary>
    private static async Task<(KubernetesClientConfiguration Config, string FileKey)> FromFileAsync(string path, string? context, bool skipTls, string what)
    {
        if (!File.Exists(path))
        {
            throw new SiroccoException($"{what} '{path}' does not exist");
        }

        if (ParsedFiles.Count > MaxParsedFiles)
        {
            ParsedFiles.Clear();
        }

        var fileKey = FileKey(path);
        var key = $"{fileKey}|ctx={context}|skip={skipTls}";
        var parsed = ParsedFiles.GetOrAdd(key, _ => new Lazy<Task<KubernetesClientConfiguration>>(() => ParseFileAsync(path, context)));
        try
        {
            return (await parsed.Value.ConfigureAwait(false), fileKey);
        }
        catch (Exception e) when (e is KubeConfigException or YamlDotNet.Core.YamlException or ArgumentException or FormatException or InvalidOperationException or NullReferenceException or IOException)
        {
            ParsedFiles.TryRemove(new KeyValuePair<string, Lazy<Task<KubernetesClientConfiguration>>>(key, parsed));
            throw new SiroccoException($"{what} '{path}' is not a valid kubeconfig: {e.Message}", e);
        }
    }

    private static async Task<KubernetesClientConfiguration> ParseFileAsync(string path, string? context) =>
        await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(path), currentContext: context).ConfigureAwait(false);

    private static KubernetesClientConfiguration FromText(string text, string? context, string connId)
    {
        try
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(stream, currentContext: context);
        }
        catch (Exception e) when (e is KubeConfigException or YamlDotNet.Core.YamlException or ArgumentException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new SiroccoException($"connection '{connId}': kube_config is not a valid kubeconfig: {e.Message}", e);
        }
    }

    private static KubernetesClientConfiguration InCluster(string what)
    {
        try
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }
        catch (KubeConfigException e)
        {
            throw new SiroccoException($"{what}: not running inside a Kubernetes pod ({e.Message})", e);
        }
    }
}
