using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Sends a pod with <see cref="KubernetesPodOperator.RawPodFields"/> written into its JSON: the typed client serializes
/// the pod, and <see cref="RawPodFieldsHandler"/> rewrites the body of that one create request (the fields travel in an
/// async-local, so no other request is touched).
/// </summary>
internal static class RawPodFields
{
    private static readonly AsyncLocal<IReadOnlyDictionary<string, JsonNode?>?> Pending = new();
    private static readonly AsyncLocal<JsonObject?> PendingBody = new();

    /// <summary>The fields for the create request sent from this async flow, if any.</summary>
    public static IReadOnlyDictionary<string, JsonNode?>? Current => Pending.Value;

    /// <summary>The whole pod to send instead of the client's (a pod changed by a pod_mutation_hook), if any.</summary>
    public static JsonObject? CurrentBody => PendingBody.Value;

    /// <summary>
    /// Makes the pod create requests of this async flow send <paramref name="pod"/> (its metadata.name taken from the
    /// request, which a retry may have renamed) until disposed.
    /// </summary>
    public static Scope UseBody(JsonObject pod)
    {
        PendingBody.Value = pod;
        return new Scope(true);
    }

    /// <summary>Makes the pod create requests of this async flow carry <paramref name="fields"/> until disposed.</summary>
    public static Scope Use(IDictionary<string, JsonNode?> fields)
    {
        if (fields.Count == 0)
        {
            return default;
        }

        Pending.Value = new Dictionary<string, JsonNode?>(fields, StringComparer.Ordinal);
        return new Scope(true);
    }

    /// <summary>Writes each field at its JSON pointer, making the objects and list items on the way.</summary>
    public static void Apply(JsonObject pod, IReadOnlyDictionary<string, JsonNode?> fields)
    {
        foreach (var (pointer, value) in fields)
        {
            var parts = pointer.TrimStart('/').Split('/').Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
            JsonNode node = pod;
            for (var i = 0; i < parts.Length; i++)
            {
                var last = i == parts.Length - 1;
                var nextIsIndex = !last && int.TryParse(parts[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out _);
                if (node is JsonArray array && int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    while (array.Count <= index)
                    {
                        array.Add(last ? null : nextIsIndex ? new JsonArray() : new JsonObject());
                    }

                    if (last)
                    {
                        array[index] = value?.DeepClone();
                    }
                    else
                    {
                        node = array[index] ??= nextIsIndex ? new JsonArray() : new JsonObject();
                    }
                }
                else if (node is JsonObject obj)
                {
                    if (last)
                    {
                        obj[parts[i]] = value?.DeepClone();
                    }
                    else
                    {
                        node = obj[parts[i]] ??= nextIsIndex ? new JsonArray() : new JsonObject();
                    }
                }
                else
                {
                    throw new InvalidOperationException($"raw pod field {pointer}: '{parts[i]}' is not inside an object or a list");
                }
            }
        }
    }

    /// <summary>Clears the pending fields when disposed.</summary>
    internal readonly struct Scope(bool active) : IDisposable
    {
        public void Dispose()
        {
            if (active)
            {
                Pending.Value = null;
                PendingBody.Value = null;
            }
        }
    }
}

/// <summary>Rewrites the body of a pod create request while <see cref="RawPodFields.Current"/> holds fields.</summary>
internal sealed class RawPodFieldsHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var fields = RawPodFields.Current;
        var whole = RawPodFields.CurrentBody;
        if ((fields is not null || whole is not null) && request.Method == HttpMethod.Post && request.Content is not null
            && request.RequestUri?.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal) == true)
        {
            var body = await request.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (JsonNode.Parse(body) is JsonObject sent)
            {
                var pod = sent;
                if (whole is not null)
                {
                    pod = whole.DeepClone().AsObject();
                    if (sent["metadata"]?["name"] is { } name && pod["metadata"] is JsonObject meta)
                    {
                        meta["name"] = name.DeepClone();
                    }
                }
                else
                {
                    RawPodFields.Apply(pod, fields!);
                }

                var content = new StringContent(pod.ToJsonString(), System.Text.Encoding.UTF8);
                content.Headers.ContentType = new MediaTypeHeaderValue(request.Content.Headers.ContentType?.MediaType ?? "application/json");
                request.Content = content;
            }
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
