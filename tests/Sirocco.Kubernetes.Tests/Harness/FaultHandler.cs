using System.Net;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>
/// Fails chosen requests of the real client before or after they reach the real API server: a status answered in
/// the server's place, or the server's answer replaced (a response lost on the way back).
/// </summary>
public sealed class FaultHandler : DelegatingHandler
{
    private readonly Func<HttpRequestMessage, int, Fault?> _decide;
    private int _count;

    public FaultHandler(Func<HttpRequestMessage, int, Fault?> decide) => _decide = decide;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _count);
        var fault = _decide(request, n);
        if (fault is null)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        if (fault.AfterServer)
        {
            using var real = await base.SendAsync(request, cancellationToken);
        }

        var response = new HttpResponseMessage(fault.Status)
        {
            RequestMessage = request,
            Content = new StringContent(fault.Body ?? $$"""{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected {{(int)fault.Status}}","code":{{(int)fault.Status}}}"""),
        };
        if (fault.RetryAfterSeconds is { } seconds)
        {
            response.Headers.TryAddWithoutValidation("Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return response;
    }
}

/// <summary>One injected failure; <paramref name="Body"/> replaces the default Status body.</summary>
public sealed record Fault(HttpStatusCode Status, bool AfterServer = false, int? RetryAfterSeconds = null, string? Body = null);
