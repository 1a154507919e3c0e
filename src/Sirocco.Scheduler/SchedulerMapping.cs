using System.Text.Json;

namespace Sirocco.Scheduler;

/// <summary>Dynamic task mapping: a mapped task's instance (-1) expanded into one instance per item once its upstream tasks allow it to run.</summary>
public sealed partial class SiroccoScheduler
{
    /// <summary>
    /// Expands a mapped task whose waiting instances may run: index -1 becomes index 0, the other indexes are made,
    /// waiting ones beyond the new length are removed; none to map over skips it; a source that cannot be mapped over
    /// fails it, saying why in its log. Returns whether an instance ended (skipped, failed or removed).
    /// </summary>
    private async Task<bool> ExpandAsync(ActiveRun run, BaseOperator task, List<TaskInstance> waiting, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        long length;
        IReadOnlyList<IReadOnlyList<JsonElement>> items;
        try
        {
            items = await MapExpansion.ResolveAsync(_store, run.Dag, run.Run.RunId, task, ct).ConfigureAwait(false);
            length = TaskMapping.Length(items);
            if (length > _options.MaxMapLength)
            {
                throw new SiroccoException($"it would make {length} instances, more than [core] max_map_length ({_options.MaxMapLength})");
            }
        }
        catch (SiroccoException e)
        {
            SchedulerLog.ExpansionFailed(_log, run.Run.DagId, task.TaskId, run.Run.RunId, e.Message);
            foreach (var ti in waiting)
            {
                var failed = ti with { State = TaskInstanceState.Failed, TryNumber = Math.Max(1, ti.TryNumber), StartDate = now, EndDate = now };
                using (var log = new TaskLogWriter(TaskLogPaths.For(_options.LogFolder, ti.DagId, ti.TaskId, run.Run.LogicalDate, failed.TryNumber, ti.MapIndex), _services.Masker, _time))
                {
                    log.Error($"Could not expand the mapped task: {e.Message}");
                }

                Set(run, failed);
            }

            return true;
        }

        run.Tis.Expansions[task.TaskId] = items;
        SchedulerLog.Expanded(_log, run.Run.DagId, task.TaskId, run.Run.RunId, length);
        if (length == 0)
        {
            // As in Airflow: nothing to map over skips the task.
            foreach (var ti in waiting)
            {
                Set(run, ti with { State = TaskInstanceState.Skipped, StartDate = now, EndDate = now });
            }

            return true;
        }

        // A mapped EmptyOperator without callbacks or outlets ends without tries, each instance, as an unmapped one does.
        var withoutTry = EndsWithoutTry(task);
        var ended = withoutTry;
        TaskInstance Ready(TaskInstance ti) => withoutTry ? SucceededWithoutTry(ti, now) : ti with { State = TaskInstanceState.Scheduled };
        var made = new List<TaskInstance>();
        var existing = run.Tis.Of(task.TaskId).Select(t => t.MapIndex).ToHashSet();
        foreach (var ti in waiting)
        {
            if (ti.MapIndex == -1)
            {
                var first = Ready(ti with { MapIndex = 0, ChangedBy = null });
                run.Tis.Remove(ti);
                run.Tis.Put(first);
                _writes.Set(ti, first);
                existing.Add(0);
                made.Add(first);
                _changes++;
            }
            else if (ti.MapIndex < length)
            {
                var ready = Ready(ti);
                Set(run, ready);
                made.Add(ready);
            }
            else
            {
                Set(run, ti with { State = TaskInstanceState.Removed, EndDate = now });
                ended = true;
            }
        }

        var template = waiting[0];
        for (var i = 0; i < length; i++)
        {
            if (!existing.Contains(i))
            {
                var ti = Ready(new TaskInstance
                {
                    DagId = template.DagId,
                    TaskId = template.TaskId,
                    RunId = template.RunId,
                    MapIndex = i,
                    MaxTries = task.Retries + 1,
                    Operator = template.Operator,
                    Pool = template.Pool,
                    PoolSlots = template.PoolSlots,
                    PriorityWeight = template.PriorityWeight,
                });
                _writes.Insert(ti);
                run.Tis.Put(ti);
                made.Add(ti);
                _changes++;
            }
        }

        if (withoutTry)
        {
            foreach (var done in made)
            {
                TaskInstanceFinished?.Invoke(done);
            }
        }

        return ended;
    }

    /// <summary>A mapped instance's arguments from the run's expansion, or null (the executor resolves them).</summary>
    private static IReadOnlyList<KeyValuePair<string, JsonElement>>? MappedArguments(ActiveRun run, TaskInstance ti)
    {
        if (ti.MapIndex < 0 || !run.Tis.Expansions.TryGetValue(ti.TaskId, out var items) || run.Dag.GetTask(ti.TaskId).Mapping is not { } mapping)
        {
            return null;
        }

        return ti.MapIndex < TaskMapping.Length(items) ? mapping.ArgumentsAt(items, ti.MapIndex) : null;
    }
}
