using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.Google.Internal;

/// <summary>A Google REST API answered with an error (its code, status and message as Google gives them).</summary>
internal sealed class GoogleApiException : SiroccoException
{
    public GoogleApiException(string message, HttpStatusCode status)
        : base(message) => Status = status;

    public HttpStatusCode Status { get; }
}

/// <summary>
/// JSON requests to a Google REST API with a bearer token, each bounded by the options' timeout. No package serves
/// the Container and Secret Manager REST APIs here (only their gRPC clients), so these few calls are written out.
/// </summary>
internal sealed class GoogleRest : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _api;

    public GoogleRest(Uri endpoint, string api, TimeSpan timeout)
    {
        _http = new HttpClient { BaseAddress = endpoint, Timeout = timeout };
        _api = api;
    }

    /// <summary>How many requests were sent (the benchmark counts Google calls per try).</summary>
    public int Requests => _requests;

    private int _requests;

    public async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonObject? body, ResolvedCredential credential, CancellationToken cancellationToken)
    {
        var token = await credential.AccessTokenAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        Interlocked.Increment(ref _requests);
        var url = new Uri(_http.BaseAddress!, path.TrimStart('/'));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SiroccoException($"{_api}: {method} {url} failed: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SiroccoException($"{_api}: {method} {url} got no answer within {_http.Timeout.TotalSeconds:0} s", e);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? json = null;
            try
            {
                json = text.Length == 0 ? new JsonObject() : JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                // Reported below with the status.
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = json?["error"]?["message"]?.GetValue<string>() ?? (text.Length > 300 ? text[..300] : text);
                var status = json?["error"]?["status"]?.GetValue<string>();
                throw new GoogleApiException(
                    $"{_api}: {method} {url} answered {(int)response.StatusCode}{(status is null ? "" : " " + status)}: {message}",
                    response.StatusCode);
            }

            return json as JsonObject ?? throw new SiroccoException($"{_api}: {method} {url} answered something that is not a JSON object");
        }
    }

    public void Dispose() => _http.Dispose();
}
