using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Fidelity.Tests.Harness;

namespace Sirocco.Fidelity.Tests.Corpus;

/// <summary>What one cluster answered to one request: the status code and the body (a JSON array of events for a watch).</summary>
public sealed record Answer(int Code, JsonNode? Body, string Text);

/// <summary>Sends a case's requests to one cluster.</summary>
public static class Runner
{
    private static readonly TimeSpan WatchIdle = TimeSpan.FromSeconds(2);

    public static async Task<(List<Answer> Setup, List<Answer> Steps)> RunAsync(Endpoint endpoint, Case c)
    {
        if (!c.Isolated)
        {
            await EmptyAsync(endpoint, c.Namespace);
        }

        string? rv = null;
        var setup = new List<Answer>();
        foreach (var r in c.Setup)
        {
            var a = await SendAsync(endpoint, r, c.Namespace, rv);
            rv = ResourceVersion(a.Body) ?? rv;
            setup.Add(a);
        }

        var steps = new List<Answer>();
        foreach (var r in c.Steps)
        {
            var a = await SendAsync(endpoint, r, c.Namespace, rv);
            rv = r.KeepsVersion ? rv : ResourceVersion(a.Body) ?? rv;
            steps.Add(a);
        }

        return (setup, steps);
    }

    /// <summary>Deletes what earlier cases left in the shared namespace (not what the controllers put there).</summary>
    private static async Task EmptyAsync(Endpoint endpoint, string ns)
    {
        string[] collections =
        [
            "pods?gracePeriodSeconds=0", "configmaps?fieldSelector=metadata.name%21%3Dkube-root-ca.crt",
            "serviceaccounts?fieldSelector=metadata.name%21%3Ddefault", "events",
        ];

        // Secrets one by one: keep only the real server's token secrets of the default account.
        var secrets = JsonNode.Parse(await endpoint.Http.GetStringAsync($"/api/v1/namespaces/{ns}/secrets"))!["items"]!.AsArray();
        foreach (var name in secrets.Select(i => i!["metadata"]!["name"]!.GetValue<string>()).Where(n => !n.StartsWith("default-token-", StringComparison.Ordinal)))
        {
            using var response = await endpoint.Http.DeleteAsync($"/api/v1/namespaces/{ns}/secrets/{name}");
        }

        foreach (var collection in collections)
        {
            using var response = await endpoint.Http.DeleteAsync($"/api/v1/namespaces/{ns}/{collection}");
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{endpoint.Name}: emptying {ns}/{collection} gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        // Pods go once their processes are gone (at once on the real server with a grace period of 0).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (JsonNode.Parse(await endpoint.Http.GetStringAsync($"/api/v1/namespaces/{ns}/pods"))!["items"]!.AsArray().Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    private static string? ResourceVersion(JsonNode? body) =>
        body is JsonObject o && o["metadata"]?["resourceVersion"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static async Task<Answer> SendAsync(Endpoint endpoint, Req r, string ns, string? rv)
    {
        var path = r.Path.Replace("{ns}", ns, StringComparison.Ordinal).Replace("{rv}", rv ?? "0", StringComparison.Ordinal);
        var body = r.Body?.Replace("{ns}", ns, StringComparison.Ordinal).Replace("{rv}", rv ?? "0", StringComparison.Ordinal);
        if (r.Events > 0)
        {
            return await WatchAsync(endpoint, path, r.Events);
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var request = new HttpRequestMessage(new HttpMethod(r.Method), path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(r.ContentType);
            }

            request.Headers.Accept.ParseAdd("application/json");
            if (r.As is { } account)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await TokenAsync(endpoint, ns, account));
            }

            using var response = await endpoint.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var answer = new Answer((int)response.StatusCode, Parse(text), text);
            if (r.Until is null || r.Until(answer.Body) || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A token of a service account, asked of the cluster with the admin's credentials.</summary>
    private static async Task<string> TokenAsync(Endpoint endpoint, string ns, string account)
    {
        using var content = new StringContent("""{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}""", Encoding.UTF8, "application/json");
        using var response = await endpoint.Http.PostAsync($"/api/v1/namespaces/{ns}/serviceaccounts/{account}/token", content);
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text)?["status"]?["token"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"{endpoint.Name}: no token for {ns}/{account}: {(int)response.StatusCode} {text}");
    }

    private static async Task<Answer> WatchAsync(Endpoint endpoint, string path, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await endpoint.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            return new Answer((int)response.StatusCode, Parse(text), text);
        }

        var events = new JsonArray();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        while (events.Count < count)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            idle.CancelAfter(WatchIdle);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(idle.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (line is null)
            {
                break;
            }

            if (line.Length > 0 && Parse(line) is JsonObject e && e["type"]?.GetValue<string>() != "BOOKMARK")
            {
                events.Add(e);
            }
        }

        return new Answer(200, events, events.ToJsonString());
    }

    private static JsonNode? Parse(string text)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
