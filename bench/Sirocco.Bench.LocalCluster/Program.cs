using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using k8s;
using k8s.Models;
using Sirocco.LocalCluster;

// Two modes:
//   serve HOME              run a cluster in this process until stdin closes (or Ctrl+C)
//   [--pods N] [--write FILE]  start `serve` as a child process, load it, report
if (args is ["serve", var home])
{
    // The server's own view of each request (Kestrel's http.server.request.duration), apart from the client's.
    var serverTimes = new System.Collections.Concurrent.ConcurrentQueue<double>();
    using var meters = new System.Diagnostics.Metrics.MeterListener();
    meters.InstrumentPublished = (instrument, listener) =>
    {
        if (instrument.Name == "http.server.request.duration")
        {
            listener.EnableMeasurementEvents(instrument);
        }
    };
    var slow = new System.Collections.Concurrent.ConcurrentQueue<string>();
    meters.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
    {
        serverTimes.Enqueue(seconds * 1000);
        // BENCH_SLOW=<seconds> lists the requests slower than that (default 0.1) on stderr.
        if (Environment.GetEnvironmentVariable("BENCH_SLOW") is { } slowText
            && seconds > (double.TryParse(slowText, CultureInfo.InvariantCulture, out var limit) ? limit : 0.1))
        {
            var text = new System.Text.StringBuilder();
            foreach (var t in tags)
            {
                text.Append(t.Key).Append('=').Append(t.Value).Append(' ');
            }

            slow.Enqueue($"{seconds * 1000:F0}ms {text}");
        }
    });
    meters.Start();
    // BENCH_POD_PIDS_LIMIT=0 turns the per-pod pids group off (for a side-by-side with the default).
    var pidsLimit = Environment.GetEnvironmentVariable("BENCH_POD_PIDS_LIMIT") is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : new LocalClusterOptions { HomeDirectory = home }.PodPidsLimit;
    // BENCH_POD_NETWORK=isolated|slirp4netns|host picks the pods' network (isolated by default).
    var podNetwork = Enum.Parse<LocalClusterPodNetwork>(Environment.GetEnvironmentVariable("BENCH_POD_NETWORK") ?? "isolated", ignoreCase: true);
    await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = home, PodPidsLimit = pidsLimit, PodNetwork = podNetwork });
    Console.WriteLine($"ready {cluster.KubeconfigPath}");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.TrySetResult();
    };
    var stdinClosed = Task.Run(() => Console.In.ReadToEnd());
    await Task.WhenAny(stop.Task, stdinClosed);
    foreach (var line in slow)
    {
        Console.Error.WriteLine("slow: " + line);
    }

    if (Environment.GetEnvironmentVariable("BENCH_SLOW") is not null)
    {
        Console.Error.WriteLine($"gc: pause total {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms, collections gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}, server {System.Runtime.GCSettings.IsServerGC}");
    }

    var times = serverTimes.Where(t => t < 10_000).Order().ToList();
    if (times.Count > 0)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server {times.Count} {times[(int)(times.Count * 0.5)]:F2} {times[Math.Min(times.Count - 1, (int)Math.Ceiling(times.Count * 0.99) - 1)]:F2}"));
    }

    return 0;
}

var pods = 500;
// Requests in flight: a client with a bounded window (client-go allows 10 at its default burst); --concurrency 500
// sends all creates at once.
var concurrency = 16;
var apiOnly = false;
string? external = null;
string? write = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--pods":
            pods = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--concurrency":
            concurrency = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--kubeconfig":
            external = args[++i];
            break;
        case "--api-only":
            apiOnly = true;
            break;
        case "--write":
            write = args[++i];
            break;
    }
}

var loadBefore = File.ReadAllText("/proc/loadavg").Split(' ')[0];
var benchHome = Path.Combine(Path.GetTempPath(), "sirocco-lc-bench-" + Guid.NewGuid().ToString("n")[..8]);
var self = Environment.ProcessPath!;
var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
if (Path.GetFileNameWithoutExtension(self) == "dotnet")
{
    start.ArgumentList.Add(typeof(LocalCluster).Assembly.Location.Replace("Sirocco.LocalCluster.dll", "Sirocco.Bench.LocalCluster.dll", StringComparison.Ordinal));
}

