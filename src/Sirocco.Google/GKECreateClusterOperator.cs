using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Google;

/// <summary>
/// Creates a GKE cluster, as the Google provider's <c>GKECreateClusterOperator</c>: <see cref="Body"/> is the Container
/// API's <c>Cluster</c> (a <c>name</c>, and <c>initial_node_count</c> or <c>node_pools</c>, not both), sent as given; the create
/// operation is polled every <see cref="GkeClusterOperator.PollInterval"/> seconds until it is done. A cluster that already exists (409)
/// counts as created. Returns the cluster's link (the operation's target, or the existing cluster's selfLink).
/// </summary>
public sealed class GKECreateClusterOperator : GkeClusterOperator
{
    private static readonly string[] Fields = [nameof(ProjectId), nameof(Location), nameof(Body), nameof(GcpConnId), nameof(ImpersonationChain)];

    /// <summary>Creates the task.</summary>
    public GKECreateClusterOperator(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The cluster, as the Container API's <c>Cluster</c> (snake_case or camelCase field names, sent as given).</summary>
    public IDictionary<string, object?>? Body { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <inheritdoc/>
    public override BaseOperator CloneForTry()
    {
        var copy = (GKECreateClusterOperator)base.CloneForTry();
        copy.Body = Body is null ? null : new Dictionary<string, object?>(Body, StringComparer.Ordinal);
        return copy;
    }

    /// <inheritdoc/>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cluster = ClusterBody();
        var name = cluster["name"]!.GetValue<string>();
        var (google, credential, project) = await ResolveAsync(context, cancellationToken).ConfigureAwait(false);
        var path = Internal.ContainerApi.ClusterPath(project, Location, name);
        context.Log($"Creating GKE cluster {path} (credentials from {credential.Source})");
        var operation = await google.Container.CreateClusterAsync(project, Location, cluster, credential, cancellationToken).ConfigureAwait(false);
        google.Forget(project, Location, name);
        if (operation is null)
        {
            // As the provider: the existing cluster counts as created, and its link is the result.
            context.Log($"Assuming Success: cluster {path} already exists");
            var existing = await google.Container.GetClusterAsync(project, Location, name, credential, cancellationToken).ConfigureAwait(false);
            return existing["selfLink"]?.GetValue<string>() ?? path;
        }

        var done = await WaitAsync(google, credential, project, operation, context, cancellationToken).ConfigureAwait(false);
        context.Log($"Cluster {path} created (operation {done["name"]?.GetValue<string>()})");
        return done["targetLink"]?.GetValue<string>() ?? path;
    }

    /// <summary>
    /// The body as JSON, as given: Google's REST API takes the proto field names (snake_case) as well as camelCase, and
    /// keys inside maps (resource labels, node labels, metadata) must not be renamed. The provider's checks of name
    /// and node counts, with either spelling.
    /// </summary>
    private JsonObject ClusterBody()
    {
        if (Body is null || Body.Count == 0)
        {
            throw new SiroccoException($"task {TaskId}: GKECreateClusterOperator needs body (the cluster to create)");
        }

        var json = JsonSerializer.SerializeToNode(Body) as JsonObject ?? throw new SiroccoException($"task {TaskId}: body must be a dict");
        if (json["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name) || name.Length == 0)
        {
            throw new SiroccoException($"task {TaskId}: body has no 'name'");
        }

        JsonNode? Field(string snake, string camel) => json[snake] ?? json[camel];
        var hasCount = Field("initial_node_count", "initialNodeCount") is not null;
        var hasPools = Field("node_pools", "nodePools") is JsonArray { Count: > 0 };
        if (hasCount && hasPools)
        {
            throw new SiroccoException($"task {TaskId}: body gives both initial_node_count and node_pools; give one");
        }

        if (!hasCount && !hasPools && Field("autopilot", "autopilot")?["enabled"]?.GetValue<bool>() != true)
        {
            throw new SiroccoException($"task {TaskId}: body needs initial_node_count or node_pools (or autopilot.enabled)");
        }

        return json;
    }
}
