using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Sirocco.Scheduler;

namespace Sirocco.Cli;

/// <summary>
/// Prometheus for a scheduler process that runs no web server: <c>[metrics] prometheus_port</c> (empty: off) on
/// <c>[metrics] prometheus_host</c> (127.0.0.1) serves the scheduler's metrics at <c>/metrics</c>.
/// </summary>
internal static class MetricsEndpoint
{
    public static IDisposable? Start(CliContext ctx)
    {
        var text = ctx.Config.Get("metrics", "prometheus_port", string.Empty)!.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new SiroccoException($"[metrics] prometheus_port '{text}' is not a port number (1-65535)");
        }

        var host = ctx.Config.Get("metrics", "prometheus_host", "127.0.0.1")!.Trim();
        var prefix = string.Create(CultureInfo.InvariantCulture, $"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}/");
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(SchedulerMetrics.MeterName)
            .AddPrometheusHttpListener(o =>
            {
                o.Host = host;
                o.Port = port;
                o.ScrapeEndpointPath = "/metrics";
            })
            .Build();
        ctx.Out.WriteLine($"Metrics: {prefix}metrics (Prometheus)");
        return provider;
    }
}
