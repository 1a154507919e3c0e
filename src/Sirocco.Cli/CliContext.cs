using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Google;
using Sirocco.Kubernetes;
using Sirocco.Masking;
using Sirocco.Storage;
using Sirocco.Variables;

namespace Sirocco.Cli;

/// <summary>What commands share: the environment, the configuration, the store (opened and migrated on first use).</summary>
internal sealed class CliContext : IAsyncDisposable
{
    private IMetadataStore? _store;
    private RuntimeServices? _runtime;
    private SecretMasker? _masker;
    private GoogleCloud? _google;
    private Lazy<Secrets.ISecretsBackend?>? _secrets;
    private Microsoft.Extensions.Logging.ILoggerFactory? _logging;

    public CliContext(IReadOnlyDictionary<string, string> environment, TextWriter output, TextWriter error, bool outputRedirected)
    {
        Environment = environment;
        Out = output;
        Error = error;
        OutputRedirected = outputRedirected;
        Home = ResolveHome(environment);
        Config = SiroccoConfig.Load(Home, environment);
    }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public TextWriter Out { get; }

    /// <summary>Who changes state through this CLI: the OS user (from USER or LOGNAME), via CLI.</summary>
    public StateActor Actor => new(Environment.GetValueOrDefault("USER") ?? Environment.GetValueOrDefault("LOGNAME") ?? "unknown", "CLI");

    public TextWriter Error { get; }

    public bool OutputRedirected { get; }

    /// <summary>Whether standard error is this process's own terminal (where progress is drawn).</summary>
    public bool ErrorIsTerminal => ReferenceEquals(Error, Console.Error) && !Console.IsErrorRedirected;

    public string Home { get; }

    public SiroccoConfig Config { get; private set; }

    /// <summary>Re-reads <c>sirocco.cfg</c> (after a command wrote it).</summary>
    public void ReloadConfig() => Config = SiroccoConfig.Load(Home, Environment);

    public SecretMasker Masker => _masker ??= new SecretMasker(
        Config.TryGet("logging", "min_length_masked_secret", out var n) && int.TryParse(n, out var min) ? min : 5);

    public VariableAccessor Variables => new(Store, Environment, Masker, Secrets);

    public ConnectionAccessor Connections => new(Store, Environment, Masker, Secrets);

    /// <summary>The process's Google Cloud access (credentials, Container API), shared by tries, logs and secrets.</summary>
    public GoogleCloud Google => _google ??= new GoogleCloud(GoogleCloudServices.ReadOptions(Config, Environment));

    /// <summary>
    /// The secrets backend of <c>[secrets] backend</c>, asked before the environment and the database; null when none is
    /// set. Google's <c>CloudSecretManagerBackend</c> and cncf.kubernetes' <c>KubernetesSecretsBackend</c> are served;
    /// another class path is an error naming it.
    /// </summary>
    public Secrets.ISecretsBackend? Secrets => (_secrets ??= new Lazy<Secrets.ISecretsBackend?>(CreateSecrets)).Value;

    private Secrets.ISecretsBackend? CreateSecrets()
    {
        var backend = Config.Get("secrets", "backend", null);
        if (string.IsNullOrWhiteSpace(backend))
        {
            return null;
        }

        var kwargs = Config.Get("secrets", "backend_kwargs", null) is { Length: > 0 } text
            ? GoogleCloud.ParseObject(text, "[secrets] backend_kwargs")
            : [];
        var ttl = Config.GetBool("secrets", "use_cache") ? TimeSpan.FromSeconds(Math.Max(0, Config.GetInt("secrets", "cache_ttl_seconds"))) : TimeSpan.Zero;
        return backend.Trim() switch
        {
            SecretManagerBackend.ClassPath => new SecretManagerBackend(Google, kwargs, ttl),
            KubernetesSecretsBackend.ClassPath => new KubernetesSecretsBackend(kwargs, Config, Environment, ttl),
            _ => throw new SiroccoException(
                $"[secrets] backend '{backend}' is not available; Sirocco serves {SecretManagerBackend.ClassPath} and {KubernetesSecretsBackend.ClassPath}"),
        };
    }

    /// <summary>The metadata store; migrated synchronously the first time a command needs it.</summary>
    public IMetadataStore Store
    {
        get
        {
            if (_store is null)
            {
                var store = MetadataStore.Open(Config.SqlConn, FernetKeys(), StoreOptions(Config));
                store.MigrateAsync().GetAwaiter().GetResult();
                _store = store;
            }

            return _store;
        }
    }

    /// <summary>The pool of a server database, from Airflow's <c>[database]</c> options.</summary>
    internal static MetadataStoreOptions StoreOptions(SiroccoConfig config) => new()
    {
        PoolEnabled = config.GetBool("database", "sql_alchemy_pool_enabled"),
        PoolSize = config.GetInt("database", "sql_alchemy_pool_size"),
        MaxOverflow = config.GetInt("database", "sql_alchemy_max_overflow"),
    };

