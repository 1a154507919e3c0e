using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Sirocco;

/// <summary>
/// Airflow's <c>Param</c> checks: each param with a schema (<c>type</c>, <c>enum</c>, <c>minimum</c>, <c>pattern</c>, …,
/// JSON Schema) is checked against the value a run gets, the run's <c>conf</c> over the DAG's default, with
/// JsonSchema.Net. Done when a DAG file is read (the defaults) and when a run is triggered from the UI, the API or the CLI.
/// </summary>
public static class ParamValidation
{
    /// <summary>Checks a DAG's params for a run with <paramref name="conf"/> (none: the defaults alone).</summary>
    /// <exception cref="SiroccoException">A param's value does not match its schema; the message names each one and why.</exception>
    public static void Validate(Dag dag, JsonObject? conf = null)
    {
        ArgumentNullException.ThrowIfNull(dag);
        var problems = new List<string>();
        foreach (var (name, schemaNode) in dag.ParamSchemas.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            JsonNode? value;
            if (conf is not null && conf.TryGetPropertyValue(name, out var given))
            {
                value = given;
            }
            else if (dag.Params.TryGetValue(name, out var fallback))
            {
                value = fallback is null ? null : JsonSerializer.SerializeToNode(fallback);
            }
            else
            {
                problems.Add($"param '{name}': no value passed and it has no default");
                continue;
            }

            var schema = JsonSchema.FromText(schemaNode.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
            using var instance = JsonDocument.Parse(value?.ToJsonString() ?? "null");
            var result = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!result.IsValid)
            {
                var why = (result.Details ?? []).Prepend(result).SelectMany(d => d.Errors ?? new Dictionary<string, string>()).Select(e => e.Value).Distinct(StringComparer.Ordinal);
                problems.Add($"param '{name}': {value?.ToJsonString() ?? "null"} is invalid: {string.Join("; ", why)}");
            }
        }

        if (problems.Count > 0)
        {
            throw new SiroccoException($"Invalid params for DAG {dag.DagId}: {string.Join(" | ", problems)}");
        }
    }
}
