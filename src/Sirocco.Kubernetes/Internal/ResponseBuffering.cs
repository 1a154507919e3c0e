namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Reads the whole body of a response that the typed client will deserialize, asynchronously, before handing it on.
/// KubernetesClient deserializes a response body synchronously from the network stream, so a thread-pool thread blocks
/// (on HTTP/2: spins, then waits) until the body has arrived; with hundreds of pod creations in flight that kept
/// thread-pool threads blocked and the pool spinning. Buffered here, the client reads from memory. Streams (watches,
/// pod logs, proxies, exec) pass through untouched.
/// </summary>
internal sealed class ResponseBuffering : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!IsWholeBody(request))
        {
            return response;
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Whether the request's answer is one document: not a watch, a log, a proxied or an upgraded stream.</summary>
    internal static bool IsWholeBody(HttpRequestMessage request)
    {
        var (verb, resource) = KubernetesMetrics.Describe(request.Method.Method, request.RequestUri);
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        return verb is not ("WATCH" or "CONNECT")
            && !path.Contains("/watch/", StringComparison.Ordinal)
            && !resource.EndsWith("/log", StringComparison.Ordinal)
            && !resource.EndsWith("/proxy", StringComparison.Ordinal)
            && !resource.EndsWith("/portforward", StringComparison.Ordinal);
    }
}
