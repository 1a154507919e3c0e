namespace Sirocco.Scheduler;

/// <summary>One try to run: its DAG, run and task instance (already stored as running), and, when the try is resumed after a restart, where its work runs ("" when that was never recorded).</summary>
/// <param name="Dag">The DAG.</param>
/// <param name="Run">The run.</param>
/// <param name="TaskInstance">The task instance, stored as running.</param>
/// <param name="ResumedExternalId">Where the resumed try's work runs, or null for a new try.</param>
/// <param name="MappedArguments">A mapped instance's arguments when the scheduler holds its expansion; null lets the executor resolve them.</param>
internal sealed record TryRequest(Dag Dag, DagRun Run, TaskInstance TaskInstance, string? ResumedExternalId, IReadOnlyList<KeyValuePair<string, System.Text.Json.JsonElement>>? MappedArguments = null);

/// <summary>
/// The executor seam: the one way the scheduler runs a try. The scheduler decides which tries start and records how
/// they end; the executor runs one and reports its outcome. It never throws: a failure is an outcome. It stops the try
/// when <see cref="TryControl.Kill"/> fires (the outcome is failed) and leaves the try's work running when
/// <see cref="TryControl.Shutdown"/> fires (the outcome is <see cref="TryResult.Interrupted"/>). The production executor
/// is <see cref="TryRunner"/>, which runs the task's operator with the runtime services (the Kubernetes runtime) the
/// composition root built.
/// </summary>
internal interface ITryExecutor
{
    /// <summary>Runs the try to its end, or until it is killed or the scheduler shuts down.</summary>
    Task<TryOutcome> RunAsync(TryRequest request, TryControl control);
}
