using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>
/// The real Kubernetes v1.20 API server of <c>scripts/realk8s.sh</c> (with its scheduler, controller manager and simulated
/// kubelet), shared with other test projects: it is started if needed and never stopped here. The simulated node runs
/// nothing: a pod's run time, exit code and log output come from its annotations, and there is no exec, so the
/// operators made here do not read logs unless a test gives the log annotation.
/// </summary>
public sealed class RealApiServerFixture : IAsyncLifetime, ITestCluster
{
    public const string RunForAnnotation = "fake-kubelet/run-for";
    public const string ExitCodeAnnotation = "fake-kubelet/exit-code";
    public const string LogAnnotation = "fake-kubelet/log";

    /// <summary>The node the simulator serves; a pod bound anywhere else never runs.</summary>
    private const string NodeWithoutKubelet = "sirocco-no-kubelet";

    /// <summary>A scheduler that does not exist, so only the test binds such pods.</summary>
    private const string ManualScheduler = "sirocco-manual";

    private readonly ConcurrentBag<string> _namespaces = [];

    public string Name => "real API server";

    public string Kubeconfig { get; private set; } = string.Empty;

    public k8s.Kubernetes Client { get; private set; } = null!;

    public int ServerPort { get; private set; }

    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "realk8s.sh");

        // A server that already answers is used as it is; otherwise the script builds (once per machine) and starts it.
        var known = ParseKubeconfigLine(await RunScriptAsync(script, "env", TimeSpan.FromSeconds(30)));
        Kubeconfig = File.Exists(known) && await IsReadyAsync(known)
            ? known
            : ParseKubeconfigLine(await RunScriptAsync(script, "start", TimeSpan.FromMinutes(10)));
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(Kubeconfig);
        ServerPort = new Uri(config.Host).Port;
        Client = new k8s.Kubernetes(config);
    }

    public async Task DisposeAsync()
    {
        // The namespaces go (their pods with them); the server stays up for the other test projects.
        foreach (var ns in _namespaces)
        {
            try
            {
                await Client.CoreV1.DeleteNamespaceAsync(ns);
            }
            catch (HttpOperationException)
            {
                // Best effort.
            }
        }

        Client.Dispose();
    }

    /// <summary>
    /// A namespace named from <paramref name="prefix"/>, returned once the controller manager has given it a
    /// <c>default</c> ServiceAccount with its token secret: before that, v1.20 refuses pods in it.
    /// </summary>
    public async Task<string> NamespaceAsync(string prefix)
    {
        var created = await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-" } });
        var ns = created.Metadata.Name;
        _namespaces.Add(ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        static bool Ready(V1ServiceAccount sa) => sa.Metadata.Name == "default" && sa.Secrets is { Count: > 0 };
        var list = await Client.CoreV1.ListNamespacedServiceAccountAsync(ns, cancellationToken: cts.Token);
        if (list.Items.Any(Ready))
        {
            return ns;
        }

        await foreach (var (_, sa) in Client.CoreV1.WatchListNamespacedServiceAccountAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (Ready(sa))
            {
                return ns;
            }
        }

        throw new TimeoutException($"namespace {ns} got no default ServiceAccount");
    }

    /// <summary>The node simulator's annotations say how long the pod runs and how it ends; the command is never run.</summary>
    public KubernetesPodOperator Pod(string taskId, string ns, TimeSpan runFor, int exitCode = 0) => new(taskId)
    {
        Namespace = ns,
        Image = "busybox",
        Cmds = ["sh", "-c", string.Create(CultureInfo.InvariantCulture, $"sleep {runFor.TotalSeconds:0.###}; exit {exitCode}")],
        Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [RunForAnnotation] = string.Create(CultureInfo.InvariantCulture, $"{(int)runFor.TotalMilliseconds}ms"),
            [ExitCodeAnnotation] = exitCode.ToString(CultureInfo.InvariantCulture),
        },
        GetLogs = false,
        ConfigFile = Kubeconfig,
    };

    /// <summary>
    /// The pod names a scheduler that does not exist, and a watch of the namespace binds it to a node without a
    /// kubelet: it is scheduled (the binding sets PodScheduled) but stays Pending.
    /// </summary>
    public Task<IAsyncDisposable> NeverStartsAsync(KubernetesPodOperator op, string ns)
    {
        op.SchedulerName = ManualScheduler;
        return Task.FromResult<IAsyncDisposable>(new Binder(Client, ns));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Sirocco.slnx above {AppContext.BaseDirectory}");
    }

    private static string ParseKubeconfigLine(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("KUBECONFIG=", StringComparison.Ordinal));
        return line?["KUBECONFIG=".Length..] ?? throw new InvalidOperationException($"realk8s.sh printed no KUBECONFIG line: {stdout}");
    }

    private static async Task<string> RunScriptAsync(string script, string command, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(command);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"realk8s.sh {command} did not finish within {timeout}: {await stderr}");
        }

        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"realk8s.sh {command} failed ({process.ExitCode}): {await stderr}");
    }

    private static async Task<bool> IsReadyAsync(string kubeconfig)
    {
        try
        {
            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            using var client = new k8s.Kubernetes(config);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(config.Host), "/readyz"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", config.AccessToken);
            using var response = await client.HttpClient.SendAsync(request, cts.Token);
            return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync(cts.Token)).Trim() == "ok";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>Binds every unbound operator pod of a namespace to the node without a kubelet, until disposed.</summary>
    private sealed class Binder : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private readonly k8s.Kubernetes _client;
        private readonly string _ns;

        public Binder(k8s.Kubernetes client, string ns)
        {
            _client = client;
            _ns = ns;
            _loop = RunAsync(client, ns, _stop.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            finally
            {
                _stop.Dispose();
            }

            // No kubelet ends a graceful delete on that node: whatever the test left there goes at once, or its
            // namespace could never be deleted.
            foreach (var pod in (await _client.CoreV1.ListNamespacedPodAsync(_ns, fieldSelector: $"spec.nodeName={NodeWithoutKubelet}")).Items)
            {
                try
                {
                    await _client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, _ns, gracePeriodSeconds: 0);
                }
                catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    // Gone already.
                }
            }
        }

        private static async Task RunAsync(k8s.Kubernetes client, string ns, CancellationToken stop)
        {
            var list = await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: stop);
            foreach (var pod in list.Items)
            {
                await BindAsync(client, pod, stop);
            }

            await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: stop))
            {
                if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    await BindAsync(client, pod, stop);
                }
            }
        }

        private static async Task BindAsync(k8s.Kubernetes client, V1Pod pod, CancellationToken stop)
        {
            if (pod.Spec.SchedulerName != ManualScheduler || pod.Spec.NodeName is { Length: > 0 } || pod.Metadata.DeletionTimestamp is not null)
            {
                return;
            }

            try
            {
                await client.CoreV1.CreateNamespacedPodBindingAsync(
                    new V1Binding
                    {
                        Metadata = new V1ObjectMeta { Name = pod.Metadata.Name },
                        Target = new V1ObjectReference { Kind = "Node", Name = NodeWithoutKubelet },
                    },
                    name: pod.Metadata.Name,
                    namespaceParameter: pod.Metadata.NamespaceProperty,
                    cancellationToken: stop);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode is System.Net.HttpStatusCode.Conflict)
            {
                // Bound already.
            }
        }
    }
}

[CollectionDefinition("realk8s")]
public sealed class RealApiServerCollection : ICollectionFixture<RealApiServerFixture>;
