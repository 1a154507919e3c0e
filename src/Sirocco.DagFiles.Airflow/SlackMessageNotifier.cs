using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// What the slack provider's two notifiers share: the message (<see cref="Text"/>, <see cref="Blocks"/>,
/// <see cref="Attachments"/>, unfurling), its templates, and one bounded POST whose failure names the server and never
/// the token.
/// </summary>
public abstract class SlackMessageNotifier : BaseOperator
{
    /// <summary>Creates the notifier.</summary>
    /// <param name="taskId">Its id (the task's or the DAG's id and the callback kind).</param>
    protected SlackMessageNotifier(string taskId)
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

    /// <summary>Seconds the request may take; null takes the connection's <c>timeout</c> extra, else 30.</summary>
    public int? Timeout { get; set; }

    /// <summary>Copies the message's settings onto <paramref name="copy"/> and returns it.</summary>
    /// <typeparam name="T">The notifier's type.</typeparam>
    /// <param name="copy">A new notifier of the same type.</param>
    protected T WithMessageOf<T>(T copy)
        where T : SlackMessageNotifier
    {
        ArgumentNullException.ThrowIfNull(copy);
        copy.Text = Text;
        copy.Blocks = Blocks;
        copy.Attachments = Attachments;
        copy.UnfurlLinks = UnfurlLinks;
        copy.UnfurlMedia = UnfurlMedia;
        copy.Timeout = Timeout;
        return copy;
    }

    /// <summary>The message as Slack's JSON: <c>text</c>, then the blocks, attachments and unfurling given.</summary>
    protected JsonObject Message()
    {
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

        return body;
    }

    /// <summary>Posts <paramref name="body"/> and returns the answer's text; any failure is an error naming the server.</summary>
    /// <param name="uri">Where.</param>
    /// <param name="body">The JSON.</param>
    /// <param name="connection">The connection (its <c>timeout</c> extra, and for messages).</param>
    /// <param name="bearer">A token for the Authorization header, or null.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    protected async Task<string> PostAsync(Uri uri, JsonObject body, Sirocco.Connections.Connection connection, string? bearer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(connection);
        var seconds = Timeout ?? (int)(ConnectionExtras.Number(connection.ExtraDejson()["timeout"]) ?? 30);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(seconds) };
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = JsonContent.Create(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? text
                : throw new SiroccoException($"{GetType().Name} {TaskId}: {Server(uri)} answered {(int)response.StatusCode}: {(text.Length > 200 ? text[..200] + "…" : text)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SiroccoException($"{GetType().Name} {TaskId}: could not post to {Server(uri)} (connection '{connection.ConnId}'): {(e is TaskCanceledException ? $"no answer within {seconds} s" : e.Message)}", e);
        }
    }

    /// <summary>The scheme and authority of <paramref name="uri"/>: what a message may name (the path can hold a token).</summary>
    /// <param name="uri">The address.</param>
    protected static string Server(Uri uri) => $"{uri?.Scheme}://{uri?.Authority}";

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
            throw new SiroccoException($"{GetType().Name} {TaskId}: {name} is not JSON after rendering: {e.Message}");
        }
    }
}
