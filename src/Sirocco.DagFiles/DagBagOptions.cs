using System.Globalization;
using Sirocco.Configuration;

namespace Sirocco.DagFiles;

/// <summary>How a <see cref="DagBag"/> finds, compiles and watches DAG files. The host (CLI, scheduler) fills it in.</summary>
public sealed class DagBagOptions
{
    /// <summary>
    /// Options from the configuration: <c>[core] dags_folder</c>, <c>[core] dagbag_import_timeout</c> (seconds, may be
    /// fractional) and the disk cache at <c>$SIROCCO_HOME/cache/dags</c>.
    /// </summary>
    /// <param name="config">The configuration.</param>
    /// <param name="watch">Whether to watch the folder (a scheduler does; a one-shot CLI command need not).</param>
    /// <returns>The options.</returns>
    public static DagBagOptions FromConfig(SiroccoConfig config, bool watch = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        var timeoutText = config.Get("core", "dagbag_import_timeout");
        if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            throw new SiroccoException($"[core] dagbag_import_timeout must be a positive number of seconds, got '{timeoutText}'");
        }

        return new DagBagOptions
        {
            DagsFolder = config.Get("core", "dags_folder"),
            CacheFolder = Path.Combine(config.Home, "cache", "dags"),
            ParseTimeout = TimeSpan.FromSeconds(seconds),
            Watch = watch,
        };
    }

    /// <summary>The folder scanned (recursively) for DAG files: <c>[core] dags_folder</c>.</summary>
    public required string DagsFolder { get; init; }

    /// <summary>
    /// Where compiled DAG files are cached (<c>&lt;hash&gt;.dll</c> with an embedded PDB, <c>&lt;hash&gt;.errors.json</c>
    /// for a file that does not compile), so that an unchanged file is not compiled again by a later process. Null
    /// keeps the cache in memory only.
    /// </summary>
    public string? CacheFolder { get; init; }

    /// <summary>
    /// Disk-cache entries neither written nor used for this long are deleted after a DagBag's first collection (old
    /// builds and old file versions leave entries behind). Seven days by default; null keeps everything.
    /// </summary>
    public TimeSpan? CacheRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a DAG file may run while building its DAGs before it becomes an import error
    /// (<c>[core] dagbag_import_timeout</c>, 30 s by default). Compilation is not counted.
    /// </summary>
    public TimeSpan ParseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The assemblies a C# DAG file is compiled against, besides the framework. Null (the default) takes every
    /// <c>Sirocco.*</c> and <c>KubernetesClient</c> assembly of the application (loaded, or in its base directory) and
    /// the non-framework assemblies they reference.
    /// </summary>
    public IReadOnlyList<string>? MetadataReferencePaths { get; init; }

    /// <summary>
    /// The namespaces imported into every C# DAG file. Null (the default) takes System, System.Collections.Generic,
    /// System.Linq, System.Threading.Tasks (top-level <c>await</c> works), Sirocco, Sirocco.Scheduling, and
    /// Sirocco.Kubernetes and k8s.Models when the references provide them.
    /// </summary>
    public IReadOnlyList<string>? Imports { get; init; }

    /// <summary>
    /// Parsers for other kinds of DAG file (for example the Airflow <c>.py</c> reader). A parser here that handles
    /// <c>.cs</c> replaces the built-in C# parser.
    /// </summary>
    public IReadOnlyList<IDagFileParser> AdditionalParsers { get; init; } = [];

    /// <summary>
    /// When a file that loaded before now fails completely (compile error, exception, timeout), keep serving the DAGs of
    /// its last good version beside its import error, as Airflow keeps scheduling the last serialized DAG. False by
    /// default: a broken file's DAGs are absent. A deleted file's DAGs are always dropped.
    /// </summary>
    public bool KeepLastGoodDags { get; init; }

    /// <summary>
    /// When set, every new or changed file is first run in a DAG-processor child process (Airflow parses in a child too),
    /// so that a file that loops, overflows the stack, ends the process or allocates without bound becomes an import
    /// error instead of harming the host. Null (the default): files are parsed in this process.
    /// </summary>
    public DagProcessorOptions? Processor { get; init; }

    /// <summary>Whether <see cref="DagBag.WaitForChangeAsync"/> is backed by a file-system watcher (true by default).</summary>
    public bool Watch { get; init; } = true;

    /// <summary>How long the watcher waits for the folder to be quiet before it reports a change (200 ms by default).</summary>
    public TimeSpan WatchDebounce { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many files are parsed at once (the processor count by default).</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>How many compile errors of one file are put into its import error (5 by default).</summary>
    public int MaxCompileErrorsPerFile { get; init; } = 5;

    /// <summary>
    /// The clock of the parse timeout, the statistics' durations and the watcher's debounce. These measure real work, so
    /// the default (the system clock) is right for a host even when its scheduler runs on a fake clock: a fake clock
    /// moved ahead by days would time out every file being parsed at that moment.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
