using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Sirocco.Cli;

/// <summary>
/// Metrics and traces of a long-running command, with Airflow's options:
/// <list type="bullet">
/// <item><c>[metrics] prometheus_port</c> (empty: off) on <c>[metrics] prometheus_host</c>: Prometheus at <c>/metrics</c>
/// for a scheduler process that runs no web server (the web server serves its own);</item>
/// <item><c>[metrics] otel_on</c>: OTLP over HTTP to <c>otel_host:otel_port/v1/metrics</c> every
/// <c>otel_interval_milliseconds</c> (https with <c>otel_ssl_active</c>);</item>
/// <item><c>[traces] otel_on</c>: spans DAG run → try → pod, OTLP over HTTP to <c>otel_host:otel_port/v1/traces</c>.</item>
/// </list>
/// Every meter and activity source named <c>Sirocco.*</c> is exported: the scheduler's Airflow-named metrics, the
/// Kubernetes code's request counts, watch restarts, pod start latency and log bytes, and the local cluster's.
/// </summary>
internal static class Telemetry
{
    private const string Sources = "Sirocco.*";

    public static IDisposable? Start(CliContext ctx, bool prometheus)
    {
        var parts = new List<IDisposable>();
        try
        {
            if (prometheus && PrometheusListener(ctx) is { } listener)
            {
                parts.Add(listener);
            }

            if (ctx.Config.GetBool("metrics", "otel_on"))
            {
                var endpoint = Endpoint(ctx, "metrics");
                var interval = ctx.Config.GetInt("metrics", "otel_interval_milliseconds");
                if (interval < 100)
                {
                    throw new SiroccoException($"[metrics] otel_interval_milliseconds must be 100 or more, got {interval}");
                }

                parts.Add(Sdk.CreateMeterProviderBuilder()
                    .ConfigureResource(r => r.AddService(ctx.Config.Get("metrics", "otel_service", "sirocco")!))
                    .AddMeter(Sources)
                    .AddOtlpExporter((o, reader) =>
                    {
                        Otlp(o, endpoint);
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
                    })
                    .Build());
                ctx.Out.WriteLine($"Metrics: OTLP to {endpoint} every {interval} ms");
            }

            if (ctx.Config.GetBool("traces", "otel_on"))
            {
                var endpoint = Endpoint(ctx, "traces");
                parts.Add(Sdk.CreateTracerProviderBuilder()
                    .ConfigureResource(r => r.AddService(ctx.Config.Get("traces", "otel_service", "sirocco")!))
                    .AddSource(Sources)
                    .AddOtlpExporter(o => Otlp(o, endpoint))
                    .Build());
                ctx.Out.WriteLine($"Traces: OTLP to {endpoint} (DAG run → try → pod)");
            }
        }
        catch
        {
            Dispose(parts);
            throw;
        }

        return parts.Count == 0 ? null : new Composite(parts);
    }

    private static void Otlp(OtlpExporterOptions o, Uri endpoint)
    {
        o.Protocol = OtlpExportProtocol.HttpProtobuf;
        o.Endpoint = endpoint;
        o.TimeoutMilliseconds = 10_000; // an unreachable collector costs an export, never a stuck process
    }

    /// <summary>The OTLP/HTTP endpoint of a signal from <c>[section] otel_host</c>, <c>otel_port</c> and <c>otel_ssl_active</c>.</summary>
    internal static Uri Endpoint(CliContext ctx, string section)
    {
        var host = ctx.Config.Get(section, "otel_host", "localhost")!.Trim();
        var port = Port(ctx.Config.Get(section, "otel_port", "8889")!, section, "otel_port");
        var scheme = ctx.Config.GetBool(section, "otel_ssl_active") ? "https" : "http";
        if (host.Length == 0 || Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
        {
            throw new SiroccoException($"[{section}] otel_host '{host}' is not a host name or address");
        }

        var authority = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://{authority}:{port}/v1/{section}"));
    }

    private static int Port(string text, string section, string key) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new SiroccoException($"[{section}] {key} '{text.Trim()}' is not a port number (1-65535)");

    private static IDisposable? PrometheusListener(CliContext ctx)
    {
        var text = ctx.Config.Get("metrics", "prometheus_port", string.Empty)!.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        var port = Port(text, "metrics", "prometheus_port");
        var host = ctx.Config.Get("metrics", "prometheus_host", "127.0.0.1")!.Trim();
        var prefix = string.Create(CultureInfo.InvariantCulture, $"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}/");
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(Sources)
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

    private static void Dispose(List<IDisposable> parts)
    {
        foreach (var p in parts)
        {
            p.Dispose();
        }
    }

    private sealed class Composite(List<IDisposable> parts) : IDisposable
    {
        public void Dispose() => Telemetry.Dispose(parts);
    }
}
