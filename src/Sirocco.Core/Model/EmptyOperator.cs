namespace Sirocco;

/// <summary>A task that does nothing (Airflow's EmptyOperator / DummyOperator); useful to group dependencies.</summary>
public sealed class EmptyOperator : BaseOperator
{
    /// <summary>Creates a no-op task.</summary>
    public EmptyOperator(string taskId)
        : base(taskId)
    {
    }

    /// <inheritdoc/>
    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) =>
        Task.FromResult<object?>(null);
}
