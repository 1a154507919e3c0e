namespace Sirocco;

/// <summary>
/// Thrown by an operator to end its try as <c>skipped</c> rather than failed (Airflow's AirflowSkipException), e.g. a
/// pod exiting with a code listed in <c>skip_on_exit_code</c>.
/// </summary>
public sealed class TaskSkippedException : SiroccoException
{
    /// <summary>Creates the exception with the reason written to the task log.</summary>
    public TaskSkippedException(string message)
        : base(message)
    {
    }
}
