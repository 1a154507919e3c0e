namespace Sirocco.Kubernetes;

/// <summary>
/// Runs the pod in a named GKE cluster (project, location, cluster), as Airflow's Google provider's
/// <c>GKEStartPodOperator</c>; everything else is <see cref="KubernetesPodOperator"/>'s. The cluster's endpoint and CA
/// are read from the Kubernetes Engine API and the API server is called with Google tokens of
/// <see cref="GcpConnId"/> (application default credentials when that connection is not defined), refreshed while
/// the pod runs. A <see cref="KubernetesPodOperator.ConfigFile"/> given anyway wins (a Sirocco extension, for a
/// kubeconfig written by <c>gcloud container clusters get-credentials</c>).
/// </summary>
public class GKEStartPodOperator : KubernetesPodOperator
{
    private static readonly string[] GkeFields = [nameof(ProjectId), nameof(Location), nameof(ClusterName), nameof(ImpersonationChain)];

    /// <summary>Creates the task.</summary>
    public GKEStartPodOperator(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The template fields: the pod operator's plus the cluster's coordinates.</summary>
    public override IReadOnlyList<string> TemplateFields => [.. base.TemplateFields, .. GkeFields];

    /// <summary>The Google Cloud project of the cluster; the connection's (or the key's) project when not given.</summary>
    public string? ProjectId { get; set; }

    /// <summary>The cluster's region or zone, e.g. <c>us-central1</c>.</summary>
    public string? Location { get; set; }

    /// <summary>The GKE cluster's name.</summary>
    public string? ClusterName { get; set; }

    /// <summary>Whether the cluster's private endpoint is used.</summary>
    public bool UseInternalIp { get; set; }

    /// <summary>The Google Cloud connection (<c>google_cloud_default</c>).</summary>
    public string GcpConnId { get; set; } = "google_cloud_default";

    /// <summary>
    /// A service account to impersonate, or a chain (a list, or comma-separated text) whose last account is
    /// impersonated through the others; the Google calls and the API server's token are then that account's.
    /// </summary>
    public object? ImpersonationChain { get; set; }

    /// <summary>The provider's deprecated <c>regional</c> flag: accepted; <see cref="Location"/> says region or zone.</summary>
    public bool Regional { get; set; }

    /// <inheritdoc/>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(Location) || string.IsNullOrEmpty(ClusterName))
        {
            throw new SiroccoException($"task {TaskId}: GKEStartPodOperator needs location and cluster_name");
        }

        return await base.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
    }
}
