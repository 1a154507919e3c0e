using System.Collections.Concurrent;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>Records every request the Kubernetes client sends (method and path with query).</summary>
public sealed class CountingHandler : DelegatingHandler
{
    private readonly ConcurrentQueue<string> _sink;

    public CountingHandler(ConcurrentQueue<string> sink) => _sink = sink;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _sink.Enqueue($"{request.Method} {request.RequestUri?.PathAndQuery}");
        return base.SendAsync(request, cancellationToken);
    }
}
