using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Google.Internal;

namespace Sirocco.Google;

/// <summary>
/// The process's access to Google Cloud, shared by every try: credentials per connection (one token request per
/// token lifetime), GKE clusters read from the Container API (one read per cluster per
/// <see cref="GoogleCloudOptions.ClusterCacheLifetime"/>), and the API clients. Built by the composition root
/// (options from <see cref="GoogleCloudServices.ReadOptions"/>) and found by operators in <see cref="TaskExecutionContext.Services"/>.
/// </summary>
public sealed class GoogleCloud : IDisposable
{
    private readonly ConcurrentDictionary<string, (Lazy<Task<GkeCluster>> Cluster, DateTimeOffset ReadAt)> _clusters = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates the access with <paramref name="options"/>.</summary>
    public GoogleCloud(GoogleCloudOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _time = time ?? TimeProvider.System;
        Credentials = new GoogleCredentials(options);
        Container = new ContainerApi(options);
    }

    /// <summary>The endpoints and environment this access uses.</summary>
    public GoogleCloudOptions Options { get; }

    /// <summary>How many Container API requests this process has sent.</summary>
    public int ContainerApiRequests => Container.Requests;

    internal GoogleCredentials Credentials { get; }

    internal ContainerApi Container { get; }

    /// <summary>The process's Google access in <paramref name="services"/>, or a clear error when it has none.</summary>
    public static GoogleCloud From(IServiceProvider? services, string who) =>
        services?.GetService(typeof(GoogleCloud)) as GoogleCloud
        ?? throw new SiroccoException($"{who}: no Google Cloud access in this process: the composition root must add a GoogleCloud to its RuntimeServices");

    /// <summary>
    /// The API server of GKE cluster <c>projects/<paramref name="project"/>/locations/<paramref name="location"/>/clusters/<paramref name="cluster"/></c>
    /// (the project of the connection or its key when <paramref name="project"/> is null),
    /// read with the credentials of connection <paramref name="gcpConnId"/> (application default credentials when it
    /// is <c>google_cloud_default</c> and not defined), impersonating <paramref name="impersonationChain"/> when given
    /// (an account, or a list whose last account is impersonated through the others).
    /// </summary>
    public async Task<GkeCluster> GetClusterAsync(
        ConnectionAccessor? connections,
        string gcpConnId,
        string? project,
        string location,
        string cluster,
        bool useInternalIp,
        CancellationToken cancellationToken = default,
        object? impersonationChain = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(gcpConnId);
        var credential = await Credentials.ResolveAsync(connections, gcpConnId, cancellationToken, impersonationChain).ConfigureAwait(false);
        project ??= credential.Project
            ?? throw new SiroccoException($"GKE cluster {cluster} in {location}: no project_id, and the credentials of '{gcpConnId}' name no project");
        var key = $"{credential.CacheKey}|{ContainerApi.ClusterPath(project, location, cluster)}|{useInternalIp}";
        var now = _time.GetUtcNow();
        var entry = _clusters.AddOrUpdate(
            key,
            _ => (Read(), now),
            (_, old) => now - old.ReadAt > Options.ClusterCacheLifetime || old.Cluster.Value.IsFaulted || old.Cluster.Value.IsCanceled ? (Read(), now) : old);
        return await entry.Cluster.Value.WaitAsync(cancellationToken).ConfigureAwait(false);

        Lazy<Task<GkeCluster>> Read() => new(() => ReadClusterAsync(credential, project, location, cluster, useInternalIp));
    }

    /// <summary>Forgets what was read of a cluster (after it was created or deleted by this process).</summary>
    internal void Forget(string project, string location, string cluster)
    {
        var path = "|" + ContainerApi.ClusterPath(project, location, cluster) + "|";
        foreach (var key in _clusters.Keys.Where(k => k.Contains(path, StringComparison.Ordinal)))
        {
            _clusters.TryRemove(key, out _);
        }
    }

    private async Task<GkeCluster> ReadClusterAsync(ResolvedCredential credential, string project, string location, string cluster, bool useInternalIp)
    {
        // Shared by every try asking for this cluster, so it is not cancelled by one of them; the request is bounded.
        var json = await Container.GetClusterAsync(project, location, cluster, credential, CancellationToken.None).ConfigureAwait(false);
        var name = ContainerApi.ClusterPath(project, location, cluster);
        var endpoint = useInternalIp
            ? json["privateClusterConfig"]?["privateEndpoint"]?.GetValue<string>()
                ?? throw new SiroccoException($"GKE cluster {name} has no private endpoint (privateClusterConfig.privateEndpoint), but use_internal_ip is set")
            : json["endpoint"]?.GetValue<string>();
        if (string.IsNullOrEmpty(endpoint))
        {
            throw new SiroccoException($"GKE cluster {name} has no endpoint yet (status {json["status"]?.GetValue<string>() ?? "unknown"})");
        }

        var ca = json["masterAuth"]?["clusterCaCertificate"]?.GetValue<string>()
            ?? throw new SiroccoException($"GKE cluster {name} has no masterAuth.clusterCaCertificate");
        string pem;
        try
        {
            pem = Encoding.UTF8.GetString(Convert.FromBase64String(ca));
        }
        catch (FormatException e)
        {
            throw new SiroccoException($"GKE cluster {name}: masterAuth.clusterCaCertificate is not base64: {e.Message}", e);
        }

        return new GkeCluster(name, new Uri("https://" + endpoint), pem, credential);
    }

    /// <summary>Disposes the API clients.</summary>
    public void Dispose() => Container.Dispose();

    /// <summary>Parses a JSON object option; the error names <paramref name="what"/>.</summary>
    public static JsonObject ParseObject(string text, string what)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new SiroccoException($"{what} must be a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new SiroccoException($"{what} is not valid JSON: {e.Message}", e);
        }
    }
}
