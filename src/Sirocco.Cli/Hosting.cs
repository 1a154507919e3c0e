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

    public static DagBag CreateDagBag(CliContext ctx, bool watch)
    {
        var folder = DagsFolder(ctx);
        Directory.CreateDirectory(folder);
        return new DagBag(new DagBagOptions
        {
            DagsFolder = folder,
            CacheFolder = Path.Combine(ctx.Home, "cache", "dags"),
            ParseTimeout = TimeSpan.FromSeconds(ctx.Config.GetInt("core", "dagbag_import_timeout")),
            Watch = watch,

            // Airflow DAG files (*.py) that only use pods load unchanged; Variable.get at parse time reads the store.
            AdditionalParsers = [new DagFiles.Airflow.AirflowDagFileParser(new DagFiles.Airflow.AirflowDagFileParserOptions { Environment = ctx.Environment, Variables = ctx.Store, Secrets = ctx.Secrets })],
        });
    }

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