start.ArgumentList.Add("serve");
start.ArgumentList.Add(benchHome);
using var server = external is null ? Process.Start(start)! : Process.GetCurrentProcess();
try
{
    var ready = external is null ? await server.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the cluster did not start") : "ready " + external;
    var kubeconfig = ready["ready ".Length..];
    // Like client-go, speak HTTP/2 so concurrent requests share one TLS connection instead of 500 handshakes.
    using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig), new Http2Handler());
    const string Ns = "bench";
    await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = Ns } });
    // Warm up (JIT, connection, the kubelet's first sandbox) with one pod that is not counted.
    await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "warm-up" } });
    var warm = await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
    {
        Metadata = new() { Name = "warm-up" },
        Spec = new() { RestartPolicy = "Never", Containers = [new() { Name = "true", Image = "busybox", Command = ["true"] }] },
    }, "warm-up");
    await foreach (var (_, p) in client.CoreV1.WatchListNamespacedPodAsync("warm-up", resourceVersion: warm.Metadata.ResourceVersion))
    {
        if (p.Status?.Phase is "Succeeded" or "Failed")
        {
            break;
        }
    }

    var baseline = await client.CoreV1.ListNamespacedPodAsync(Ns);

    var succeeded = new TaskCompletionSource();
    var done = 0;
    var failed = 0;
    using var watchCts = new CancellationTokenSource();
    var watch = Task.Run(async () =>
    {
        var seen = new HashSet<string>();
        await foreach (var (_, pod) in client.CoreV1.WatchListNamespacedPodAsync(Ns, resourceVersion: baseline.Metadata.ResourceVersion, cancellationToken: watchCts.Token))
        {
            if (pod.Status?.Phase is "Succeeded" or "Failed" && seen.Add(pod.Metadata.Name))
            {
                if (pod.Status.Phase == "Failed")
                {
                    failed++;
                }

                if (++done == pods)
                {
                    succeeded.TrySetResult();
                    return;
                }
            }
        }
    });

    // Readers poll pod status during the run, so the latency covers reads under load too.
    var latencies = new List<double>();
    var gate = new Lock();
    void Record(double ms)
    {
        lock (gate)
        {
            latencies.Add(ms);
        }
    }

    using var readersCts = new CancellationTokenSource();
    var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
    {
        var rng = new Random(r);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (await tick.WaitForNextTickAsync(CancellationToken.None) && !readersCts.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                await client.CoreV1.ReadNamespacedPodAsync($"true-{rng.Next(pods)}", Ns);
            }
            catch (k8s.Autorest.HttpOperationException)
            {
                // Not created yet: a 404 is still a served request.
            }

            Record(sw.Elapsed.TotalMilliseconds);
        }
    })).ToList();

    var clock = Stopwatch.StartNew();
    using var inFlight = new SemaphoreSlim(concurrency);
    var creates = Enumerable.Range(0, pods).Select(async i =>
    {
        await inFlight.WaitAsync();
        var pod = new V1Pod
        {
            Metadata = new() { Name = $"true-{i}" },
            Spec = new() { RestartPolicy = "Never", Containers = [new() { Name = "true", Image = "busybox", Command = ["true"] }] },
        };
        var sw = Stopwatch.StartNew();
        if (apiOnly)
        {
            // The API server alone: config maps involve no kubelet work.
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = $"cm-{i}" }, Data = new Dictionary<string, string> { ["k"] = "v" } }, Ns);
        }
        else
        {
            await client.CoreV1.CreateNamespacedPodAsync(pod, Ns);
        }

        Record(sw.Elapsed.TotalMilliseconds);
        inFlight.Release();
    });
    await Task.WhenAll(creates);
    var created = clock.Elapsed;
    if (!apiOnly)
    {
        await succeeded.Task.WaitAsync(TimeSpan.FromMinutes(5));
    }

    var elapsed = clock.Elapsed;
    await readersCts.CancelAsync();
    await Task.WhenAll(readers);
    await watchCts.CancelAsync();

    var stat = File.ReadAllText($"/proc/{server.Id}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    var cpuSeconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    var peakKb = File.ReadLines($"/proc/{server.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    latencies.Sort();
    double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
    var rate = pods / elapsed.TotalSeconds;
    var serverLine = "";
    if (external is null)
    {
        // Stop the cluster; it prints the server-side request durations on its way out.
        server.StandardInput.Close();
        while (await server.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("server ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                serverLine = $"; measured inside the server (Kestrel's request duration, {parts[1]} requests): p50 {parts[2]} ms, p99 {parts[3]} ms";
            }
        }
    }

    var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
    var report = string.Join('\n',
        $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores ({cpu}), {long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024 / 1024} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average before the run {loadBefore}, after {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (other work on the machine competes for the 2 cores)",
        apiOnly
            ? $"- API only: {pods} config maps created concurrently ({(concurrency >= pods ? "all at once" : $"at most {concurrency} requests in flight")}; KubernetesClient over HTTPS, HTTP/2), no kubelet work"
            : $"- Pods: {pods} `true` pods created concurrently through the API ({(concurrency >= pods ? "all at once" : $"at most {concurrency} requests in flight")}; KubernetesClient over HTTPS, HTTP/2), {failed} failed",
        apiOnly
            ? $"- All creates answered after {created.TotalSeconds:F2} s: **{pods / created.TotalSeconds:F0} creates/s**"
            : $"- All creates answered after {created.TotalSeconds:F2} s; all pods Succeeded after {elapsed.TotalSeconds:F2} s",
        apiOnly ? "" : $"- Throughput create→Succeeded: **{rate:F1} pods/s**",
        $"- API request latency under that load ({latencies.Count} requests: the creates plus 4 readers each reading a pod every 20 ms): p50 **{Percentile(0.50):F1} ms**, p99 **{Percentile(0.99):F1} ms**, max {latencies[^1]:F1} ms as the client sees it{serverLine}",
        $"- Peak memory (VmHWM) of the cluster process: **{long.Parse(peakKb, CultureInfo.InvariantCulture) / 1024} MiB**; its CPU time for the whole run including start-up: {cpuSeconds:F1} s (the sandboxed processes not counted)");
    report = string.Join('\n', report.Split('\n').Where(l => l.Length > 0));
    Console.WriteLine(report);
    if (write is not null)
    {
        var text = File.Exists(write) ? await File.ReadAllTextAsync(write) : "# Benchmarks\n";
        const string Heading = "## Local cluster";
        var section = $"{Heading}\n\nMeasured with `dotnet run -c Release --project bench/Sirocco.Bench.LocalCluster -- --pods {pods} --concurrency {concurrency} --write docs/BENCHMARKS.md` (the cluster runs in a child process so its memory is measured alone; one warm-up pod runs first and is not counted; target on a 2-core machine: ≥ 50 pods/s and p99 < 50 ms).\n\n{report}\n";
        var at = text.IndexOf(Heading, StringComparison.Ordinal);
        if (at >= 0)
        {
            var next = text.IndexOf("\n## ", at + Heading.Length, StringComparison.Ordinal);
            text = text[..at] + section + (next >= 0 ? text[(next + 1)..] : "");
        }
        else
        {
            text = text.TrimEnd('\n') + "\n\n" + section;
        }

        await File.WriteAllTextAsync(write, text);
    }

    return failed == 0 ? 0 : 1;
}
finally
{
    if (external is null && !server.HasExited)
    {
        server.StandardInput.Close();
    }

    if (external is null && !server.WaitForExit(TimeSpan.FromSeconds(30)))
    {
        server.Kill();
    }

    try
    {
        Directory.Delete(benchHome, recursive: true);
    }
    catch (IOException)
    {
    }
}

/// <summary>Sends every request as HTTP/2 (the server negotiates it over TLS with ALPN).</summary>
internal sealed class Http2Handler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Version = System.Net.HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        return base.SendAsync(request, cancellationToken);
    }
}
