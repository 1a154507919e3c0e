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
        return db;
    }
}
