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

        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value ?? "", Convert(p.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Convert)]),
        YamlScalarNode s => Scalar(s),
        _ => null,
    };

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
