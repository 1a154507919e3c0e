using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using k8s;
using Sirocco.Connections;
using Sirocco.LocalCluster;
using Sirocco.Storage;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco scheduler</c>, <c>sirocco cluster start</c> and <c>sirocco standalone</c>.</summary>
internal static class ServeCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        var scheduler = new Command("scheduler", "Run the scheduler until Ctrl-C (running pods are left to be re-attached)");
        scheduler.SetAction(async (_, ct) =>
        {
            using var shutdown = Hosting.ShutdownOnSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, shutdown.Token);
            using var bag = Hosting.CreateDagBag(ctx, watch: true);
            ctx.Out.WriteLine($"Scheduler started: dags folder {bag.DagsFolder}, database {ctx.Masker.Redact(MetadataStore.RedactUrl(ctx.Config.SqlConn))}");
            using var telemetry = Telemetry.Start(ctx, prometheus: true);
            await Hosting.CreateScheduler(ctx, new DagBagSource(bag)).RunAsync(linked.Token);
            ctx.Out.WriteLine("Scheduler stopped.");
            return 0;
        });
        yield return scheduler;

        var cluster = new Command("cluster", "The embedded local Kubernetes cluster");
        var port = new Option<int?>("--port") { Description = "Port on 127.0.0.1 (default [local_cluster] port; 0 = any free port)" };
        var start = new Command("start", "Run the local cluster in the foreground until Ctrl-C; writes $SIROCCO_HOME/kube_config") { port };
        start.SetAction(async (pr, ct) =>
        {
            using var shutdown = Hosting.ShutdownOnSignal();
            await using var local = await StartClusterAsync(ctx, pr.GetValue(port), ct);
            PointDefaultConnection(ctx.Store, local.KubeconfigPath);
            ctx.Out.WriteLine($"Local cluster listening on {local.ServerUrl}; kubeconfig: {local.KubeconfigPath}");
            ctx.Out.WriteLine($"Try: kubectl --kubeconfig {local.KubeconfigPath} get nodes");
            await Task.Delay(Timeout.Infinite, shutdown.Token).ContinueWith(_ => { }, CancellationToken.None);
            return 0;
        });
        cluster.Subcommands.Add(start);
        foreach (var command in ClusterImageCommands.Create(ctx))
        {
            cluster.Subcommands.Add(command);
        }

        yield return cluster;

        var standalone = new Command("standalone", "Everything in one process: database, local cluster, scheduler; set up on first start");
        standalone.SetAction(async (_, ct) =>
        {
            using var shutdown = Hosting.ShutdownOnSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, shutdown.Token);
            await RunStandaloneAsync(ctx, linked.Token);
            return 0;
        });
        yield return standalone;
    }

    internal static async Task<LocalCluster.LocalCluster> StartClusterAsync(CliContext ctx, int? port, CancellationToken ct)
    {
        var cluster = await StartClusterProcessAsync(ctx, port, ct);
        try
        {
            await CreateNamespacesAsync(cluster, ctx.Config.Get("local_cluster", "namespaces", null), ct);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>
    /// Creates the namespaces of <c>[local_cluster] namespaces</c> (comma separated; by default Composer 2's
    /// <c>composer-user-workloads</c>, so the seed's DAG and kubectl commands work as written).
    /// </summary>
    private static async Task CreateNamespacesAsync(LocalCluster.LocalCluster cluster, string? names, CancellationToken ct)
    {
        var config = k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath);
        using var client = new k8s.Kubernetes(config);
        foreach (var name in (names ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                await client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = name } }, cancellationToken: ct);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Already there from an earlier start: the cluster keeps its state.
            }
        }
    }

    private static Task<LocalCluster.LocalCluster> StartClusterProcessAsync(CliContext ctx, int? port, CancellationToken ct)
    {
        var entrypoints = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (ctx.Config.Get("local_cluster", "image_entrypoints", null) is { Length: > 0 } text)
        {
            // image=cmd arg arg; image2=cmd ...
            foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = entry.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new SiroccoException($"[local_cluster] image_entrypoints: expected IMAGE=COMMAND ARGS, got '{entry}'");
                }

                entrypoints[entry[..eq].Trim()] = entry[(eq + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        return LocalCluster.LocalCluster.StartAsync(
            new LocalClusterOptions
            {
                HomeDirectory = ctx.Home,
                Port = port ?? ctx.Config.GetInt("local_cluster", "port"),
                KubeconfigPath = Path.Combine(ctx.Home, "kube_config"),
                ImageEntrypoints = entrypoints,
                ImageMode = ImageMode(ctx.Config.Get("local_cluster", "image_mode")),
                InsecureRegistries = ctx.Config.Get("local_cluster", "insecure_registries", null) is { Length: > 0 } insecure
                    ? insecure.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : [],
                RegistryCertificateAuthorityFile = ctx.Config.Get("local_cluster", "registry_ca_file", null) is { Length: > 0 } ca ? ca : null,
                RegistryTimeout = TimeSpan.FromSeconds(Math.Max(1, ctx.Config.GetInt("local_cluster", "registry_timeout"))),
                PodPidsLimit = PodPidsLimit(ctx.Config.GetInt("local_cluster", "pod_pids_limit")),
                PodNetwork = PodNetwork(ctx.Config.Get("local_cluster", "pod_network")),
                LoggerFactory = ctx.Logging,
            },
            ct);
    }

    private static int PodPidsLimit(int value) => value >= 0
        ? value
        : throw new SiroccoException($"[local_cluster/pod_pids_limit] must be 0 (no limit) or a positive number of processes, got {value}");

    private static LocalClusterPodNetwork PodNetwork(string value) => value.Trim().ToLowerInvariant() switch
    {
        "isolated" => LocalClusterPodNetwork.Isolated,
        "slirp4netns" => LocalClusterPodNetwork.Slirp4netns,
        "host" => LocalClusterPodNetwork.Host,
        _ => throw new SiroccoException($"[local_cluster] pod_network: expected isolated, slirp4netns or host, got '{value}'"),
    };

    private static LocalClusterImageMode ImageMode(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => LocalClusterImageMode.Auto,
        "pull" => LocalClusterImageMode.Pull,
        "host" => LocalClusterImageMode.Host,
        _ => throw new SiroccoException($"[local_cluster] image_mode: expected auto, pull or host, got '{value}'"),
    };

    private static async Task RunStandaloneAsync(CliContext ctx, CancellationToken ct)
    {
        Configuration.SiroccoConfig.CreatePrivateDirectory(ctx.Home);
        var firstStart = !File.Exists(ctx.Config.FilePath);
        if (firstStart)
        {
            await File.WriteAllTextAsync(
                ctx.Config.FilePath,
                "# Sirocco configuration. Every option has a built-in default; `sirocco config list` shows them all.\n"
                + "# Environment variables SIROCCO__SECTION__KEY override this file.\n[core]\ndags_are_paused_at_creation = False\n",
                ct);
        }

        ctx.ReloadConfig();
        var config = ctx.Config;
        var dags = config.Get("core", "dags_folder");
        string? password = null;
        var copied = 0;
        LocalCluster.LocalCluster? cluster = null;
        string? clusterWarning = null;
        Scheduler.DagCollection collection = null!;
        using var bag = Hosting.CreateDagBag(ctx, watch: true);
        var source = new DagBagSource(bag);

        // The first start sets everything up, which takes a while: a spinner on a terminal names each step.
        try
        {
            await CliProgress.StepsAsync(ctx, "Creating the metadata database", async step =>
            {
                await ctx.Store.MigrateAsync(ct);
                step("Creating the admin user");
                password = await EnsureAdminAsync(ctx.Store, ctx.Home, ct);
                copied = CopyExamples(config, dags);
                step("Starting the local cluster");
                try
                {
                    cluster = await StartClusterAsync(ctx, null, ct);
                    PointDefaultConnection(ctx.Store, cluster.KubeconfigPath);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    clusterWarning = $"warning: the local cluster did not start ({e.Message}); pod tasks need another cluster (kubernetes_default connection)";
                }

                // Parse the DAGs once before reporting, so what is printed is what runs.
                step($"Loading the DAG files in {dags}");
                collection = await source.CollectAsync(ct);
            });
        }
        catch when (cluster is not null)
        {
            await cluster.DisposeAsync();
            throw;
        }

        if (clusterWarning is not null)
        {
            await ctx.Error.WriteLineAsync(clusterWarning);
        }

        await using (cluster)
        {
            await Scheduler.SiroccoScheduler.SyncDagsAsync(ctx.Store, collection, Hosting.Options(ctx), DateTimeOffset.UtcNow, ct);

            ctx.Out.WriteLine("Sirocco standalone is running.");
            ctx.Out.WriteLine($"  home:       {ctx.Home}");
            ctx.Out.WriteLine($"  dags:       {dags}: {collection.Dags.Count} DAG(s){(copied > 0 ? $", {copied} example DAG file(s) added" : string.Empty)}{(collection.ImportErrors.Count > 0 ? $", {collection.ImportErrors.Count} file(s) failed to load (sirocco dags list-import-errors)" : string.Empty)}");
            ctx.Out.WriteLine($"  database:   {ctx.Masker.Redact(MetadataStore.RedactUrl(config.SqlConn))}");
            ctx.Out.WriteLine($"  task logs:  {config.Get("logging", "base_log_folder")}");
            if (cluster is not null)
            {
                ctx.Out.WriteLine($"  cluster:    {cluster.ServerUrl} (kubectl --kubeconfig {cluster.KubeconfigPath} get pods -A)");
            }

            if (password is not null)
            {
                ctx.Out.WriteLine($"  login:      admin / {password} (shown once; also in {Path.Combine(ctx.Home, "standalone_admin_password.txt")})");
            }

            // The web server reads the DAGs the scheduler collects, and wakes it after a trigger or a clear.
            var dagSnapshot = new Web.DagSnapshotSource(source);
            using var telemetry = Telemetry.Start(ctx, prometheus: false); // the web server serves /metrics
            var scheduler = Hosting.CreateScheduler(ctx, dagSnapshot);
            await using var web = await Web.SiroccoWebServer.StartAsync(WebCommands.Options(ctx, dagSnapshot, scheduler), ct);
            ctx.Out.WriteLine($"  web UI:     {web.Address}");
            ctx.Out.WriteLine("Press Ctrl-C to stop.");
            await scheduler.RunAsync(ct);
        }

        ctx.Out.WriteLine("Sirocco standalone stopped.");
    }

    /// <summary>Creates the <c>admin</c> user on first start; returns its generated password then, else null.</summary>
    internal static async Task<string?> EnsureAdminAsync(IMetadataStore store, string home, CancellationToken ct)
    {
        if (await store.GetUserAsync("admin", ct) is not null)
        {
            return null;
        }

        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');
        await store.UpsertUserAsync(new User("admin", Web.Security.PasswordHasher.Create(password), "Admin"), ct);
        var file = Path.Combine(home, "standalone_admin_password.txt");
        await File.WriteAllTextAsync(file, password + "\n", ct);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return password;
    }

    private static int CopyExamples(Configuration.SiroccoConfig config, string dags)
    {
        var marker = Path.Combine(config.Home, ".examples_installed");
        Directory.CreateDirectory(dags);
        if (!config.GetBool("core", "load_examples") || File.Exists(marker))
        {
            return 0;
        }

        var source = Path.Combine(AppContext.BaseDirectory, "example_dags");
        var n = 0;
        if (Directory.Exists(source))
        {
            foreach (var file in Directory.GetFiles(source, "*.cs"))
            {
                var target = Path.Combine(dags, Path.GetFileName(file));
                if (!File.Exists(target))
                {
                    File.Copy(file, target);
                    n++;
                }
            }
        }

        File.WriteAllText(marker, "examples copied once; delete this file to copy them again\n");
        return n;
    }

    /// <summary>Points <c>kubernetes_default</c> at the local cluster unless the user configured it.</summary>
    internal static void PointDefaultConnection(IMetadataStore store, string kubeconfig)
    {
        var current = store.GetConnection("kubernetes_default");
        var extra = current?.ExtraDejson() ?? [];
        var ours = extra.Count == 0 || (extra.Count == 1 && extra["kube_config_path"]?.ToString() == kubeconfig) || extra["sirocco_local_cluster"] is not null;
        if (!ours)
        {
            return;
        }

        store.SetConnection(new Connection
        {
            ConnId = "kubernetes_default",
            ConnType = "kubernetes",
            Description = "The embedded local cluster (set by sirocco standalone)",
            Extra = new JsonObject { ["kube_config_path"] = kubeconfig, ["sirocco_local_cluster"] = true }.ToJsonString(),
        });
    }
}
