using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Masking;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco connections</c>: Airflow's Connections.</summary>
internal static class ConnectionsCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliContext ctx)
    {
        var connections = new Command("connections", "Manage Connections (SIROCCO_CONN_ID / AIRFLOW_CONN_ID override stored ones)");
        connections.Subcommands.Add(Add(ctx));

        var getId = new Argument<string>("conn_id") { Description = "Connection id" };
        var getOutput = CliApp.OutputOption();
        var get = new Command("get", "Show a connection (password and sensitive extras masked)") { getId, getOutput };
        get.SetAction(pr =>
        {
            var c = ctx.Connections.Get(pr.GetValue(getId)!);
            Output.Rows(ctx, pr.GetValue(getOutput)!, Columns, [Row(c)]);
            return 0;
        });
        connections.Subcommands.Add(get);

        var listOutput = CliApp.OutputOption();
        var list = new Command("list", "List stored connections (password and sensitive extras masked)") { listOutput };
        list.SetAction(pr =>
        {
            Output.Rows(ctx, pr.GetValue(listOutput)!, Columns, ctx.Store.ListConnections().Select(Row));
            return 0;
        });
        connections.Subcommands.Add(list);

        var delId = new Argument<string>("conn_id") { Description = "Connection id" };
        var delete = new Command("delete", "Delete a connection") { delId };
        delete.SetAction(pr =>
        {
            var id = pr.GetValue(delId)!;
            if (!ctx.Store.DeleteConnection(id))
            {
                throw new ConnectionNotFoundException(id);
            }

            ctx.Out.WriteLine($"Successfully deleted connection with `conn_id`={id}");
            return 0;
        });
        connections.Subcommands.Add(delete);

        var importFile = new Argument<string>("file") { Description = "JSON file: {conn_id: {conn_type, host, login, password, schema, port, extra}}" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace connections that already exist" };
        var import = new Command("import", "Import connections from a JSON file") { importFile, overwrite };
        import.SetAction(pr =>
        {
            var path = pr.GetValue(importFile)!;
            var obj = VariablesCommands.ReadJsonObject(path);
            var imported = 0;
            foreach (var (id, node) in obj)
            {
                if (node is not JsonObject)
                {
                    throw new SiroccoException($"{path}: connection '{id}' must be a JSON object");
                }

                var c = Connection.FromJson(id, node.ToJsonString());
                if (ctx.Store.GetConnection(id) is not null && !pr.GetValue(overwrite))
                {
                    ctx.Error.WriteLine($"Could not import connection {id}: connection already exists (use --overwrite).");
                    continue;
                }

                ctx.Store.SetConnection(c);
                ctx.Out.WriteLine($"Imported connection {id}");
                imported++;
            }

            return imported == obj.Count ? 0 : 1;
        });
        connections.Subcommands.Add(import);

        var exportFile = new Argument<string>("file") { Description = "JSON file to write" };
        var export = new Command("export", "Export stored connections to a JSON file (real secrets: keep the file safe)") { exportFile };
        export.SetAction(pr =>
        {
            var path = pr.GetValue(exportFile)!;
            var obj = new JsonObject();
            var all = ctx.Store.ListConnections();
            foreach (var c in all)
            {
                obj[c.ConnId] = c.ToJson();
            }

            File.WriteAllText(path, obj.ToJsonString(Indented) + "\n");
            ctx.Out.WriteLine($"Connections successfully exported to {path}");
            return 0;
        });
        connections.Subcommands.Add(export);
        return connections;
    }

    private static readonly string[] Columns = ["conn_id", "conn_type", "description", "host", "schema", "login", "password", "port", "extra"];

    private static IReadOnlyList<string?> Row(Connection c) =>
        [c.ConnId, c.ConnType, c.Description, c.Host, c.Schema, c.Login, c.Password is null ? null : SecretMasker.Mask, c.Port?.ToString(CultureInfo.InvariantCulture), c.Extra is null ? null : c.MaskedExtraDejson().ToJsonString()];

    private static Command Add(CliContext ctx)
    {
        var id = new Argument<string>("conn_id") { Description = "Connection id" };
        var type = new Option<string?>("--conn-type") { Description = "Connection type, e.g. kubernetes" };
        var uri = new Option<string?>("--conn-uri") { Description = "Connection as a URI: TYPE://LOGIN:PASSWORD@HOST:PORT/SCHEMA?EXTRA" };
        var json = new Option<string?>("--conn-json") { Description = "Connection as JSON: {\"conn_type\": ..., \"extra\": {...}}" };
        var extra = new Option<string?>("--conn-extra") { Description = "Extras as a JSON object" };
        var host = new Option<string?>("--conn-host") { Description = "Host" };
        var login = new Option<string?>("--conn-login") { Description = "Login" };
        var password = new Option<string?>("--conn-password") { Description = "Password" };
        var schema = new Option<string?>("--conn-schema") { Description = "Schema" };
        var port = new Option<int?>("--conn-port") { Description = "Port" };
        var description = new Option<string?>("--conn-description") { Description = "Description" };
        var add = new Command("add", "Add a connection") { id, type, uri, json, extra, host, login, password, schema, port, description };
        add.SetAction(pr =>
        {
            var connId = pr.GetValue(id)!;
            var u = pr.GetValue(uri);
            var j = pr.GetValue(json);
            var t = pr.GetValue(type);
            if (new[] { u, j, t }.Count(x => x is not null) != 1)
            {
                throw new SiroccoException("give exactly one of --conn-type, --conn-uri or --conn-json");
            }

            Connection c;
            if (u is not null)
            {
                c = Connection.FromUri(connId, u);
            }
            else if (j is not null)
            {
                c = Connection.FromJson(connId, j);
            }
            else
            {
                c = new Connection { ConnId = connId, ConnType = t! };
            }

            c = c with
            {
                Extra = pr.GetValue(extra) is { } e ? Connection.ValidateExtra(connId, e) : c.Extra,
                Host = pr.GetValue(host) ?? c.Host,
                Login = pr.GetValue(login) ?? c.Login,
                Password = pr.GetValue(password) ?? c.Password,
                Schema = pr.GetValue(schema) ?? c.Schema,
                Port = pr.GetValue(port) ?? c.Port,
                Description = pr.GetValue(description) ?? c.Description,
            };
            if (ctx.Store.GetConnection(connId) is not null)
            {
                throw new SiroccoException($"A connection with `conn_id`={connId} already exists.");
            }

            ctx.Store.SetConnection(c);
            ConnectionAccessor.Register(ctx.Masker, c);
            ctx.Out.WriteLine($"Successfully added `conn_id`={connId} : {c.ToUri(maskSecrets: true)}");
            return 0;
        });
        return add;
    }
}
