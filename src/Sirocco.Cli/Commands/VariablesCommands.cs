using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco variables</c>: Airflow's Variables.</summary>
internal static class VariablesCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliContext ctx)
    {
        var variables = new Command("variables", "Manage Variables (SIROCCO_VAR_KEY / AIRFLOW_VAR_KEY override stored values)");

        // set KEY VALUE (also `set -- KEY VALUE`, the seed's form)
        var setKey = new Argument<string>("key") { Description = "Variable key" };
        var setValue = new Argument<string>("value") { Description = "Variable value" };
        var description = new Option<string?>("--description") { Description = "Description of the variable" };
        var setJson = new Option<bool>("--json", "-j") { Description = "Check that the value is JSON (stored as its JSON text)" };
        var set = new Command("set", "Set a variable") { setKey, setValue, description, setJson };
        set.SetAction(pr =>
        {
            var key = pr.GetValue(setKey)!;
            var value = pr.GetValue(setValue)!;
            if (pr.GetValue(setJson))
            {
                value = ParseJson(key, value).ToJsonString();
            }

            ctx.Store.SetVariable(new Variable(key, value, pr.GetValue(description)));
            ctx.Masker.AddIfSensitive(key, value);
            ctx.Out.WriteLine($"Variable {key} created");
            return 0;
        });
        variables.Subcommands.Add(set);

        var getKey = new Argument<string>("key") { Description = "Variable key" };
        var getDefault = new Option<string?>("--default", "-d") { Description = "Printed when the variable does not exist" };
        var getJson = new Option<bool>("--json", "-j") { Description = "Parse the value as JSON and print it indented" };
        var get = new Command("get", "Print a variable's value (the environment wins over the store)") { getKey, getDefault, getJson };
        get.SetAction(pr =>
        {
            var key = pr.GetValue(getKey)!;
            if (!ctx.Variables.TryGet(key, out var value))
            {
                value = pr.GetValue(getDefault) ?? throw new VariableNotFoundException(key);
            }

            ctx.Out.WriteLine(pr.GetValue(getJson) ? ParseJson(key, value).ToJsonString(Indented) : value);
            return 0;
        });
        variables.Subcommands.Add(get);

        var output = CliApp.OutputOption();
        var list = new Command("list", "List variables (values of sensitive keys masked)") { output };
        list.SetAction(pr =>
        {
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["key", "val", "description"],
                ctx.Store.ListVariables().Select(v => (IReadOnlyList<string?>)[v.Key, SecretMasker.IsSensitiveName(v.Key) ? SecretMasker.Mask : v.Value, v.Description]));
            return 0;
        });
        variables.Subcommands.Add(list);

        var delKey = new Argument<string>("key") { Description = "Variable key" };
        var delete = new Command("delete", "Delete a variable") { delKey };
        delete.SetAction(pr =>
        {
            var key = pr.GetValue(delKey)!;
            if (!ctx.Store.DeleteVariable(key))
            {
                throw new VariableNotFoundException(key);
            }

            ctx.Out.WriteLine($"Variable {key} deleted");
            return 0;
        });
        variables.Subcommands.Add(delete);

        var importFile = new Argument<string>("file") { Description = "JSON file: an object of key: value" };
        var import = new Command("import", "Import variables from a JSON file") { importFile };
        import.SetAction(pr =>
        {
            var path = pr.GetValue(importFile)!;
            var obj = ReadJsonObject(path);
            var count = 0;
            foreach (var (key, node) in obj)
            {
                // As in Airflow: objects and arrays are stored as JSON text, other values as their text.
                var value = node switch
                {
                    null => "null",
                    JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                    JsonValue v => v.ToJsonString(),
                    _ => node.ToJsonString(),
                };
                ctx.Store.SetVariable(new Variable(key, value));
                count++;
            }

            ctx.Out.WriteLine($"{count} of {obj.Count} variables successfully updated.");
            return 0;
        });
        variables.Subcommands.Add(import);

        var exportFile = new Argument<string>("file") { Description = "JSON file to write" };
        var export = new Command("export", "Export every stored variable to a JSON file (real values: keep the file safe)") { exportFile };
        export.SetAction(pr =>
        {
            var path = pr.GetValue(exportFile)!;
            var obj = new JsonObject();
            var all = ctx.Store.ListVariables();
            foreach (var v in all)
            {
                obj[v.Key] = TryParseJson(v.Value) ?? JsonValue.Create(v.Value);
            }

            File.WriteAllText(path, obj.ToJsonString(Indented) + "\n");
            ctx.Out.WriteLine($"{all.Count} variables successfully exported to {path}");
            return 0;
        });
        variables.Subcommands.Add(export);
        return variables;
    }

    internal static JsonObject ReadJsonObject(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SiroccoException($"cannot read {path}: {e.Message}", e);
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new SiroccoException($"{path}: expected a JSON object at the top level");
        }
        catch (JsonException e)
        {
            throw new SiroccoException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    private static JsonNode ParseJson(string key, string value)
    {
        try
        {
            return JsonNode.Parse(value) ?? JsonValue.Create((string?)null)!;
        }
        catch (JsonException e)
        {
            throw new SiroccoException($"Variable {key} is not valid JSON: {e.Message}", e);
        }
    }

    private static JsonNode? TryParseJson(string value)
    {
        try
        {
            return JsonNode.Parse(value);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
