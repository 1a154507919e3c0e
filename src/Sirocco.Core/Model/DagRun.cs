using System.Text.Json.Nodes;
using Sirocco.Scheduling;

namespace Sirocco;

/// <summary>One run of a DAG for a logical date.</summary>
public sealed record DagRun
{
    /// <summary>The DAG.</summary>
    public required string DagId { get; init; }

    /// <summary>The run id, unique per DAG: <c>scheduled__2024-01-01T00:00:00+00:00</c>, <c>manual__...</c>.</summary>
    public required string RunId { get; init; }

    /// <summary>How the run was created.</summary>
    public required DagRunType RunType { get; init; }

    /// <summary>The logical date: the data interval's start for scheduled runs, the trigger time for manual ones.</summary>
    public required DateTimeOffset LogicalDate { get; init; }

    /// <summary>The data interval the run covers.</summary>
    public required DataInterval DataInterval { get; init; }

    /// <summary>The run's state.</summary>
    public DagRunState State { get; init; } = DagRunState.Queued;

    /// <summary>The trigger's configuration (a JSON object), available to templates as <c>dag_run.conf</c>.</summary>
    public JsonObject Conf { get; init; } = [];

    /// <summary>When the run was queued.</summary>
    public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>When the run started running.</summary>
    public DateTimeOffset? StartDate { get; init; }

    /// <summary>When the run finished.</summary>
    public DateTimeOffset? EndDate { get; init; }

    /// <summary>Whether a user or the API created the run.</summary>
    public bool ExternalTrigger => RunType == DagRunType.Manual;

    /// <summary>
    /// The one factory of new runs: dates in UTC, Airflow's run id unless <paramref name="runId"/> is given, state queued.
    /// A run is stored by the metadata store's <c>CreateDagRunAsync</c>, which refuses a duplicate by its key.
    /// </summary>
    public static DagRun Create(string dagId, DagRunType runType, DateTimeOffset logicalDate, DataInterval dataInterval, DateTimeOffset queuedAt, JsonObject? conf = null, string? runId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dagId);
        logicalDate = logicalDate.ToUniversalTime();
        return new DagRun
        {
            DagId = dagId,
            RunId = runId ?? GenerateRunId(runType, logicalDate),
            RunType = runType,
            LogicalDate = logicalDate,
            DataInterval = dataInterval,
            State = DagRunState.Queued,
            Conf = conf ?? [],
            QueuedAt = queuedAt,
        };
    }

    /// <summary>Airflow's run id: <c>{run_type}__{logical date in ISO 8601}</c>.</summary>
    public static string GenerateRunId(DagRunType runType, DateTimeOffset logicalDate) =>
        $"{runType.ToName()}__{AirflowTime.IsoFormat(logicalDate.ToUniversalTime())}";
}
