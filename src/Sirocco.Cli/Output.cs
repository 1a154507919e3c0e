using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using YamlDotNet.Serialization;

namespace Sirocco.Cli;

/// <summary>Prints lists as a table, JSON or YAML (<c>--output</c>), as Airflow's CLI does.</summary>
internal static class Output
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Rows(CliContext ctx, string format, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var data = rows.ToList();
        switch (format)
        {
            case "json":
                var array = new JsonArray();
                foreach (var row in data)
                {
                    var obj = new JsonObject();
                    for (var i = 0; i < columns.Count; i++)
                    {
                        obj[columns[i]] = row[i];
                    }

                    array.Add(obj);
                }

                ctx.Out.WriteLine(array.ToJsonString(Indented));
                break;
            case "yaml":
                var list = data.Select(row => columns.Select((c, i) => (c, row[i])).ToDictionary(p => p.c, p => p.Item2)).ToList();
                ctx.Out.Write(new SerializerBuilder().Build().Serialize(list));
                break;
            case "plain":
                foreach (var row in data)
                {
                    ctx.Out.WriteLine(string.Join('\t', row));
                }

                break;
            default:
                var console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Out = new AnsiConsoleOutput(ctx.Out),
                    Ansi = ctx.OutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
                    ColorSystem = ctx.OutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
                    Interactive = InteractionSupport.No,
                });
                if (ctx.OutputRedirected)
                {
                    console.Profile.Width = 240;
                }

                var table = new Table().Border(TableBorder.Simple);
                foreach (var c in columns)
                {
                    table.AddColumn(new TableColumn(Markup.Escape(c)));
                }

                foreach (var row in data)
                {
                    table.AddRow(row.Select(v => (Spectre.Console.Rendering.IRenderable)new Text(v ?? string.Empty)).ToArray());
                }

                if (data.Count == 0)
                {
                    ctx.Out.WriteLine("No data found");
                }
                else
                {
                    console.Write(table);
                }

                break;
        }
    }
}
