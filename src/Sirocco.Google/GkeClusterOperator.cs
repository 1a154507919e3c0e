using System.Text.Json.Nodes;
using Sirocco.Google.Internal;

namespace Sirocco.Google;

/// <summary>
/// What the GKE cluster operators share: the project, location and connection, the provider's accepted keywords, and
/// a long-running operation polled every <see cref="PollInterval"/> seconds.
/// </summary>
public abstract class GkeClusterOperator : BaseOperator
{
    /// <summary>Creates the task.</summary>
    protected GkeClusterOperator(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The Google Cloud project; the connection's <c>project</c> when not given.</summary>
    public string? ProjectId { get; set; }

    /// <summary>The region or zone of the cluster.</summary>
    public string Location { get; set; } = string.Empty;

    /// <summary>The Google Cloud connection.</summary>
    public string GcpConnId { get; set; } = "google_cloud_default";

    /// <summary>The provider's API version keyword (accepted; the Container REST API v1 is called).</summary>
    public string ApiVersion { get; set; } = "v2";

    /// <summary>A service account to impersonate, or a chain (a list) whose last account is impersonated through the others.</summary>
    public object? ImpersonationChain { get; set; }

    /// <summary>Accepted: Sirocco's wait on the operation is asynchronous already.</summary>
    public bool Deferrable { get; set; }

    /// <summary>Seconds between polls of the operation.</summary>
    public double PollInterval { get; set; } = 10;

    /// <summary>The process's Google access, the connection's credential and the project.</summary>
    private protected async Task<(GoogleCloud Google, ResolvedCredential Credential, string Project)> ResolveAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(Location))
        {
            throw new SiroccoException($"task {TaskId}: {OperatorName} needs location");
        }

        var google = GoogleCloud.From(context.Services, $"task {TaskId}");
        var credential = await google.Credentials.ResolveAsync(context.Connections, GcpConnId, cancellationToken, ImpersonationChain).ConfigureAwait(false);
        var project = ProjectId ?? credential.Project
            ?? throw new SiroccoException($"task {TaskId}: no project_id, and connection '{GcpConnId}' names no project");
        return (google, credential, project);
    }

    /// <summary>Polls <paramref name="operation"/> until it is done, each poll in the try's log.</summary>
    private protected Task<JsonObject> WaitAsync(GoogleCloud google, ResolvedCredential credential, string project, JsonObject operation, TaskExecutionContext context, CancellationToken cancellationToken) =>
        google.Container.WaitAsync(project, Location, operation, credential, TimeSpan.FromSeconds(Math.Max(0.05, PollInterval)), context.Log, cancellationToken);
}
