using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Store;

/// <summary>
/// How the cluster writes JSON: quotes as <c>\"</c> and non-ASCII text as it is, like the real API server, instead of
/// System.Text.Json's default <c>\u0022</c> escapes. Responses are always <c>application/json</c>, never HTML.
/// </summary>
internal static class JsonText
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Parses JSON as the real API server's decoder does: a key given twice keeps its last value. A string escaping half
    /// a surrogate pair (<c>"\ud800"</c>) parses but has no .NET text: it is a <see cref="JsonException"/> here, like any
    /// other unreadable JSON, rather than an InvalidOperationException wherever it is first read.
    /// </summary>
    public static JsonNode? ParseLastWins(string text)
    {
        using var doc = JsonDocument.Parse(text);
        try
        {
            return Build(doc.RootElement);
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <summary>The first key given twice in one object, or null.</summary>
    public static string? FirstDuplicate(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return Duplicate(doc.RootElement);
    }

    private static string? Duplicate(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            return e.EnumerateArray().Select(Duplicate).FirstOrDefault(d => d is not null);
        }

        if (e.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (!seen.Add(p.Name))
            {
                return p.Name;
            }

            if (Duplicate(p.Value) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    private static JsonNode? Build(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => Object(e),
        JsonValueKind.Array => new JsonArray([.. e.EnumerateArray().Select(Build)]),
        JsonValueKind.Null => null,
        _ => JsonValue.Create(e.Clone()),
    };

    private static JsonObject Object(JsonElement e)
    {
        var o = new JsonObject();
        foreach (var p in e.EnumerateObject())
        {
            o[p.Name] = Build(p.Value);
        }

        return o;
    }
}
