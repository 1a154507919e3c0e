using System.Net;
using System.Text.Json.Nodes;

namespace Sirocco.Google.Internal;

/// <summary>The Kubernetes Engine API v1 calls the GKE operators make: read, create and delete a cluster, and poll its operations.</summary>
internal sealed class ContainerApi : IDisposable
{
    private readonly GoogleRest _rest;

    public ContainerApi(GoogleCloudOptions options)
    {
        _rest = new GoogleRest(options.ContainerApiEndpoint, "Kubernetes Engine API", options.RequestTimeout);
    }

    public int Requests => _rest.Requests;

    public static string ClusterPath(string project, string location, string cluster) =>
        $"projects/{Segment(project)}/locations/{Segment(location)}/clusters/{Segment(cluster)}";

    /// <summary>A templated value as one path segment (a slash or a query character in it cannot reach another resource).</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    public Task<JsonObject> GetClusterAsync(string project, string location, string cluster, ResolvedCredential credential, CancellationToken cancellationToken) =>
        _rest.SendAsync(HttpMethod.Get, "v1/" + ClusterPath(project, location, cluster), null, credential, cancellationToken);

    /// <summary>Creates a cluster and returns its operation; null when it already exists (409), as the provider treats it.</summary>
    public async Task<JsonObject?> CreateClusterAsync(string project, string location, JsonObject cluster, ResolvedCredential credential, CancellationToken cancellationToken)
    {
        try
        {
            return await _rest.SendAsync(HttpMethod.Post, $"v1/projects/{Segment(project)}/locations/{Segment(location)}/clusters", new JsonObject { ["cluster"] = cluster }, credential, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.Status == HttpStatusCode.Conflict)
        {
            return null;
        }
    }

    /// <summary>Deletes a cluster and returns its operation; null when there is no such cluster (404), as the provider treats it.</summary>
    public async Task<JsonObject?> DeleteClusterAsync(string project, string location, string cluster, ResolvedCredential credential, CancellationToken cancellationToken)
    {
        try
        {
            return await _rest.SendAsync(HttpMethod.Delete, "v1/" + ClusterPath(project, location, cluster), null, credential, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Polls an operation until it is DONE; an operation that ends with an error throws it.</summary>
    public async Task<JsonObject> WaitAsync(string project, string location, JsonObject operation, ResolvedCredential credential, TimeSpan pollInterval, Action<string> log, CancellationToken cancellationToken)
    {
        var name = operation["name"]?.GetValue<string>() ?? throw new SiroccoException("Kubernetes Engine API: an operation without a name");
        while (true)
        {
            var status = operation["status"]?.GetValue<string>();
            if (status == "DONE")
            {
                if (operation["error"] is JsonObject error)
                {
                    throw new SiroccoException($"Kubernetes Engine operation {name} failed: {error["message"]?.GetValue<string>() ?? error.ToJsonString()}");
                }

                if (operation["statusMessage"]?.GetValue<string>() is { Length: > 0 } failure)
                {
                    throw new SiroccoException($"Kubernetes Engine operation {name} failed: {failure}");
                }

                return operation;
            }

            log($"Operation {name} ({operation["operationType"]?.GetValue<string>()}) is {status}; polling again in {pollInterval.TotalSeconds:0.##} s");
            await Task.Delay(pollInterval, cancellationToken).ConfigureAwait(false);
            operation = await _rest.SendAsync(HttpMethod.Get, $"v1/projects/{Segment(project)}/locations/{Segment(location)}/operations/{Segment(name)}", null, credential, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => _rest.Dispose();
}
