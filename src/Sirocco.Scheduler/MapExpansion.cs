using System.Text.Json;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// Resolves what a mapped task maps over in one run: each source's items (a literal list or dict, or an upstream
/// task's XCom; a mapped upstream gives the list of its instances' values in map index order).
/// </summary>
public static class MapExpansion
{
    /// <summary>Each source's items for <paramref name="task"/> in the run, in the order of its mapping.</summary>
    public static async Task<IReadOnlyList<IReadOnlyList<JsonElement>>> ResolveAsync(IMetadataStore store, Dag dag, string runId, BaseOperator task, CancellationToken ct)
    {
        var mapping = task.Mapping ?? throw new InvalidOperationException($"{task.TaskId} is not mapped");
        var sources = mapping.Kwargs is { } kwargs ? [kwargs] : mapping.Arguments.Select(a => a.Value).ToList();
        var items = new List<IReadOnlyList<JsonElement>>(sources.Count);
        foreach (var source in sources)
        {
            items.Add(await ItemsAsync(store, dag, runId, source, ct).ConfigureAwait(false));
        }

        return items;
    }

    private static async Task<IReadOnlyList<JsonElement>> ItemsAsync(IMetadataStore store, Dag dag, string runId, MapSource source, CancellationToken ct)
    {
        JsonElement value;
        switch (source)
        {
            case LiteralMapSource literal:
                value = literal.Values;
                break;
            case XComMapSource xcom:
                value = await PullAsync(store, dag, runId, xcom, ct).ConfigureAwait(false);
                break;
            case ZipMapSource zip:
                var parts = new List<IReadOnlyList<JsonElement>>(zip.Sources.Count);
                foreach (var part in zip.Sources)
                {
                    parts.Add(await ItemsAsync(store, dag, runId, part, ct).ConfigureAwait(false));
                }

                value = zip.Combine(parts);
                break;
            default:
                throw new SiroccoException($"unknown map source {source.GetType().Name}");
        }

        return TaskMapping.Items(value, source);
    }

    /// <summary>The arguments of one mapped instance, resolved from the store (the UI shows them; a resumed try uses them).</summary>
    public static async Task<IReadOnlyList<KeyValuePair<string, JsonElement>>> ArgumentsAsync(IMetadataStore store, Dag dag, TaskInstance ti, BaseOperator task, CancellationToken ct)
    {
        var items = await ResolveAsync(store, dag, ti.RunId, task, ct).ConfigureAwait(false);
        var length = TaskMapping.Length(items);
        return ti.MapIndex >= 0 && ti.MapIndex < length
            ? task.Mapping!.ArgumentsAt(items, ti.MapIndex)
            : throw new SiroccoException($"map index {ti.MapIndex} is out of range: the mapped task now expands into {length} instances; clear it to expand it again");
    }

    /// <summary>
    /// What <c>xcom_pull</c> gives for a task's XCom in a run: its value, or for a mapped task the list of its
    /// instances' values in map index order (Airflow's lazy sequence); null when nothing was pushed.
    /// </summary>
    public static async Task<JsonElement?> PullAsync(IMetadataStore store, Dag dag, string runId, string taskId, string key, CancellationToken ct)
    {
        if (dag.HasTask(taskId) && dag.GetTask(taskId).IsMapped)
        {
            var values = (await store.ListXComsAsync(dag.DagId, runId, taskId, ct).ConfigureAwait(false))
                .Where(x => x.Key == key && x.MapIndex >= 0)
                .OrderBy(x => x.MapIndex)
                .Select(x => x.Value)
                .ToList();
            return values.Count == 0 ? null : JsonSerializer.SerializeToElement(values);
        }

        return (await store.GetXComAsync(dag.DagId, taskId, runId, key, -1, ct).ConfigureAwait(false))?.Value;
    }

    private static async Task<JsonElement> PullAsync(IMetadataStore store, Dag dag, string runId, XComMapSource source, CancellationToken ct)
    {
        if (!dag.HasTask(source.TaskId))
        {
            throw new SiroccoException($"cannot map over {source.Describe()}: the DAG has no task '{source.TaskId}'");
        }

        if (await PullAsync(store, dag, runId, source.TaskId, source.Key, ct).ConfigureAwait(false) is { } value)
        {
            return value;
        }

        return dag.GetTask(source.TaskId).IsMapped
            ? JsonSerializer.SerializeToElement(Array.Empty<object>())
            : throw new SiroccoException(
                $"cannot map over {source.Describe()}: it pushed no XCom '{source.Key}' (a task whose result is mapped over must return a list or a dict; is do_xcom_push on?)");
    }
}
