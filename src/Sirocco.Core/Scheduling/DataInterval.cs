namespace Sirocco.Scheduling;

/// <summary>The span of data a DAG run covers: [<see cref="Start"/>, <see cref="End"/>).</summary>
/// <param name="Start">Start of the interval; a scheduled run's logical date.</param>
/// <param name="End">End of the interval; a scheduled run is created once this moment has passed.</param>
public readonly record struct DataInterval(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>An interval of no length at <paramref name="at"/> (used by <c>@once</c> and unscheduled DAGs).</summary>
    public static DataInterval Exact(DateTimeOffset at) => new(at, at);
}

/// <summary>The next run a schedule asks for.</summary>
/// <param name="Interval">The data interval; its start is the logical date.</param>
/// <param name="RunAfter">The earliest moment the run may be created.</param>
public readonly record struct NextRunInfo(DataInterval Interval, DateTimeOffset RunAfter)
{
    /// <summary>The run's logical date (the start of its data interval).</summary>
    public DateTimeOffset LogicalDate => Interval.Start;
}
