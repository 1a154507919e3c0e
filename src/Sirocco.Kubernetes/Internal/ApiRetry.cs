using System.Globalization;
using System.Net;
using k8s.Autorest;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Retries transient Kubernetes API failures (connection refused or reset, timeouts, 429 with its Retry-After, 500,
/// 502, 503, 504) with exponential backoff and jitter, within a total time budget
/// (<c>[kubernetes] api_retry_budget_seconds</c>). Every retry is written to the caller's log (what failed, the
/// attempt, the next delay); when the budget is spent the call fails with a message naming the server and the last
/// error. Failures that retrying cannot fix (TLS, 401, 403) fail at once, named the same way.
/// </summary>
internal sealed class ApiRetry
{
    private static readonly ResiliencePropertyKey<CallState> StateKey = new("sirocco.api-call");
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
                OnRetry = args =>
                {
                    if (args.Context.Properties.TryGetValue(StateKey, out var state) && args.Outcome.Exception is { } e)
                    {
                        state.Attempts = args.AttemptNumber + 1;
                        state.LastError = Describe(e);
                        state.Log?.Invoke(
                            $"Kubernetes API {state.Server}: {state.What} failed (attempt {state.Attempts}): {state.LastError}; "
                            + $"retrying in {args.RetryDelay.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
                        KubernetesLog.Retrying(options.Logger, state.Server, state.What, state.Attempts, state.LastError, args.RetryDelay.TotalSeconds);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Retries <paramref name="call"/> on <paramref name="server"/>, writing each retry to <paramref name="log"/>. The
    /// budget's expiry, and a failure retrying cannot fix, surface as a <see cref="SiroccoException"/> naming both.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, Action<string>? log = null, string? server = null)
    {
        var state = new CallState(what, server ?? "(unknown server)", log);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, state);
        try
        {
            return await _pipeline.ExecuteAsync(static async (ctx, c) => await c(ctx.CancellationToken).ConfigureAwait(false), context, call).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            KubernetesLog.GaveUp(_options.Logger, state.Server, what, _options.RetryBudget.TotalSeconds, state.Attempts, state.LastError ?? "the call did not answer");
            throw new SiroccoException(
                $"Kubernetes API {state.Server} unreachable: {what} kept failing for {_options.RetryBudget.TotalSeconds:0} s "
                + $"([kubernetes] api_retry_budget_seconds), {state.Attempts} attempts; last error: {state.LastError ?? "the call did not answer"}",
                e);
        }
        catch (Exception e) when (IsPermanentAccessFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            KubernetesLog.Refused(_options.Logger, state.Server, what, Describe(e));
            throw new SiroccoException($"Kubernetes API {state.Server}: {what} failed: {Describe(e)}", e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Retries a call without result.</summary>
    public Task ExecuteAsync(string what, Func<CancellationToken, Task> call, CancellationToken cancellationToken, Action<string>? log = null, string? server = null) =>
        ExecuteAsync<bool>(
            what,
            async ct =>
            {
                await call(ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken,
            log,
            server);

    /// <summary>One line for an API failure: the status and the server's message, or the network error with its cause.</summary>
    public static string Describe(Exception e)
    {
        switch (e)
        {
            case HttpOperationException { Response: { } response } h:
                var body = response.Content;
                string? message = null;
                if (!string.IsNullOrEmpty(body) && body.TrimStart().StartsWith('{'))
                {
                    try
                    {
                        using var doc = System.Text.Json.JsonDocument.Parse(body);
                        message = doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null;
                    }
                    catch (System.Text.Json.JsonException)
                    {
                        // Not a Status: the raw body below.
                    }
                }

                message ??= string.IsNullOrWhiteSpace(body) ? h.Message : body.Trim();
                var hint = response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized => " (the credentials were refused: check the kubeconfig's user or token)",
                    HttpStatusCode.Forbidden => " (the account lacks the RBAC permission)",
                    _ => string.Empty,
                };
                return $"{(int)response.StatusCode} {response.StatusCode}: {Truncate(message)}{hint}";
            case HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException tls }:
                return $"TLS handshake failed: {tls.Message}{(tls.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}";
            case HttpRequestException { InnerException: System.Net.Sockets.SocketException socket }:
                return $"{socket.SocketErrorCode}: {socket.Message}";
            case HttpRequestException h:
                return h.InnerException is { } cause ? $"{h.Message} ({cause.Message})" : h.Message;
            case TaskCanceledException or TimeoutException:
                return "no answer within the HTTP timeout";
            default:
                return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>A failure no retry fixes: the TLS handshake, or credentials the server refuses (401) or that lack permission (403).</summary>
    public static bool IsPermanentAccessFailure(Exception e) => e switch
    {
        HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException } => true,
        HttpOperationException h => h.Response?.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden,
        _ => false,
    };

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";

    public static bool IsTransient(Exception e) => e switch
    {
        HttpOperationException h => IsTransientStatus(h.Response?.StatusCode ?? 0),
        HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException } => false,
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

    /// <summary>What one call is, where it goes, who hears its retries, and how it fared so far.</summary>
    private sealed class CallState(string what, string server, Action<string>? log)
    {
        public string What { get; } = what;

        public string Server { get; } = server;

        public Action<string>? Log { get; } = log;

        public int Attempts { get; set; } = 1;

        public string? LastError { get; set; }
    }
}
