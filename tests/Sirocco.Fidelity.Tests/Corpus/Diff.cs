using System.Text.Json.Nodes;

namespace Sirocco.Fidelity.Tests.Corpus;

/// <summary>Where two JSON documents differ, as "path: local … real …" lines (object key order does not matter).</summary>
public static class Diff
{
    public static List<string> Of(JsonNode? local, JsonNode? real)
    {
        var found = new List<string>();
        Walk("$", local, real, found);
        return found;
    }

    private static void Walk(string path, JsonNode? a, JsonNode? b, List<string> found)
    {
        switch (a, b)
        {
            case (null, null):
                return;
            case (JsonObject x, JsonObject y):
                foreach (var key in x.Select(p => p.Key).Union(y.Select(p => p.Key)).Order(StringComparer.Ordinal))
                {
                    Walk($"{path}.{key}", x[key], y[key], found);
                }

                return;
            case (JsonArray x, JsonArray y) when x.Count == y.Count:
                for (var i = 0; i < x.Count; i++)
                {
                    Walk($"{path}[{i}]", x[i], y[i], found);
                }

                return;
            default:
                if (!JsonNode.DeepEquals(a, b))
                {
                    found.Add($"{path}: local {Show(a)} | real {Show(b)}");
                }

                return;
        }
    }

    private static string Show(JsonNode? n)
    {
        var s = n?.ToJsonString() ?? "(absent)";
        return s.Length > 400 ? s[..400] + "…" : s;
    }
}
