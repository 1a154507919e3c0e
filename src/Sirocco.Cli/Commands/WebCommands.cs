using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Web;
using Sirocco.Web.Security;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco webserver</c> and <c>sirocco users create/list/delete/reset-password</c>.</summary>
internal static class WebCommands
{
    private static readonly string[] RoleNames = ["Admin", "Op", "User", "Viewer"];

    public static IEnumerable<Command> Create(CliContext ctx)
    {
        var port = new Option<int?>("--port", "-p") { Description = "Port (default [webserver] web_server_port: 8080; 0 = any free port)" };
        var host = new Option<string?>("--hostname", "-H") { Description = "Address to listen on (default [webserver] web_server_host: 127.0.0.1)" };
        var webserver = new Command("webserver", "Run the web UI and REST API until Ctrl-C") { port, host };
        webserver.SetAction(async (pr, ct) =>
        {
            using var shutdown = Hosting.ShutdownOnSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, shutdown.Token);
            using var bag = Hosting.CreateDagBag(ctx, watch: true);
            var dags = new DagSnapshotSource(new DagBagSource(bag));
            var watch = dags.WatchAsync(linked.Token);
            using var telemetry = Telemetry.Start(ctx, prometheus: false);
            await using (var server = await SiroccoWebServer.StartAsync(Options(ctx, dags, null, pr.GetValue(host), pr.GetValue(port)), linked.Token))
            {
                ctx.Out.WriteLine($"Web server listening on {server.Address} (Ctrl-C to stop)");
                await Task.Delay(Timeout.Infinite, linked.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            await watch;
            ctx.Out.WriteLine("Web server stopped.");
            return 0;
        });
        yield return webserver;
        yield return Users(ctx);
    }

    /// <summary>
    /// The web server's options for this home. <c>sirocco standalone</c> passes the scheduler it runs and the snapshot
    /// source it gave that scheduler (so the UI shows the DAGs being scheduled, parsed once).
    /// </summary>
    public static WebServerOptions Options(CliContext ctx, DagSnapshotSource dags, SiroccoScheduler? scheduler, string? host = null, int? port = null) => new()
    {
        Config = ctx.Config,
        Store = ctx.Store,
        Masker = ctx.Masker,
        Dags = dags.Current,
        Scheduler = scheduler,

        // The scheduler (in this process or another) writes a heartbeat to the store every sweep.
        SchedulerHeartbeat = () => ctx.Store.GetHeartbeatAsync(Scheduler.JobTypes.Scheduler).GetAwaiter().GetResult(),
        Renderer = new AirflowTaskRenderer(),
        Environment = ctx.Environment,
        Urls = string.Create(
            CultureInfo.InvariantCulture,
            $"http://{host ?? ctx.Config.Get("webserver", "web_server_host", "127.0.0.1")}:{port?.ToString(CultureInfo.InvariantCulture) ?? ctx.Config.Get("webserver", "web_server_port", "8080")}"),
        LoggerFactory = ctx.Logging,
        RemoteLogs = ctx.RemoteLogs,
        Secrets = ctx.Secrets,
        ConnectionTesters = [new Kubernetes.KubernetesConnectionTester(ctx.Config, ctx.Environment), new Google.GoogleConnectionTester(ctx.Google)],
    };

    private static Command Users(CliContext ctx)
    {
        var users = new Command("users", "Manage the users of the web UI and API (roles: Admin, Op, User, Viewer)");

        var username = new Option<string>("--username", "-u") { Description = "Login name", Required = true };
        var role = new Option<string>("--role", "-r") { Description = "Admin, Op, User or Viewer", Required = true };
        var email = new Option<string?>("--email", "-e") { Description = "E-mail address" };
        var password = new Option<string?>("--password", "-p") { Description = "Password (at least 8 characters)" };
        var random = new Option<bool>("--use-random-password") { Description = "Generate a password and print it once" };
        var firstName = new Option<string?>("--firstname", "-f") { Description = "First name" };
        var lastName = new Option<string?>("--lastname", "-l") { Description = "Last name" };
        var create = new Command("create", "Create a user") { username, role, email, password, random, firstName, lastName };
        create.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(username)!;
            var roleName = RoleNames.FirstOrDefault(r => r.Equals(pr.GetValue(role), StringComparison.OrdinalIgnoreCase))
                ?? throw new SiroccoException($"unknown role '{pr.GetValue(role)}'; roles: {string.Join(", ", RoleNames)}");
            if (await ctx.Store.GetUserAsync(name, ct) is not null)
            {
                throw new SiroccoException($"user {name} already exists; use `sirocco users reset-password` to change its password");
            }

            var (secret, generated) = PasswordFrom(pr.GetValue(password), pr.GetValue(random));
            await ctx.Store.UpsertUserAsync(new User(name, PasswordHasher.Create(secret), roleName, pr.GetValue(email)) { FirstName = pr.GetValue(firstName), LastName = pr.GetValue(lastName) }, ct);
            ctx.Out.WriteLine($"User {name} created with role {roleName}");
            if (generated)
            {
                ctx.Out.WriteLine($"Password: {secret}");
            }

            return 0;
        });
        users.Subcommands.Add(create);

        var output = CliApp.OutputOption();
        var list = new Command("list", "List users") { output };
        list.SetAction(async (pr, ct) =>
        {
            var all = await ctx.Store.ListUsersAsync(ct);
            Output.Rows(ctx, pr.GetValue(output)!, ["username", "first_name", "last_name", "role", "email", "active"], all.Select(u => (IReadOnlyList<string?>)[u.Username, u.FirstName, u.LastName, u.Role, u.Email, u.Active ? "True" : "False"]));
            return 0;
        });
        users.Subcommands.Add(list);

        var delName = new Option<string>("--username", "-u") { Description = "Login name", Required = true };
        var delete = new Command("delete", "Delete a user") { delName };
        delete.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(delName)!;
            if (!await ctx.Store.DeleteUserAsync(name, ct))
            {
                throw new SiroccoException($"user {name} does not exist");
            }

            ctx.Out.WriteLine($"User {name} deleted");
            return 0;
        });
        users.Subcommands.Add(delete);

        var resetName = new Option<string>("--username", "-u") { Description = "Login name", Required = true };
        var resetPassword = new Option<string?>("--password", "-p") { Description = "New password (at least 8 characters)" };
        var resetRandom = new Option<bool>("--use-random-password") { Description = "Generate a password and print it once" };
        var reset = new Command("reset-password", "Set a user's password") { resetName, resetPassword, resetRandom };
        reset.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(resetName)!;
            var user = await ctx.Store.GetUserAsync(name, ct) ?? throw new SiroccoException($"user {name} does not exist");
            var (secret, generated) = PasswordFrom(pr.GetValue(resetPassword), pr.GetValue(resetRandom));
            await ctx.Store.UpsertUserAsync(user with { PasswordHash = PasswordHasher.Create(secret) }, ct);
            ctx.Out.WriteLine($"Password of {name} changed");
            if (generated)
            {
                ctx.Out.WriteLine($"Password: {secret}");
            }

            return 0;
        });
        users.Subcommands.Add(reset);
        return users;
    }

    private static (string Password, bool Generated) PasswordFrom(string? given, bool random)
    {
        if (given is not null && random)
        {
            throw new SiroccoException("give either --password or --use-random-password, not both");
        }

        if (random)
        {
            return (Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('='), true);
        }

        return given switch
        {
            null => throw new SiroccoException("give --password PASSWORD or --use-random-password"),
            { Length: < 8 } => throw new SiroccoException("the password must have at least 8 characters"),
            _ => (given, false),
        };
    }
}
