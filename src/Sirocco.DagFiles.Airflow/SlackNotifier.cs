using System.Text.Json.Nodes;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// The slack provider's <c>send_slack_notification</c> / <c>SlackNotifier</c> as a callback that needs no Python:
/// renders the message with the callback's context and posts it with Slack's Web API (<c>chat.postMessage</c>) using
/// the connection's token (its password; <c>slack_api_default</c>). The extra <c>base_url</c> changes the API's
/// address (default <c>https://slack.com/api/</c>). Slack's <c>ok: false</c> is a failure with its error, as the
/// provider raises.
/// </summary>
public sealed class SlackNotifier : SlackMessageNotifier
{
    private static readonly string[] Fields = [nameof(Text), nameof(Channel), nameof(Username), nameof(IconUrl), nameof(Blocks), nameof(Attachments)];

    /// <summary>Creates the notifier.</summary>
    /// <param name="taskId">Its id (the task's or the DAG's id and the callback kind).</param>
    public SlackNotifier(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The channel (a template); the provider's default is <c>#general</c>.</summary>
    public string Channel { get; set; } = "#general";

    /// <summary>The name the message is posted as.</summary>
    public string Username { get; set; } = "Airflow";

    /// <summary>The icon of the message.</summary>
    public string IconUrl { get; set; } = "https://raw.githubusercontent.com/apache/airflow/main/airflow/www/static/pin_100.png";

    /// <summary>The Slack API connection.</summary>
    public string SlackConnId { get; set; } = "slack_api_default";

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <summary>The same notifier under another id (one per task or DAG that uses it).</summary>
    /// <param name="taskId">The new id.</param>
    public SlackNotifier CopyAs(string taskId) =>
        WithMessageOf(new SlackNotifier(taskId) { Channel = Channel, Username = Username, IconUrl = IconUrl, SlackConnId = SlackConnId });

    /// <summary>Posts the message (the templates were rendered by the scheduler).</summary>
    /// <param name="context">The callback's context: the log, the connections.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var conn = context.Connections.Get(SlackConnId);
        var token = conn.Password is { Length: > 0 } p ? p : throw new SiroccoException($"SlackNotifier {TaskId}: connection '{SlackConnId}' needs the Slack API token as its password");
        context.Masker.Add(token);
        var baseUrl = ConnectionExtras.Str(conn.ExtraDejson()["base_url"]) is { Length: > 0 } b ? b : "https://slack.com/api/";
        var uri = new Uri(new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"), "chat.postMessage");
        var body = Message();
        body["channel"] = Channel;
        body["username"] = Username;
        body["icon_url"] = IconUrl;
        var text = await PostAsync(uri, body, conn, token, cancellationToken).ConfigureAwait(false);
        JsonNode? answer;
        try
        {
            answer = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            answer = null;
        }

        if (answer?["ok"]?.GetValueKind() != System.Text.Json.JsonValueKind.True)
        {
            throw new SiroccoException($"SlackNotifier {TaskId}: Slack refused the message to {Channel}: {answer?["error"]?.ToString() ?? "an answer that is not Slack's JSON"}");
        }

        context.Log($"Posted a Slack message to {Channel} through {Server(uri)} (connection '{SlackConnId}')");
        return null;
    }
}
