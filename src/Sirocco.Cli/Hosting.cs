using Sirocco.DagFiles;
using Sirocco.Scheduler;

namespace Sirocco.Cli;

/// <summary>The DAG bag as the scheduler's source of DAGs.</summary>
internal sealed class DagBagSource(DagBag bag) : IDagSource
{
    public DagBag Bag { get; } = bag;

    public async Task<DagCollection> CollectAsync(CancellationToken cancellationToken)
    {
        var result = await Bag.CollectAsync(cancellationToken);
        return new DagCollection(result.Dags, [.. result.ImportErrors.Select(e => new DagFileError(e.FileName, e.Message))]);
    }

    public Task WaitForChangeAsync(CancellationToken cancellationToken) => Bag.WaitForChangeAsync(cancellationToken);
}

/// <summary>Builds the scheduler's parts from the configuration.</summary>
internal static class Hosting
{
    public static string DagsFolder(CliContext ctx) => ctx.Config.Get("core", "dags_folder");

    /// <summary>
    /// The DAG bag of this process: new and changed files run in DAG-processor children first
    /// (<c>[dag_processor] isolate</c>), in long-running hosts (scheduler, webserver, standalone) and in one-shot
    /// commands alike, so that <c>dags list-import-errors</c> reports a file that ends the process instead of ending.
    /// </summary>
    public static DagBag CreateDagBag(CliContext ctx, bool watch)
    {
        Directory.CreateDirectory(DagsFolder(ctx));
        var isolate = ctx.Config.GetBool("dag_processor", "isolate");
        return new DagBag(DagBagOptions(ctx, watch, isolate ? ProcessorOptions(ctx) : null));
    }

    /// <summary>What the DAG-processor child (<c>dag-processor-child</c>) parses with: the host's options, in-process.</summary>
    public static DagBagOptions ChildDagBagOptions(CliContext ctx) => DagBagOptions(ctx, watch: false, processor: null);

    private static DagBagOptions DagBagOptions(CliContext ctx, bool watch, DagProcessorOptions? processor) => new()
    {
        DagsFolder = DagsFolder(ctx),
        CacheFolder = Path.Combine(ctx.Home, "cache", "dags"),
        ParseTimeout = TimeSpan.FromSeconds(ctx.Config.GetInt("core", "dagbag_import_timeout")),
        Watch = watch,
        Processor = processor,

        // Airflow DAG files (*.py) that only use pods load unchanged; Variable.get at parse time reads the store.
        AdditionalParsers = [new DagFiles.Airflow.AirflowDagFileParser(new DagFiles.Airflow.AirflowDagFileParserOptions { Environment = ctx.Environment, Variables = ctx.Store, Secrets = ctx.Secrets })],
    };

    /// <summary>
    /// How to start this program again as a DAG-processor child: through the <c>dotnet</c> host with this assembly, or
    /// the application's own executable (a published build, the dotnet tool's shim). The child sees the same home.
    /// </summary>
    private static DagProcessorOptions ProcessorOptions(CliContext ctx)
    {
        var limit = ctx.Config.GetInt("dag_processor", "memory_limit_mb");
        if (limit is < 0 or > 0 and < 256)
        {
            // Below 256 MiB the compiler itself would be stopped.
            throw new SiroccoException($"[dag_processor] memory_limit_mb must be 0 (no limit) or at least 256 (MiB), got {limit}");
        }

        var assembly = typeof(Hosting).Assembly;
        var host = Environment.ProcessPath;
        string fileName;
        List<string> arguments = [];
        if (host is not null && Path.GetFileNameWithoutExtension(host) != "dotnet"
            && System.Reflection.Assembly.GetEntryAssembly() == assembly)
        {
            fileName = host;
        }
        else
        {
            fileName = host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
            arguments.Add(assembly.Location);
        }

        arguments.Add(ChildCommand);
        return new DagProcessorOptions
        {
            FileName = fileName,
            Arguments = arguments,
            Environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["SIROCCO_HOME"] = ctx.Home },
            MemoryLimitMegabytes = limit,

            // What DAG files print while parsed shows on this process's standard error, as before the children.
            Output = ctx.Error,
        };
    }

    /// <summary>The hidden command a DAG-processor child runs.</summary>
    public const string ChildCommand = "dag-processor-child";

    public static SchedulerServices Services(CliContext ctx) => new(ctx.Config, ctx.Variables, ctx.Connections, ctx.Masker, ctx.Runtime);

    public static SchedulerOptions Options(CliContext ctx, Action<string>? echo = null) =>
        SchedulerOptions.FromConfig(ctx.Config) with { LogEcho = echo, LoggerFactory = ctx.Logging };

    /// <summary>Parses the dags folder and records the DAGs and import errors in the store, as Airflow's CLI does.</summary>
    public static async Task<DagCollection> LoadDagsAsync(CliContext ctx, CancellationToken ct)
    {
        using var bag = CreateDagBag(ctx, watch: false);
        var collection = await new DagBagSource(bag).CollectAsync(ct);
        await SiroccoScheduler.SyncDagsAsync(ctx.Store, collection, Options(ctx), DateTimeOffset.UtcNow, ct);
        return collection;
    }

    public static async Task<Dag> GetDagAsync(CliContext ctx, string dagId, CancellationToken ct)
    {
        var collection = await LoadDagsAsync(ctx, ct);
        if (collection.Dags.TryGetValue(dagId, out var dag))
        {
            return dag;
        }

        var error = collection.ImportErrors.FirstOrDefault(e => e.Message.Contains(dagId, StringComparison.Ordinal));
        throw new SiroccoException(error is null
            ? $"Dag id {dagId} not found in {DagsFolder(ctx)}"
            : $"Dag id {dagId} not found: {error.FileName} failed to load: {error.Message}");
    }

    public static SiroccoScheduler CreateScheduler(CliContext ctx, IDagSource source, Action<string>? echo = null) =>
        new(ctx.Store, source, Services(ctx), Options(ctx, echo), new AirflowTaskRenderer());

    /// <summary>Whether Ctrl-C or SIGTERM arrived.</summary>
    public static bool ShutdownRequested { get; private set; }

    /// <summary>Cancelled on Ctrl-C or SIGTERM: the process stops cleanly.</summary>
    public static CancellationTokenSource ShutdownOnSignal()
    {
        var cts = new CancellationTokenSource();
        System.Runtime.InteropServices.PosixSignalRegistration? Register(System.Runtime.InteropServices.PosixSignal signal) =>
            System.Runtime.InteropServices.PosixSignalRegistration.Create(signal, c =>
            {
                c.Cancel = true;
                ShutdownRequested = true;
                cts.Cancel();
            });
        var registrations = new[] { Register(System.Runtime.InteropServices.PosixSignal.SIGINT), Register(System.Runtime.InteropServices.PosixSignal.SIGTERM) };
        cts.Token.Register(() =>
        {
            foreach (var r in registrations)
            {
                r?.Dispose();
            }
        });
        return cts;
    }
}
