using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.DagFiles.Airflow;

/// <summary>A connection extra read as Airflow's hooks read them: numbers and booleans also given as text ("30", "true").</summary>
internal static class ConnectionExtras
{
    public static string? Str(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node?.ToJsonString();

    public static bool Bool(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.True => true,
        JsonValueKind.String => node.GetValue<string>().Trim().ToLowerInvariant() is "true" or "1" or "yes",
        _ => false,
    };

    public static double? Number(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.Number => node.GetValue<double>(),
        JsonValueKind.String when double.TryParse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}