    /// <summary>
    /// The keys of <c>[core] fernet_key</c>, which encrypt Variable values and connection passwords and extras in the
    /// database. Missing, a key is generated into sirocco.cfg, as Airflow does on its first start; processes starting
    /// together agree on one key (a lock file). Several schedulers and web servers on one database need the same key.
    /// </summary>
    private Fernet FernetKeys()
    {
        if (Config.TryGet("core", "fernet_key", out var keys) && !string.IsNullOrWhiteSpace(keys))
        {
            return Fernet.FromKeys(keys);
        }

        SiroccoConfig.CreatePrivateDirectory(Home);
        var lockPath = Path.Combine(Home, "sirocco.cfg.lock");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                ReloadConfig();
                if (Config.TryGet("core", "fernet_key", out var written) && !string.IsNullOrWhiteSpace(written))
                {
                    return Fernet.FromKeys(written);
                }

                var key = Fernet.GenerateKey();
                Config.Set("core", "fernet_key", key);
                return Fernet.FromKeys(key);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Another process is writing the key: read it once it is done.
                Thread.Sleep(50);
            }
        }
    }

    /// <summary><c>$SIROCCO_HOME</c>, else <c>~/.sirocco</c>.</summary>
    public static string ResolveHome(IReadOnlyDictionary<string, string> environment)
    {
        if (environment.TryGetValue("SIROCCO_HOME", out var home) && !string.IsNullOrWhiteSpace(home))
        {
            return Path.GetFullPath(home);
        }

        var user = environment.TryGetValue("HOME", out var h) && !string.IsNullOrEmpty(h)
            ? h
            : System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        return Path.Combine(user, ".sirocco");
    }

    /// <summary>
    /// The runtimes tries use (the Kubernetes clients and watches, Google Cloud access), built once from this process's environment, with
    /// the pod_mutation_hook of <c>$SIROCCO_HOME/config/airflow_local_settings.py</c> when that file defines one.
    /// </summary>
    public RuntimeServices Runtime => _runtime ??= CreateRuntime();

    private RuntimeServices CreateRuntime()
    {
        var runtime = new RuntimeServices().AddKubernetes(Environment, Config, Logging).Add(Google);
        if (RemoteLogStore() is { } remote)
        {
            runtime.Add(remote);
        }

        var settings = DagFiles.Airflow.AirflowLocalSettings.Load(
            Path.Combine(Home, "config", "airflow_local_settings.py"),
            new DagFiles.Airflow.AirflowDagFileParserOptions { Environment = Environment, Variables = Store, Secrets = Secrets });
        return settings is null ? runtime : runtime.Add<Kubernetes.IPodMutationHook>(settings);
    }

    /// <summary>The remote task-log store of <c>[logging] remote_logging</c>, or null when logs stay local.</summary>
    public Logs.IRemoteTaskLogs? RemoteLogs => Runtime.GetService(typeof(Logs.IRemoteTaskLogs)) as Logs.IRemoteTaskLogs;

    /// <summary>
    /// <c>[logging] remote_logging = True</c> with <c>remote_base_log_folder = gs://bucket/path</c> keeps task logs in
    /// Cloud Storage (credentials of <c>remote_log_conn_id</c>); other schemes are refused by name.
    /// </summary>
    private Logs.IRemoteTaskLogs? RemoteLogStore()
    {
        if (!Config.GetBool("logging", "remote_logging"))
        {
            return null;
        }

        var folder = Config.Get("logging", "remote_base_log_folder", null);
        if (string.IsNullOrEmpty(folder))
        {
            throw new SiroccoException("[logging] remote_logging is True but [logging] remote_base_log_folder is empty; set it to gs://bucket/path");
        }

        if (!folder.StartsWith("gs://", StringComparison.Ordinal))
        {
            throw new SiroccoException($"[logging] remote_base_log_folder '{folder}': only gs:// (Cloud Storage) is supported");
        }

        return new GcsTaskLogs(Google, Connections, folder, Config.Get("logging", "remote_log_conn_id", null));
    }

    /// <summary>The process's own log, per <c>[logging] logging_level</c> and <c>json_format</c>, on standard error.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory Logging => _logging ??= ProcessLogging.Create(Config);

    public async ValueTask DisposeAsync()
    {
        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
        }
        else
        {
            _google?.Dispose();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        if (_secrets is { IsValueCreated: true, Value: IDisposable secrets })
        {
            secrets.Dispose();
        }

        _logging?.Dispose(); // last: it flushes what the others wrote while stopping
    }
}
