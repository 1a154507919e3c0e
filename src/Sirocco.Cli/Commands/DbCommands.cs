using System.CommandLine;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco db</c>: the metadata database.</summary>
internal static class DbCommands
{
    public static Command Create(CliContext ctx)
    {
        var db = new Command("db", "Manage the metadata database");

        var migrate = new Command("migrate", "Apply the migrations the database lacks (also done on first use by any command)");
        migrate.SetAction(async (_, ct) =>
        {
            var store = Storage.MetadataStore.Open(ctx.Config.SqlConn, options: CliContext.StoreOptions(ctx.Config));
            await using (store)
            {
                IReadOnlyList<int> applied = [];
                await CliProgress.StepsAsync(ctx, "Applying the migrations the database lacks", async _ => applied = await store.MigrateAsync(ct));
                var version = await store.GetSchemaVersionAsync(ct);
                ctx.Out.WriteLine(applied.Count == 0
                    ? $"Database is up to date (schema version {version})."
                    : $"Applied migrations {string.Join(", ", applied)}; schema version {version}.");
            }

            return 0;
        });
        db.Subcommands.Add(migrate);

        var check = new Command("check", "Check that the database can be reached and is migrated");
        check.SetAction(async (_, ct) =>
        {
            var version = await ctx.Store.GetSchemaVersionAsync(ct);
            ctx.Out.WriteLine($"Connection successful; schema version {version}.");
            return 0;
        });
        db.Subcommands.Add(check);
        db.Subcommands.Add(Clean(ctx));
        return db;
    }

    /// <summary><c>db clean</c>: purges records older than a time, as Airflow's command (asks first unless <c>--yes</c>).</summary>
    private static Command Clean(CliContext ctx)
    {
        var before = new Option<string>("--clean-before-timestamp") { Description = "Purge records older than this (ISO 8601; UTC when no offset)", Required = true };
        var tables = new Option<string?>("--tables", "-t") { Description = $"Comma-separated tables (default all: {string.Join(", ", Storage.IMetadataStore.CleanableTables)})" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be purged; change nothing" };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };
        var skipArchive = new Option<bool>("--skip-archive") { Description = "Accepted for Airflow's CLI: Sirocco keeps no archive tables" };
        var output = CliApp.OutputOption();
        var clean = new Command("clean", "Purge old DAG runs (each DAG's latest is kept), audit log lines and finished jobs") { before, tables, dryRun, yes, skipArchive, output };
        clean.SetAction(async (pr, ct) =>
        {
            var text = pr.GetValue(before)!;
            if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var when))
            {
                throw new SiroccoException($"--clean-before-timestamp: invalid date '{text}'; give ISO 8601, e.g. 2024-01-31T00:00:00+00:00");
            }

            var chosen = pr.GetValue(tables) is { } list
                ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [.. Storage.IMetadataStore.CleanableTables];
            var dry = pr.GetValue(dryRun);
            if (!dry && !pr.GetValue(yes))
            {
                ctx.Out.Write($"This will purge records older than {when:O} from {string.Join(", ", chosen)}. Proceed? (y/n)");
                if (!string.Equals(Console.In.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase))
                {
                    ctx.Out.WriteLine();
                    ctx.Out.WriteLine("Cancelled");
                    return 1;
                }
            }

            var counts = await ctx.Store.CleanAsync(when, chosen, dry, ct);
            Output.Rows(ctx, pr.GetValue(output)!, ["table", dry ? "rows_to_purge" : "rows_purged"], counts.Select(c => (IReadOnlyList<string?>)[c.Table, c.Rows.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            return 0;
        });
        return clean;
    }
}
