using Sirocco.Google.Internal;

namespace Sirocco.Google;

/// <summary>How to reach a GKE cluster's API server: its endpoint and CA from the Container API, and Google tokens.</summary>
public sealed class GkeCluster
{
    private readonly ResolvedCredential _credential;

    internal GkeCluster(string name, Uri endpoint, string caCertificatePem, ResolvedCredential credential)
    {
        Name = name;
        Endpoint = endpoint;
        CaCertificatePem = caCertificatePem;
        _credential = credential;
    }

    /// <summary>The cluster's resource name, <c>projects/P/locations/L/clusters/C</c>.</summary>
    public string Name { get; }

    /// <summary>The API server, <c>https://</c> and the cluster's public (or, with use_internal_ip, private) endpoint.</summary>
    public Uri Endpoint { get; }

    /// <summary>The cluster's CA certificate (PEM), which the API server's certificate is checked against.</summary>
    public string CaCertificatePem { get; }

    /// <summary>Where the Google credentials came from (a connection's key, a key file, the metadata server).</summary>
    public string CredentialSource => _credential.Source;

    /// <summary>
    /// Identifies the credential (its connection, the connection's content and its key file's version): clients
    /// made for this cluster are kept per credential, so a rotated key gets a new client.
    /// </summary>
    public string CredentialKey => _credential.CacheKey;

    /// <summary>
    /// A Google access token for the API server: cached and refreshed before it expires, so a long pod keeps a valid
    /// token without a request per call.
    /// </summary>
    public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default) => _credential.AccessTokenAsync(cancellationToken);
}
