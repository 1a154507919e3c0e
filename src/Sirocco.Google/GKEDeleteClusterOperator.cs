namespace Sirocco.Google;

/// <summary>
/// Deletes a GKE cluster, as the Google provider's <c>GKEDeleteClusterOperator</c>: the delete operation is polled
/// until it is done; a cluster that does not exist (404) counts as deleted. Returns the operation's link.
/// </summary>
public sealed class GKEDeleteClusterOperator : GkeClusterOperator
{
    private static readonly string[] Fields = [nameof(ProjectId), nameof(Location), nameof(ClusterName), nameof(GcpConnId), nameof(ImpersonationChain)];

    /// <summary>Creates the task.</summary>
    public GKEDeleteClusterOperator(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The cluster to delete (the provider's older keyword <c>name</c> too).</summary>
    public string ClusterName { get; set; } = string.Empty;

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <inheritdoc/>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(ClusterName))
        {
            throw new SiroccoException($"task {TaskId}: GKEDeleteClusterOperator needs cluster_name");
        }

        var (google, credential, project) = await ResolveAsync(context, cancellationToken).ConfigureAwait(false);
        var path = Internal.ContainerApi.ClusterPath(project, Location, ClusterName);
        context.Log($"Deleting GKE cluster {path} (credentials from {credential.Source})");
        var operation = await google.Container.DeleteClusterAsync(project, Location, ClusterName, credential, cancellationToken).ConfigureAwait(false);
        google.Forget(project, Location, ClusterName);
        if (operation is null)
        {
            context.Log($"Assuming Success: cluster {path} does not exist");
            return null;
        }

        var done = await WaitAsync(google, credential, project, operation, context, cancellationToken).ConfigureAwait(false);
        context.Log($"Cluster {path} deleted");
        return done["selfLink"]?.GetValue<string>();
    }
}
