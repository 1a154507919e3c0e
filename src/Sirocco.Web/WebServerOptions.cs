using Sirocco.Configuration;
using Sirocco.Masking;
using Sirocco.Scheduler;
using Sirocco.Storage;

namespace Sirocco.Web;

/// <summary>What the web server needs from its host: configuration, the store, the masker and the current DAGs.</summary>
public sealed record WebServerOptions
{
    /// <summary>The configuration (<c>[webserver]</c> options, <c>[logging] base_log_folder</c>, Admin &gt; Configuration).</summary>
    public required SiroccoConfig Config { get; init; }

    /// <summary>The metadata store, already migrated.</summary>
    public required IMetadataStore Store { get; init; }

    /// <summary>The process's secret masker, shared with the scheduler so that every secret it learnt is masked here too.</summary>
    public SecretMasker Masker { get; init; } = new();

    /// <summary>
    /// The DAGs as parsed now, by id (structure, tasks, template fields). Called on each request that needs a DAG's
    /// structure, so it should return a cached collection. DAGs absent here are shown from their store rows only.
    /// </summary>
    public Func<IReadOnlyDictionary<string, Dag>> Dags { get; init; } = static () => new Dictionary<string, Dag>(StringComparer.Ordinal);

    /// <summary>The in-process scheduler, if any: woken after a trigger, clear or unpause so it acts at once.</summary>
    public SiroccoScheduler? Scheduler { get; init; }

    /// <summary>Renders template fields for the task-instance page (none: the page shows the fields as written).</summary>
    public ITaskRenderer? Renderer { get; init; }

    /// <summary>
    /// The latest scheduler heartbeat, for <c>/api/v1/health</c>. When null, the scheduler is reported healthy when
    /// <see cref="Scheduler"/> is set (it runs in this process) and unknown otherwise.
    /// </summary>
    public Func<DateTimeOffset?>? SchedulerHeartbeat { get; init; }

    /// <summary>
    /// Where to listen, e.g. <c>http://127.0.0.1:8080</c> (port 0: any free port). Null takes
    /// <c>[webserver] web_server_host</c> and <c>web_server_port</c>.
    /// </summary>
    public string? Urls { get; init; }

    /// <summary>The process environment (Variable and Connection overrides, as the scheduler sees them).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Receives warnings (binding without TLS) and unexpected server errors, one line each.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// Where the server's own log goes: warnings and failures (category <c>Sirocco.Web</c>), an access log line per request
    /// (<c>Sirocco.Web.Access</c>), and ASP.NET Core's own warnings. None when null.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The remote task-log store (<c>[logging] remote_logging</c>): logs whose local file is gone are read from it.</summary>
    public Sirocco.Logs.IRemoteTaskLogs? RemoteLogs { get; init; }

    /// <summary>The secrets backend (<c>[secrets] backend</c>) templates and connection tests read first, as the scheduler does.</summary>
    public Sirocco.Secrets.ISecretsBackend? Secrets { get; init; }

    /// <summary>
    /// The connection testers by type (the Test button, <c>POST /api/v1/connections/test</c>), given by the host from
    /// the assemblies that own each kind of access; a type none tests is answered as not testable.
    /// </summary>
    public IReadOnlyList<Sirocco.Connections.IConnectionTester> ConnectionTesters { get; init; } = [];

    /// <summary>Largest request body accepted, in bytes (default 1 MiB); larger requests get 413.</summary>
    public long MaxRequestBodySize { get; init; } = 1024 * 1024;
}
