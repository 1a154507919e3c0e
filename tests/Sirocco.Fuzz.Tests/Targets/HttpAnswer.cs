using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Fuzz;

/// <summary>A server's answer to one generated request: the status, the body's media type and text.</summary>
/// <param name="Status">The status code.</param>
/// <param name="MediaType">The Content-Type's media type, if any.</param>
/// <param name="Text">The body.</param>
internal sealed record HttpAnswer(int Status, string? MediaType, string Text)
{
    /// <summary>Sends a request with a raw body and reads the whole answer.</summary>
    /// <param name="client">The client (its base address and credentials).</param>
    /// <param name="method">The method.</param>
    /// <param name="path">The path and query, relative to the client's base address.</param>
    /// <param name="contentType">The Content-Type sent as given, unchecked (none when null).</param>
    /// <param name="body">The body.</param>
    /// <param name="closeConnection">Asks for the connection to be closed after the answer.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<HttpAnswer> SendAsync(
        HttpClient client, string method, string path, string? contentType, byte[] body, bool closeConnection, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        message.Headers.ConnectionClose = closeConnection;
        using var response = await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new HttpAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text);
    }

    /// <summary>The body as JSON; a failure when it is not JSON.</summary>
    public JsonNode? Json()
    {
        try
        {
            return JsonNode.Parse(Text);
        }
        catch (JsonException e)
        {
            throw new FuzzFailureException($"answered {Status} with a body that is not JSON ({e.Message}): {Text}");
        }
    }

    /// <summary>A string member of the JSON body, or null.</summary>
    public static string? Member(JsonNode? body, string name) =>
        body is JsonObject o && o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
