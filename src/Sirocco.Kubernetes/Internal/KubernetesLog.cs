using Microsoft.Extensions.Logging;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// What the Kubernetes code tells whoever runs Sirocco (category <c>Sirocco.Kubernetes</c>). Each line is also in the
/// try's own log; here an operator sees a failing API server across all tries at once.
/// </summary>
internal static partial class KubernetesLog
{
    /// <summary>The category of the Kubernetes code's log.</summary>
    public const string Category = "Sirocco.Kubernetes";

    [LoggerMessage(1, LogLevel.Warning, "Kubernetes API {Server}: {What} failed (attempt {Attempt}): {Error}; retrying in {Seconds:0.0} s")]
    public static partial void Retrying(ILogger logger, string server, string what, int attempt, string? error, double seconds);

    [LoggerMessage(2, LogLevel.Error, "Kubernetes API {Server} unreachable: {What} kept failing for {Budget:0} s, {Attempts} attempts; last error: {Error}")]
    public static partial void GaveUp(ILogger logger, string server, string what, double budget, int attempts, string error);

    [LoggerMessage(3, LogLevel.Error, "Kubernetes API {Server}: {What} failed: {Error}")]
    public static partial void Refused(ILogger logger, string server, string what, string error);
}
