using System.Text.Json;

namespace Sirocco;

/// <summary>A value a task shared with later tasks (Airflow's XCom), stored as JSON.</summary>
public sealed record XComEntry
{
    /// <summary>The key under which a task's result is pushed.</summary>
    public const string ReturnValueKey = "return_value";

    /// <summary>The DAG.</summary>
    public required string DagId { get; init; }

    /// <summary>The task that pushed it.</summary>
    public required string TaskId { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>Index in a mapped task; -1 for an unmapped task.</summary>
    public int MapIndex { get; init; } = -1;

    /// <summary>The key (<see cref="ReturnValueKey"/> for a task's result).</summary>
    public required string Key { get; init; }

    /// <summary>The value as JSON.</summary>
    public required JsonElement Value { get; init; }

    /// <summary>When it was pushed.</summary>
    public DateTimeOffset Timestamp { get; init; }
}
