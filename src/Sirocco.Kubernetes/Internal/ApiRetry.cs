using System.Net;
using k8s.Autorest;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Retries transient Kubernetes API failures (connection refused or reset, timeouts, 429 with its Retry-After, 500,
/// 502, 503, 504) with exponential backoff and jitter, within a total time budget.
/// </summary>
internal sealed class ApiRetry
{
    private readonly ResiliencePipeline _pipeline;
    private readonly KubernetesRuntimeOptions _options;

    public ApiRetry(KubernetesRuntimeOptions options, TimeProvider time)
    {
        _options = options;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddTimeout(new TimeoutStrategyOptions { Timeout = options.RetryBudget })
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && !args.Context.CancellationToken.IsCancellationRequested && IsTransient(e)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.FirstRetryDelay,
                MaxDelay = options.MaxRetryDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Exception)),
            })
            .Build();
    }

    /// <summary>Retries <paramref name="call"/>; the budget's expiry surfaces the last error with the budget named.</summary>
    public async Task<T> ExecuteAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async ct => await call(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new SiroccoException(
                $"Kubernetes API unreachable: {what} kept failing for {_options.RetryBudget.TotalSeconds:0}s", e);
        }
    }

    /// <summary>Retries a call without result.</summary>
    public Task ExecuteAsync(string what, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        ExecuteAsync<bool>(
            what,
            async ct =>
            {
                await call(ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    public static bool IsTransient(Exception e) => e switch
    {
        HttpOperationException h => IsTransientStatus(h.Response?.StatusCode ?? 0),
        HttpRequestException => true,
        IOException => true,
        System.Net.WebSockets.WebSocketException => true,
        TaskCanceledException => true, // an HTTP timeout: real cancellation is excluded by the caller
        k8s.KubernetesException k => k.Status?.Code is { } code && IsTransientStatus((HttpStatusCode)code),
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode code) =>
        code is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    public static HttpStatusCode? StatusOf(Exception e) => e switch
    {
        HttpOperationException h => h.Response?.StatusCode,
        k8s.KubernetesException k when k.Status?.Code is { } code => (HttpStatusCode)code,
        _ => null,
    };

    private static TimeSpan? RetryAfter(Exception? e)
    {
        if (e is HttpOperationException { Response: { } response }
            && response.Headers.TryGetValue("Retry-After", out var values)
            && values.FirstOrDefault() is { } text
            && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 60));
        }

        return null;
    }
}
