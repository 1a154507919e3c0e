using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Kubelet;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster;

/// <summary>
/// A one-machine Kubernetes cluster: a core/v1 API server on 127.0.0.1 over HTTPS with a bearer token,
/// and a kubelet that runs each container as a bubblewrap-sandboxed local process. Start it with
/// <see cref="StartAsync"/>; point any Kubernetes client at <see cref="KubeconfigPath"/>.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly LocalClusterOptions _options;
    private WebApplication? _app;
    private ClusterContext? _context;
    private PodRuntime? _runtime;

    private LocalCluster(LocalClusterOptions options) => _options = options;

    /// <summary>The kubeconfig written for this cluster (server, CA and token).</summary>
    public string KubeconfigPath { get; private set; } = "";

    /// <summary>The API server's URL, such as <c>https://127.0.0.1:40123</c>.</summary>
    public Uri ServerUrl { get; private set; } = new("https://127.0.0.1");

    /// <summary>The bearer token clients must send.</summary>
    public string Token { get; private set; } = "";

    /// <summary>The PEM of the CA that signed the server's certificate.</summary>
    public string CertificateAuthorityPem { get; private set; } = "";

    /// <summary>The name of the cluster's single node.</summary>
    public string NodeName => _options.NodeName;

    /// <summary>
    /// Starts a cluster: loads its state from the home directory (or creates it), listens, writes the
    /// kubeconfig and starts the kubelet.
    /// </summary>
    /// <param name="options">Where the cluster lives and how it listens.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running cluster; dispose it to stop it.</returns>
    public static async Task<LocalCluster> StartAsync(LocalClusterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cluster = new LocalCluster(options);
        try
        {
            await cluster.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The local cluster runs containers under bubblewrap and needs Linux.");
        }

        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (_options.MinimumThreadPoolThreads > workers)
        {
            ThreadPool.SetMinThreads(_options.MinimumThreadPoolThreads, completionPorts);
        }

        var home = Path.GetFullPath(_options.HomeDirectory);
        var state = Path.Combine(home, "local-cluster");
        Directory.CreateDirectory(state);
        var now = _options.TimeProvider.GetUtcNow();
        var (certificate, caPem) = Certificates.LoadOrCreate(state, now);
        var tokenPath = Path.Combine(state, "token");
        if (!File.Exists(tokenPath))
        {
            Certificates.WritePrivate(tokenPath, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        }

        Token = (await File.ReadAllTextAsync(tokenPath, cancellationToken).ConfigureAwait(false)).Trim();
        CertificateAuthorityPem = caPem;
        var store = new ObjectStore(new SqlitePersistence(Path.Combine(state, "state.db"), SecretEncryption.LoadOrCreate(state)));
        _context = new ClusterContext(_options, store, Token, caPem, state);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            _context.Namespaces.Ensure(ns);
        }

        Auth.BootstrapPolicy.Ensure(_context);

        // Build the JSON contracts of the Kubernetes models now, not on the first request.
        foreach (var resource in ResourceInfo.All)
        {
            resource.Decode(new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "warm-up" } });
        }

        // The content root is the program's folder and configuration files are not watched: by default both are the
        // current directory, watched recursively, so every file a pod writes under a home inside it woke the process.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Sirocco.LocalCluster",
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (_options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024; // ApiHandler answers 413 above 3 MiB, as the real server
            k.Listen(IPAddress.Loopback, _options.Port, l => l.UseHttps(certificate));
        });
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        _app = app;
        var handler = new ApiHandler(_context, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sirocco.LocalCluster"));
        app.UseWebSockets();
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port;
        _context.Port = port;
        _context.ServerAddress = $"127.0.0.1:{port}";
        ServerUrl = new Uri($"https://127.0.0.1:{port}");

        LocalClusterLog.Listening(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LocalClusterLog.Category), ServerUrl.ToString(), _options.NodeName, home);
        _runtime = new PodRuntime(_context);
        handler.Runtime = _runtime;
        await _runtime.StartAsync(cancellationToken).ConfigureAwait(false);

        KubeconfigPath = _options.KubeconfigPath ?? Path.Combine(home, "kube_config");
        Directory.CreateDirectory(Path.GetDirectoryName(KubeconfigPath)!);
        Certificates.WritePrivate(KubeconfigPath, Kubeconfig());
    }

    private string Kubeconfig()
    {
        var name = _options.NodeName;
        var ca = Convert.ToBase64String(Encoding.ASCII.GetBytes(CertificateAuthorityPem));
        return $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: {name}
              cluster:
                server: {ServerUrl.ToString().TrimEnd('/')}
                certificate-authority-data: {ca}
            users:
            - name: {name}
              user:
                token: {Token}
            contexts:
            - name: {name}
              context:
                cluster: {name}
                user: {name}
                namespace: default
            current-context: {name}
            preferences: {"{}"}

            """;
    }

    /// <summary>Stops the kubelet (killing every container process) and the API server, and saves the state.</summary>
    /// <returns>A task that completes when the cluster has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.Stopping.CancelAsync().ConfigureAwait(false);
        }

        if (_runtime is not null && OperatingSystem.IsLinux())
        {
            await _runtime.DisposeAsync().ConfigureAwait(false);
        }

        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _context?.Store.Dispose();
        _context?.Stopping.Dispose();
    }
}
