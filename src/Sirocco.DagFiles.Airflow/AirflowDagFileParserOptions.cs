using Sirocco.Variables;

namespace Sirocco.DagFiles.Airflow;

/// <summary>What the Airflow DAG-file reader needs from its host.</summary>
public sealed class AirflowDagFileParserOptions
{
    /// <summary>
    /// The clock of <c>datetime.now()</c>, <c>days_ago(n)</c> and <c>pendulum.today()</c> in DAG files (the system clock
    /// by default). The parse timeout is measured on a stopwatch, not on this clock.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// What <c>os.environ</c> / <c>os.getenv</c> see, and the <c>AIRFLOW_VAR_*</c> / <c>SIROCCO_VAR_*</c> overrides of
    /// <c>Variable.get</c>. Null (the default) takes the process environment once, when the parser is created.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Where <c>Variable.get(...)</c> at parse time reads Variables; null means none are stored.</summary>
    public IVariableStore? Variables { get; init; }

    /// <summary>
    /// The secrets backend (<c>[secrets] backend</c>) <c>Variable.get(...)</c> asks first at parse time, before the
    /// environment and <see cref="Variables"/>, as Airflow does; null means none.
    /// </summary>
    public Sirocco.Secrets.ISecretsBackend? Secrets { get; init; }

    /// <summary>The most statements, loop iterations and calls one file may run (1,000,000 by default).</summary>
    public long MaxSteps { get; init; } = 1_000_000;
}
