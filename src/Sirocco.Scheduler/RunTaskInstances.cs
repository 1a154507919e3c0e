using System.Text.Json;

namespace Sirocco.Scheduler;

/// <summary>
/// The task instances of a run the scheduler holds, by task and map index: one instance per ordinary task, one per
/// item of a mapped task once it is expanded (index -1 before).
/// </summary>
internal sealed class RunTaskInstances
{
    private readonly Dictionary<string, Dictionary<int, TaskInstance>> _byTask = new(StringComparer.Ordinal);

    public RunTaskInstances(IEnumerable<TaskInstance> tis)
    {
        foreach (var ti in tis)
        {
            Put(ti);
        }
    }

    public IEnumerable<TaskInstance> Values => _byTask.Values.SelectMany(d => d.Values);

    /// <summary>The items of each mapped task's sources as last expanded in this run (each instance's arguments come from them).</summary>
    public Dictionary<string, IReadOnlyList<IReadOnlyList<JsonElement>>> Expansions { get; } = new(StringComparer.Ordinal);

    public bool HasTask(string taskId) => _byTask.TryGetValue(taskId, out var d) && d.Count > 0;

    /// <summary>The instances of a task (unordered: every caller counts or filters them).</summary>
    public IEnumerable<TaskInstance> Of(string taskId) =>
        _byTask.TryGetValue(taskId, out var d) ? d.Values : [];

    public bool TryGet(string taskId, int mapIndex, out TaskInstance ti)
    {
        ti = null!;
        return _byTask.TryGetValue(taskId, out var d) && d.TryGetValue(mapIndex, out ti!);
    }

    public TaskInstance Get(TaskInstance key) =>
        TryGet(key.TaskId, key.MapIndex, out var ti) ? ti : throw new KeyNotFoundException($"no task instance {key.Key} in the run");

    public void Put(TaskInstance ti)
    {
        if (!_byTask.TryGetValue(ti.TaskId, out var d))
        {
            d = [];
            _byTask[ti.TaskId] = d;
        }

        d[ti.MapIndex] = ti;
    }

    public void Remove(TaskInstance ti)
    {
        if (_byTask.TryGetValue(ti.TaskId, out var d))
        {
            d.Remove(ti.MapIndex);
        }
    }
}
