using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// The slack provider's <c>send_slack_webhook_notification</c> / <c>SlackWebhookNotifier</c> as a callback that needs
/// no Python: renders <see cref="Text"/> (and the JSON of <see cref="Blocks"/> and <see cref="Attachments"/>) with the
/// callback's context and posts them to the incoming webhook of the connection (<c>slack_default</c>). The webhook's URL
/// is the connection's password when that is a URL, else its host (default <c>https://hooks.slack.com/services</c>)
/// followed by the password, the webhook token; the extra <c>timeout</c> (seconds, default 30) bounds the request.
/// </summary>
public sealed class SlackWebhookNotifier : BaseOperator
{
    private static readonly string[] Fields = [nameof(Text), nameof(Blocks), nameof(Attachments)];

    /// <summary>Creates the notifier.</summary>
    /// <param name="taskId">Its id (the task's or the DAG's id and the callback kind).</param>
    public SlackWebhookNotifier(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The message (a template). The provider's default text is kept.</summary>
    public string Text { get; set; } = "This is a default message";

    /// <summary>Block Kit blocks, as JSON text (its strings are templates); null sends none.</summary>
    public string? Blocks { get; set; }

    /// <summary>Legacy attachments, as JSON text (its strings are templates); null sends none.</summary>
    public string? Attachments { get; set; }

    /// <summary>Slack's <c>unfurl_links</c>; null leaves Slack's default.</summary>
    public bool? UnfurlLinks { get; set; }

    /// <summary>Slack's <c>unfurl_media</c>; null leaves Slack's default.</summary>
    public bool? UnfurlMedia { get; set; }

    /// <summary>The Slack incoming-webhook connection.</summary>
    public string SlackWebhookConnId { get; set; } = "slack_default";

    /// <summary>Seconds the request may take; null takes the connection's <c>timeout</c> extra, else 30.</summary>
    public int? Timeout { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <summary>The same notifier under another id (one per task or DAG that uses it).</summary>
    /// <param name="taskId">The new id.</param>
    public SlackWebhookNotifier CopyAs(string taskId) => new(taskId)
    {
        Text = Text, Blocks = Blocks, Attachments = Attachments, UnfurlLinks = UnfurlLinks, UnfurlMedia = UnfurlMedia,
        SlackWebhookConnId = SlackWebhookConnId, Timeout = Timeout,
    };

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
        var seconds = Timeout ?? (conn.ExtraDejson()["timeout"]?.GetValue<double>() is { } t ? (int)t : 30);
        var body = new JsonObject { ["text"] = Text };
        Add(body, "blocks", Blocks);
        Add(body, "attachments", Attachments);
        if (UnfurlLinks is { } links)
        {
            body["unfurl_links"] = links;
        }

        if (UnfurlMedia is { } media)
        {
            body["unfurl_media"] = media;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(seconds) };
        var where = $"{uri.Scheme}://{uri.Authority}";
        try
        {
            using var response = await http.PostAsJsonAsync(uri, body, cancellationToken).ConfigureAwait(false);
            var answer = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new SiroccoException($"SlackWebhookNotifier {TaskId}: {where} answered {(int)response.StatusCode}: {Shorten(answer)}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SiroccoException($"SlackWebhookNotifier {TaskId}: could not post to {where} (connection '{SlackWebhookConnId}'): {(e is TaskCanceledException ? $"no answer within {seconds} s" : e.Message)}", e);
        }

        context.Log($"Posted a Slack message through {where} (connection '{SlackWebhookConnId}')");
        return null;
    }

    private void Add(JsonObject body, string name, string? json)
    {
        if (json is null)
        {
            return;
        }

        try
        {
            body[name] = JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new SiroccoException($"SlackWebhookNotifier {TaskId}: {name} is not JSON after rendering: {e.Message}");
        }
    }

    private static string BaseUrl(string? host) => host is not { Length: > 0 }
        ? "https://hooks.slack.com/services"
        : (host.Contains("://", StringComparison.Ordinal) ? host : "https://" + host).TrimEnd('/');

    private static string Shorten(string s) => s.Length > 200 ? s[..200] + "…" : s;
}
