using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// Data-aware scheduling (Airflow's datasets, Airflow 3's assets): a successful task's <c>outlets</c> are recorded and
/// queued for the DAGs scheduled on them; a DAG whose every dataset has a queued update gets a run.
/// </summary>
public sealed partial class SiroccoScheduler
{
    private async Task RecordDatasetUpdatesAsync(BaseOperator task, TaskInstance finished, CancellationToken ct)
    {
        var at = finished.EndDate ?? _time.GetUtcNow();
        foreach (var uri in task.Outlets.Distinct(StringComparer.Ordinal))
        {
            var consumers = _dags.Values.Where(d => d.Schedule.DatasetUris.Contains(uri, StringComparer.Ordinal)).Select(d => d.DagId).ToList();
            await _store.RecordDatasetUpdateAsync(new DatasetUpdate(uri, finished.DagId, finished.TaskId, finished.RunId, finished.MapIndex, at), consumers, ct).ConfigureAwait(false);
            SchedulerLog.DatasetUpdated(_log, uri, finished.DagId, finished.TaskId, consumers.Count);
        }

        Interlocked.Exchange(ref _sweepRequested, 1); // the consumers' runs are made by the next sweep
    }

    /// <summary>Creates a run for each unpaused DAG whose every dataset has a queued update, taking the updates.</summary>
    private async Task CreateDatasetRunsAsync(CancellationToken ct)
    {
        var consumers = _dags.Values.Where(d => d.Schedule.DatasetUris.Count > 0).ToList();
        if (consumers.Count == 0)
        {
            return;
        }

        var queued = (await _store.ListDatasetQueueAsync(ct).ConfigureAwait(false))
            .GroupBy(q => q.TargetDagId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(q => q.Uri).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var dag in consumers)
        {
            var uris = dag.Schedule.DatasetUris;
            if (_dagModels.GetValueOrDefault(dag.DagId)?.IsPaused != false || !queued.TryGetValue(dag.DagId, out var have) || !uris.All(have.Contains))
            {
                continue;
            }

            var now = _time.GetUtcNow();
            var run = DagRun.Create(dag.DagId, DagRunType.DatasetTriggered, now, Scheduling.DataInterval.Exact(now), now, null);
            if (await _store.CreateDatasetTriggeredRunAsync(run, [.. uris.Distinct(StringComparer.Ordinal)], ct).ConfigureAwait(false))
            {
                SchedulerLog.DatasetRunCreated(_log, dag.DagId, run.RunId, string.Join(", ", uris));
            }
        }
    }
}
