namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// The slack provider's <c>send_slack_webhook_notification</c> / <c>SlackWebhookNotifier</c> as a callback that needs
/// no Python: renders the message with the callback's context and posts it to the incoming webhook of the connection
/// (<c>slack_default</c>). The webhook's URL is the connection's password when that is a URL, else its host (default
/// <c>https://hooks.slack.com/services</c>) followed by the password, the webhook token, which is masked.
/// </summary>
public sealed class SlackWebhookNotifier : SlackMessageNotifier
{
    private static readonly string[] Fields = [nameof(Text), nameof(Blocks), nameof(Attachments)];

    /// <summary>Creates the notifier.</summary>
    /// <param name="taskId">Its id (the task's or the DAG's id and the callback kind).</param>
    public SlackWebhookNotifier(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The Slack incoming-webhook connection.</summary>
    public string SlackWebhookConnId { get; set; } = "slack_default";

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <summary>The same notifier under another id (one per task or DAG that uses it).</summary>
    /// <param name="taskId">The new id.</param>
    public SlackWebhookNotifier CopyAs(string taskId) => WithMessageOf(new SlackWebhookNotifier(taskId) { SlackWebhookConnId = SlackWebhookConnId });

    /// <summary>Posts the message (the templates were rendered by the scheduler).</summary>
    /// <param name="context">The callback's context: the log, the connections.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var conn = context.Connections.Get(SlackWebhookConnId);
        var token = conn.Password ?? string.Empty;
        var url = token.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || token.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? token
            : BaseUrl(conn.Host) + (token.Length > 0 ? "/" + token.TrimStart('/') : string.Empty);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || token.Length == 0)
        {
            throw new SiroccoException($"SlackWebhookNotifier {TaskId}: connection '{SlackWebhookConnId}' needs the webhook token (or the whole webhook URL) as its password");
        }

        context.Masker.Add(token);
        await PostAsync(uri, Message(), conn, bearer: null, cancellationToken).ConfigureAwait(false);
        context.Log($"Posted a Slack message through {Server(uri)} (connection '{SlackWebhookConnId}')");
        return null;
    }

    private static string BaseUrl(string? host) => host is not { Length: > 0 }
        ? "https://hooks.slack.com/services"
        : (host.Contains("://", StringComparison.Ordinal) ? host : "https://" + host).TrimEnd('/');
}
