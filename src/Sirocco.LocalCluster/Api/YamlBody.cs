using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// Request bodies sent as <c>application/yaml</c>, read as the real API server reads them: YAML 1.1 plain scalars
/// become booleans (<c>true</c>, <c>yes</c>, <c>on</c>, <c>y</c>…), nulls, integers and floats; quoted ones stay strings.
/// </summary>
internal static class YamlBody
{
    private static readonly HashSet<string> True = new(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], StringComparer.Ordinal);
    private static readonly HashSet<string> False = new(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], StringComparer.Ordinal);

    /// <summary>
    /// The fewest nodes a body may expand to; a longer body may expand to one node per character, which a document without
    /// aliases never reaches. Aliases repeat a node without copying it, so a short document can stand for billions of nodes
    /// ("billion laughs"); the real server's YAML decoder refuses such a document, and so does this.
    /// </summary>
    private const int MinNodeBudget = 100_000;

    /// <summary>The deepest nesting converted (each level is a call).</summary>
    private const int MaxDepth = 1_000;

    public static JsonNode? Parse(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw ApiException.BadRequest($"the object provided is unrecognized: error converting YAML to JSON: {e.Message}");
        }

        var budget = Math.Max(MinNodeBudget, text.Length);
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode, 0, ref budget);
    }

    private static JsonNode? Convert(YamlNode node, int depth, ref int budget)
    {
        if (--budget < 0)
        {
            throw ApiException.BadRequest("the object provided is unrecognized: error converting YAML to JSON: yaml: document contains excessive aliasing");
        }

        if (depth > MaxDepth)
        {
            throw ApiException.BadRequest($"the object provided is unrecognized: error converting YAML to JSON: yaml: exceeded max depth of {MaxDepth}");
        }

        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    // JSON keys are strings: a sequence or mapping as a key has no JSON form. A key repeated (plain and
                    // quoted, say) keeps its last value, as a JSON body's does.
                    var name = key is YamlScalarNode scalar
                        ? scalar.Value ?? string.Empty
                        : throw ApiException.BadRequest(
                            $"the object provided is unrecognized: error converting YAML to JSON: yaml: invalid map key at line {key.Start.Line}: only strings can be keys");
                    obj[name] = Convert(value, depth + 1, ref budget);
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var item in seq.Children)
                {
                    array.Add(Convert(item, depth + 1, ref budget));
                }

                return array;
            case YamlScalarNode s:
                return Scalar(s);
            default:
                return null;
        }
    }

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(v);
        }

        if (v.Length == 0 || v is "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (True.Contains(v))
        {
            return JsonValue.Create(true);
        }

        if (False.Contains(v))
        {
            return JsonValue.Create(false);
        }

        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            return JsonValue.Create(i);
        }

        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Any(char.IsDigit)
            ? JsonValue.Create(d)
            : JsonValue.Create(v);
    }
}
