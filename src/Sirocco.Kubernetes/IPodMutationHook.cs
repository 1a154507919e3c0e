using System.Text.Json.Nodes;

namespace Sirocco.Kubernetes;

/// <summary>
/// Airflow's <c>pod_mutation_hook</c>: changes every pod a try is about to create (the pod of a KubernetesPodOperator,
/// of a Python callable, of a callback), after the operator built it. Registered in the process's runtime services;
/// a pod try uses it when present.
/// </summary>
public interface IPodMutationHook
{
    /// <summary>Where the hook comes from (a file), for the try's log and errors.</summary>
    string Source { get; }

    /// <summary>
    /// Returns the pod to create, as Kubernetes JSON. Throws a <see cref="SiroccoException"/> saying what failed and
    /// where; the try then fails before any pod exists.
    /// </summary>
    /// <param name="pod">The pod the operator built (the hook may change it in place).</param>
    JsonObject Mutate(JsonObject pod);
}
