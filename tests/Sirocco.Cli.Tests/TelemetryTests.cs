using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Sirocco.LocalCluster;
using Sirocco.Storage;
using Sirocco.Testing;

namespace Sirocco.Cli.Tests;

/// <summary>
/// A scheduler process running a pod task on the local cluster, with Prometheus on <c>[metrics] prometheus_port</c> and
/// OTLP metrics and traces on (Airflow's <c>[metrics]</c> and <c>[traces]</c> options) sent to a collector on loopback.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private const string Dag = """
        var dag = new Dag("telemetry")
        {
            Schedule = "@once",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            IsPausedUponCreation = false,
            Tasks =
            {
                new KubernetesPodOperator("say")
                {
                    Name = "say",
                    Namespace = "default",
                    Image = "busybox",
                    Cmds = ["sh", "-c", "echo one; echo two; echo three"],
                },
            },
        };
        return dag;
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Metrics_go_to_prometheus_and_otlp_and_a_run_is_traced_down_to_its_pod()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "telemetry.cs"), Dag);
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "broken.cs"), "this is not C#");
        using var collector = new Collector();
        var prometheusPort = FreePort();
        var settings = new Dictionary<string, string>
        {
            ["SIROCCO_CONN_KUBERNETES_DEFAULT"] = SchedulerProcess.KubernetesConnection(cluster.KubeconfigPath),
            ["SIROCCO__METRICS__PROMETHEUS_PORT"] = prometheusPort.ToString(CultureInfo.InvariantCulture),
            ["SIROCCO__METRICS__OTEL_ON"] = "True",
            ["SIROCCO__METRICS__OTEL_HOST"] = "127.0.0.1",
            ["SIROCCO__METRICS__OTEL_PORT"] = collector.Port.ToString(CultureInfo.InvariantCulture),
            ["SIROCCO__METRICS__OTEL_INTERVAL_MILLISECONDS"] = "300",
            ["SIROCCO__TRACES__OTEL_ON"] = "True",
            ["SIROCCO__TRACES__OTEL_HOST"] = "127.0.0.1",
            ["SIROCCO__TRACES__OTEL_PORT"] = collector.Port.ToString(CultureInfo.InvariantCulture),
            ["SIROCCO__SCHEDULER__SCHEDULER_HEARTBEAT_SEC"] = "1",
        };
        var output = new ConcurrentQueue<string>();
        await using var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        await store.MigrateAsync(); // as the scheduler will: both may migrate, the second finds nothing to do
        string metrics;
        List<Span> spans;
        using (var scheduler = SchedulerProcess.Start(_home, settings, output.Enqueue))
        {
            try
            {
                await SchedulerProcess.WaitForAsync(
                    async () => (await store.ListDagRunsAsync(new DagRunQuery { DagId = "telemetry" })).SingleOrDefault()?.State is DagRunState.Success or DagRunState.Failed,
                    TimeSpan.FromSeconds(120));

                // The pool gauges are read on each sweep (2 s): the default pool's 128 slots all free once the try ended.
                // The batch of spans leaves within its delay (5 s).
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                metrics = string.Empty;
                await SchedulerProcess.WaitForAsync(
                    async () =>
                    {
                        metrics = await http.GetStringAsync($"http://127.0.0.1:{prometheusPort}/metrics");
                        return Regex.IsMatch(metrics, @"(?m)^airflow_pool_open_slots\{[^}]*pool_name=""default_pool""[^}]*\} 128( \d+)?$");
                    },
                    TimeSpan.FromSeconds(60));
                await SchedulerProcess.WaitForAsync(() => Task.FromResult(collector.Spans().Any(s => s.Name == "telemetry")), TimeSpan.FromSeconds(60));
                spans = collector.Spans();
            }
            finally
            {
                scheduler.Kill(entireProcessTree: true);
                await scheduler.WaitForExitAsync();
            }
        }

        var run = (await store.ListDagRunsAsync(new DagRunQuery { DagId = "telemetry" })).Single();
        Assert.True(run.State == DagRunState.Success, string.Join('\n', output));
        Assert.Contains(output, l => l.Contains($"Metrics: OTLP to http://127.0.0.1:{collector.Port}/v1/metrics every 300 ms", StringComparison.Ordinal));

        // Prometheus: the Kubernetes code's own metrics, the pool gauges and the DAG-file gauges.
        Assert.True(PrometheusText.Value(metrics, "sirocco_kubernetes_api_requests_total", "code=\"201\"", "resource=\"pods\"", "verb=\"POST\"") >= 1, metrics);
        Assert.True(PrometheusText.Value(metrics, "sirocco_kubernetes_api_requests_total", "resource=\"pods\"", "verb=\"WATCH\"") >= 1, metrics);
        Assert.True(PrometheusText.Value(metrics, "sirocco_kubernetes_pod_start_latency_seconds_count") >= 1, metrics);
        Assert.True(PrometheusText.Value(metrics, "sirocco_kubernetes_log_bytes_total") >= "one\ntwo\nthree\n".Length, metrics);
        Assert.Equal(0, PrometheusText.Value(metrics, "airflow_pool_running_slots", "pool_name=\"default_pool\""));
        Assert.Equal(1, PrometheusText.Value(metrics, "airflow_dag_processing_import_errors"));
        Assert.Equal(1, PrometheusText.Value(metrics, "airflow_dagbag_size"));

        // OTLP metrics: protobuf posted to /v1/metrics carries the Airflow names.
        var posted = collector.Bodies("/v1/metrics");
        Assert.Contains(posted, b => Contains(b, "airflow.ti.start") && Contains(b, "sirocco.kubernetes.api_requests"));

        // OTLP traces: one trace, DAG run → try → pod.
        var runSpan = Assert.Single(spans, s => s.Name == "telemetry");
        var trySpan = Assert.Single(spans, s => s.Name == "say");
        var podSpan = Assert.Single(spans, s => s.Name == "pod");
        Assert.Equal(runSpan.TraceId, trySpan.TraceId);
        Assert.Equal(runSpan.TraceId, podSpan.TraceId);
        Assert.Empty(runSpan.ParentId);
        Assert.Equal(runSpan.SpanId, trySpan.ParentId);
        Assert.Equal(trySpan.SpanId, podSpan.ParentId);
        Assert.Contains("k8s.pod.name", podSpan.Attributes);
        Assert.Contains("airflow.task_instance.try_number", trySpan.Attributes);
    }

    [Fact]
    public async Task A_bad_otel_port_is_refused_with_the_option_named()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        psi.ArgumentList.Add("scheduler");
        psi.Environment["SIROCCO_HOME"] = _home;
        psi.Environment["SIROCCO__TRACES__OTEL_ON"] = "True";
        psi.Environment["SIROCCO__TRACES__OTEL_PORT"] = "88a";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(limit.Token);
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("[traces] otel_port '88a' is not a port number", await stderr + await stdout, StringComparison.Ordinal);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    internal sealed record Span(string TraceId, string SpanId, string ParentId, string Name, HashSet<string> Attributes);

    /// <summary>An OTLP/HTTP collector on loopback: keeps every posted body; decodes spans from the protobuf wire format.</summary>
    private sealed class Collector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _posts = new();
        private readonly Task _loop;

        public Collector()
        {
            Port = FreePort();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public int Port { get; }

        public List<byte[]> Bodies(string path) => [.. _posts.Where(p => p.Path == path).Select(p => p.Body)];

        public List<Span> Spans() => [.. Bodies("/v1/traces").SelectMany(DecodeSpans)];

        public void Dispose()
        {
            // Close alone: after Stop, the managed HttpListener's Close binds the prefix's port again to remove it,
            // and fails with "Address already in use" when something else has taken the port meanwhile.
            try
            {
                _listener.Close();
            }
            catch (HttpListenerException)
            {
                // The listener is gone either way.
            }

            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(body);
                _posts.Enqueue((ctx.Request.Url!.AbsolutePath, body.ToArray()));
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/x-protobuf";
                ctx.Response.Close();
            }
        }

        // ExportTraceServiceRequest: 1 resource_spans { 2 scope_spans { 2 spans { 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 9 attributes { 1 key } } } }
        private static IEnumerable<Span> DecodeSpans(byte[] body)
        {
            foreach (var resourceSpans in Fields(body, 1))
            {
                foreach (var scopeSpans in Fields(resourceSpans, 2))
                {
                    foreach (var span in Fields(scopeSpans, 2))
                    {
                        string Hex(int field) => Fields(span, field).Select(Convert.ToHexString).FirstOrDefault() ?? string.Empty;
                        yield return new Span(
                            Hex(1),
                            Hex(2),
                            Hex(4),
                            Fields(span, 5).Select(b => Encoding.UTF8.GetString(b)).Single(),
                            [.. Fields(span, 9).SelectMany(kv => Fields(kv, 1)).Select(b => Encoding.UTF8.GetString(b))]);
                    }
                }
            }
        }

        /// <summary>The length-delimited fields numbered <paramref name="number"/> of one protobuf message.</summary>
        private static List<byte[]> Fields(byte[] message, int number)
        {
            var found = new List<byte[]>();
            var i = 0;
            while (i < message.Length)
            {
                var key = Varint(message, ref i);
                var (field, wire) = ((int)(key >> 3), (int)(key & 7));
                switch (wire)
                {
                    case 0:
                        Varint(message, ref i);
                        break;
                    case 1:
                        i += 8;
                        break;
                    case 5:
                        i += 4;
                        break;
                    case 2:
                        var length = (int)Varint(message, ref i);
                        if (field == number)
                        {
                            found.Add(message[i..(i + length)]);
                        }

                        i += length;
                        break;
                    default:
                        throw new InvalidDataException($"protobuf wire type {wire} at byte {i}");
                }
            }

            return found;
        }

        private static ulong Varint(byte[] data, ref int i)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[i++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}
