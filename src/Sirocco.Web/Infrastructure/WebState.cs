using Microsoft.Extensions.Logging;
using Sirocco.Connections;
using Sirocco.Scheduler;
using Sirocco.Variables;

namespace Sirocco.Web.Infrastructure;

/// <summary>The services every endpoint and page uses, built once from the options.</summary>
internal sealed class WebState
{
    public WebState(WebServerOptions options)
    {
        Options = options;
        Variables = new VariableAccessor(options.Store, options.Environment, options.Masker, options.Secrets);
        Connections = new ConnectionAccessor(options.Store, options.Environment, options.Masker, options.Secrets);
        Audit = new Security.AuditLog(this);
        var loggers = options.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        Log = loggers.CreateLogger(WebLog.Category);
        AccessLog = loggers.CreateLogger(WebLog.AccessCategory);
    }

    /// <summary>The server's own log (category <c>Sirocco.Web</c>).</summary>
    public ILogger Log { get; }

    /// <summary>One line per request (category <c>Sirocco.Web.Access</c>).</summary>
    public ILogger AccessLog { get; }

    /// <summary>A warning for whoever runs the server: to the log, and to <see cref="WebServerOptions.Log"/> when set.</summary>
    public void Warn(string message)
    {
        Options.Log?.Invoke(message);
        WebLog.Warning(Log, message);
    }

    /// <summary>The audit log of changes, logins and logouts made through this server.</summary>
    public Security.AuditLog Audit { get; }

    public WebServerOptions Options { get; }

    public Storage.IMetadataStore Store => Options.Store;

    public Configuration.SiroccoConfig Config => Options.Config;

    public Masking.SecretMasker Masker => Options.Masker;

    public TimeProvider Time => Options.Time;

    public VariableAccessor Variables { get; }

    public ConnectionAccessor Connections { get; }

    public string LogFolder => Config.Get("logging", "base_log_folder");

    public IReadOnlyDictionary<string, Dag> Dags() => Options.Dags();

    public Dag? Dag(string dagId) => Options.Dags().GetValueOrDefault(dagId);

    public void WakeScheduler() => Options.Scheduler?.Wake();

    public SchedulerServices Services => new(Config, Variables, Connections, Masker);
}
