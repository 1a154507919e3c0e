namespace Sirocco;

/// <summary>A problem of a DAG that does not stop it from loading, as Airflow's <c>dag_warning</c> rows.</summary>
/// <param name="WarningType">The kind, e.g. <see cref="KubernetesModel"/>.</param>
/// <param name="Message">What is wrong and where (<c>file:line:col: ...</c> when the loader knows the place).</param>
public sealed record DagWarning(string WarningType, string Message)
{
    /// <summary>A Kubernetes model object of a DAG file holds a value of the wrong type (Python does not check them).</summary>
    public const string KubernetesModel = "kubernetes model";
}
