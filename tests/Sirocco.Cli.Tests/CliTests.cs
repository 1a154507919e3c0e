using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sirocco.Cli.Tests;

/// <summary>The CLI end to end: the real <c>sirocco</c> program in child processes sharing one home directory.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-cli-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private sealed record Result(int ExitCode, string Out, string Err);

    private async Task<Result> Sirocco(string[] args, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SIROCCO_HOME"] = _home;
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SIROCCO__", StringComparison.Ordinal) || k.StartsWith("AIRFLOW_", StringComparison.Ordinal) || k.StartsWith("SIROCCO_VAR_", StringComparison.Ordinal) || k.StartsWith("SIROCCO_CONN_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(name);
        }

        foreach (var (k, v) in env ?? [])
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Pools_are_set_listed_exported_imported_and_deleted_as_with_airflow()
    {
        Assert.Equal("Pool k8s_pool created\n", (await Sirocco(["pools", "set", "k8s_pool", "4", "Pods on the cluster"])).Out);
        Assert.Equal("Pool k8s_pool updated\n", (await Sirocco(["pools", "set", "k8s_pool", "6", "Pods on the cluster"])).Out);
        Assert.Equal(0, (await Sirocco(["pools", "set", "any", "-1", ""])).ExitCode);

        var listed = JsonNode.Parse((await Sirocco(["pools", "list", "-o", "json"])).Out)!.AsArray();
        Assert.Equal(["any", "default_pool", "k8s_pool"], listed.Select(p => p!["pool"]!.GetValue<string>()));
        var k8s = listed.Single(p => p!["pool"]!.GetValue<string>() == "k8s_pool")!;
        Assert.Equal(("6", "Pods on the cluster", "6"), (k8s["slots"]!.GetValue<string>(), k8s["description"]!.GetValue<string>(), k8s["open_slots"]!.GetValue<string>()));
        Assert.Equal("unlimited", listed.Single(p => p!["pool"]!.GetValue<string>() == "any")!["open_slots"]!.GetValue<string>());
        Assert.Contains("k8s_pool", (await Sirocco(["pools", "get", "k8s_pool"])).Out, StringComparison.Ordinal);

        var file = Path.Combine(_home, "pools.json");
        Assert.Equal($"Exported 3 pools to {file}\n", (await Sirocco(["pools", "export", file])).Out);
        var exported = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        Assert.Equal(6, exported["k8s_pool"]!["slots"]!.GetValue<int>());
        Assert.Equal("Pool k8s_pool deleted\n", (await Sirocco(["pools", "delete", "k8s_pool"])).Out);
        Assert.Equal("Uploaded 3 pool(s)\n", (await Sirocco(["pools", "import", file])).Out);
        Assert.Equal("6", JsonNode.Parse((await Sirocco(["pools", "get", "k8s_pool", "-o", "json"])).Out)!.AsArray().Single()!["slots"]!.GetValue<string>());

        // Bad input names what is wrong and changes nothing.
        var bad = await Sirocco(["pools", "set", "k8s_pool", "many", "x"]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("pool k8s_pool: slots must be a whole number", bad.Err, StringComparison.Ordinal);
        Assert.Contains("default_pool cannot be deleted", (await Sirocco(["pools", "delete", "default_pool"])).Err, StringComparison.Ordinal);
        Assert.Contains("Pool nothing does not exist", (await Sirocco(["pools", "delete", "nothing"])).Err, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, """{"ok": {"slots": 2}, "broken": {"slots": -5}}""");
        var refused = await Sirocco(["pools", "import", file]);
        Assert.Contains("pool broken: slots must be", refused.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("\"ok\"", (await Sirocco(["pools", "list", "-o", "json"])).Out, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Secrets_are_encrypted_at_rest_with_a_generated_fernet_key_and_rotate_and_files_are_private()
    {
        var home = Path.Combine(_home, "fresh");
        var env = new Dictionary<string, string> { ["SIROCCO_HOME"] = home };
        Assert.Equal(0, (await Sirocco(["variables", "set", "api_token", "v-s3cret-value"], env)).ExitCode);
        Assert.Equal(0, (await Sirocco(["connections", "add", "warehouse", "--conn-uri", "postgresql://me:p-s3cret-value@db.example.com:5432/w"], env)).ExitCode);

        var cfg = Path.Combine(home, "sirocco.cfg");
        Assert.Matches(@"(?m)^fernet_key = [A-Za-z0-9_-]{43}=$", await File.ReadAllTextAsync(cfg));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(home));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cfg));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(home, "sirocco.db")));
        foreach (var file in Directory.GetFiles(home, "sirocco.db*"))
        {
            var bytes = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
            Assert.DoesNotContain("s3cret-value", bytes, StringComparison.Ordinal);
        }

        Assert.Equal("v-s3cret-value\n", (await Sirocco(["variables", "get", "api_token"], env)).Out);
        var listed = await Sirocco(["config", "list", "--section", "core"], env);
        Assert.Contains("fernet_key", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"[A-Za-z0-9_-]{43}=", listed.Out);

        // Rotation as in Airflow: the new key first, rotate, then the old key can go.
        var oldKey = System.Text.RegularExpressions.Regex.Match(await File.ReadAllTextAsync(cfg), @"(?m)^fernet_key = (\S+)$").Groups[1].Value;
        var newKey = Masking.Fernet.GenerateKey();
        Assert.Equal(0, (await Sirocco(["config", "set", "core", "fernet_key", $"{newKey},{oldKey}"], env)).ExitCode);
        var rotate = await Sirocco(["rotate-fernet-key"], env);
        Assert.Equal((0, "Re-encrypted 2 row(s) with the first key of [core] fernet_key.\n"), (rotate.ExitCode, rotate.Out));
        Assert.Equal(0, (await Sirocco(["config", "set", "core", "fernet_key", newKey], env)).ExitCode);
        Assert.Equal("v-s3cret-value\n", (await Sirocco(["variables", "get", "api_token"], env)).Out);
        await using (var store = Storage.MetadataStore.OpenSqlite(Path.Combine(home, "sirocco.db"), Masking.Fernet.FromKeys(newKey)))
        {
            Assert.Equal("p-s3cret-value", store.GetConnection("warehouse")!.Password);

            // The audit log has the changes, by the OS user from the CLI, naming what changed but never the value.
            var (events, _) = await store.ListEventLogsAsync(new Storage.EventLogQuery { Descending = false });
            Assert.Equal(["cli_variables_set", "cli_connections_add", "cli_rotate_fernet_key"], events.Select(e => e.Event));
            Assert.All(events, e => Assert.Equal((Environment.UserName, "cli"), (e.Owner, e.Origin)));
            Assert.Contains("\"name\":\"api_token\"", events[0].Extra, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cret", string.Concat(events.Select(e => e.Extra)), StringComparison.Ordinal);
        }

        // A key that never encrypted them: the error names the value and the option, never the secret.
        Assert.Equal(0, (await Sirocco(["config", "set", "core", "fernet_key", Masking.Fernet.GenerateKey()], env)).ExitCode);
        var wrong = await Sirocco(["variables", "get", "api_token"], env);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("Variable 'api_token' cannot be decrypted with [core] fernet_key", wrong.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", wrong.Err + wrong.Out, StringComparison.Ordinal);
    }

    private static void Failed(Result r, string message)
    {
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jobs_check_finds_a_live_scheduler_by_its_heartbeat_as_airflows_liveness_probe_does()
    {
        Assert.Equal(0, (await Sirocco(["db", "migrate"])).ExitCode);
        var none = await Sirocco(["jobs", "check", "--job-type", "SchedulerJob"]);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("No alive jobs found.", none.Err, StringComparison.Ordinal);

        await using (var store = Storage.MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db")))
        {
            var now = DateTimeOffset.UtcNow;
            await store.StartJobAsync(new Storage.JobRecord("a", "SchedulerJob", "host-a", 11, "running", now, null, now));
            await store.StartJobAsync(new Storage.JobRecord("b", "SchedulerJob", "host-b", 12, "running", now, null, now));
            await store.StartJobAsync(new Storage.JobRecord("old", "SchedulerJob", "host-c", 13, "running", now.AddMinutes(-5), null, now.AddMinutes(-5)));
        }

        var one = await Sirocco(["jobs", "check", "--job-type", "SchedulerJob", "--hostname", "host-a"]);
        Assert.Equal(0, one.ExitCode);
        Assert.Contains("Found one alive job.", one.Out, StringComparison.Ordinal);
        var two = await Sirocco(["jobs", "check", "--job-type", "SchedulerJob", "--limit", "5"]);
        Assert.Equal(1, two.ExitCode);
        Assert.Contains("Found 2 alive jobs. Expected only one.", two.Err, StringComparison.Ordinal);
        Assert.Equal(0, (await Sirocco(["jobs", "check", "--job-type", "SchedulerJob", "--limit", "5", "--allow-multiple"])).ExitCode);
        Assert.Equal(1, (await Sirocco(["jobs", "check", "--hostname", "host-c"])).ExitCode); // stale heartbeat: dead
        Failed(await Sirocco(["jobs", "check", "--job-type", "Nope"]), "--job-type 'Nope' is unknown");
    }

    [Fact]
    public async Task A_variable_set_in_one_process_is_read_in_a_later_one()
    {
        var set = await Sirocco(["variables", "set", "--", "my_value", "example_value"]);
        Assert.Equal(0, set.ExitCode);
        var get = await Sirocco(["variables", "get", "my_value"]);
        Assert.Equal(0, get.ExitCode);
        Assert.Equal("example_value\n", get.Out);
        Assert.True(File.Exists(Path.Combine(_home, "sirocco.db")));
    }

    [Fact]
    public async Task Variables_env_override_default_json_list_delete_import_export()
    {
        Assert.Equal(0, (await Sirocco(["variables", "set", "my_value", "stored"])).ExitCode);
        Assert.Equal("from-env\n", (await Sirocco(["variables", "get", "my_value"], new() { ["AIRFLOW_VAR_MY_VALUE"] = "from-env" })).Out);
        Assert.Equal("fallback\n", (await Sirocco(["variables", "get", "absent", "--default", "fallback"])).Out);
        Failed(await Sirocco(["variables", "get", "absent"]), "Variable absent does not exist");
        Failed(await Sirocco(["variables", "set", "cfg", "{not json", "--json"]), "Variable cfg is not valid JSON");

        var file = Path.Combine(_home, "vars.json");
        await File.WriteAllTextAsync(file, """{"plain": "text", "nested": {"a": [1, 2]}, "number": 3, "db_password": "hunter2-secret"}""");
        var import = await Sirocco(["variables", "import", file]);
        Assert.Equal("4 of 4 variables successfully updated.\n", import.Out);
        Assert.Equal("""{"a":[1,2]}""", (await Sirocco(["variables", "get", "nested"])).Out.Trim());

        var list = await Sirocco(["variables", "list", "-o", "json"]);
        var rows = JsonNode.Parse(list.Out)!.AsArray();
        Assert.Equal(5, rows.Count);
        Assert.Equal("***", rows.Single(r => r!["key"]!.ToString() == "db_password")!["val"]!.ToString());
        Assert.DoesNotContain("hunter2-secret", list.Out, StringComparison.Ordinal);

        var exported = Path.Combine(_home, "out.json");
        Assert.Equal(0, (await Sirocco(["variables", "export", exported])).ExitCode);
        var back = JsonNode.Parse(await File.ReadAllTextAsync(exported))!.AsObject();
        Assert.Equal(2, back["nested"]!["a"]![1]!.GetValue<int>());
        Assert.Equal("text", back["plain"]!.GetValue<string>());

        Assert.Equal(0, (await Sirocco(["variables", "delete", "plain"])).ExitCode);
        Failed(await Sirocco(["variables", "delete", "plain"]), "Variable plain does not exist");
        Failed(await Sirocco(["variables", "import", Path.Combine(_home, "missing.json")]), "cannot read");
        await File.WriteAllTextAsync(file, "{\"a\": ");
        Failed(await Sirocco(["variables", "import", file]), "vars.json: invalid JSON");
    }

    [Fact]
    public async Task Config_get_set_list_and_precedence()
    {
        Failed(await Sirocco(["config", "get-value", "core", "kube_config"]), "section/key [core/kube_config] not found in config");
        Assert.Equal(0, (await Sirocco(["config", "set", "core", "kube_config", "/home/airflow/composer_kube_config"])).ExitCode);
        Assert.Equal("/home/airflow/composer_kube_config\n", (await Sirocco(["config", "get-value", "core", "kube_config"])).Out);
        Assert.Equal("/env\n", (await Sirocco(["config", "get-value", "core", "kube_config"], new() { ["SIROCCO__CORE__KUBE_CONFIG"] = "/env" })).Out);
        Failed(await Sirocco(["config", "set", "nosuch", "key", "value"]), "unknown config section [nosuch]");
        Failed(await Sirocco(["config", "get-value", "nosuch", "key"]), "section/key [nosuch/key] not found in config");

        var list = await Sirocco(["config", "list", "-o", "json"], new() { ["SIROCCO__DATABASE__SQL_CONN"] = $"sqlite:///{_home}/other.db" });
        var rows = JsonNode.Parse(list.Out)!.AsArray();
        Assert.Equal("***", rows.Single(r => r!["key"]!.ToString() == "sql_conn")!["value"]!.ToString());
        Assert.Equal("environment", rows.Single(r => r!["key"]!.ToString() == "sql_conn")!["source"]!.ToString());
        Assert.Equal("file", rows.Single(r => r!["key"]!.ToString() == "kube_config")!["source"]!.ToString());
    }

    [Fact]
    public async Task Connections_add_get_list_delete_import_export_with_masking()
    {
        var add = await Sirocco(["connections", "add", "gke_cluster", "--conn-type", "kubernetes", "--conn-extra", """{"namespace": "composer-user-workloads", "kube_config": "token: abcdef123456"}"""]);
        Assert.Equal(0, add.ExitCode);
        Assert.DoesNotContain("abcdef123456", add.Out, StringComparison.Ordinal);

        var get = await Sirocco(["connections", "get", "gke_cluster", "-o", "json"]);
        var row = JsonNode.Parse(get.Out)!.AsArray().Single()!;
        Assert.Equal("kubernetes", row["conn_type"]!.ToString());
        var extra = JsonNode.Parse(row["extra"]!.ToString())!;
        Assert.Equal("composer-user-workloads", extra["namespace"]!.ToString());
        Assert.Equal("***", extra["kube_config"]!.ToString());

        var uri = await Sirocco(["connections", "add", "db", "--conn-uri", "postgres://user:s3cr3tpass@db:5432/warehouse"]);
        Assert.Equal(0, uri.ExitCode);
        Assert.DoesNotContain("s3cr3tpass", uri.Out, StringComparison.Ordinal);
        var list = await Sirocco(["connections", "list"]);
        Assert.Contains("kubernetes_default", list.Out, StringComparison.Ordinal);
        Assert.Contains("warehouse", list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3tpass", list.Out, StringComparison.Ordinal);

        Failed(await Sirocco(["connections", "add", "db", "--conn-uri", "postgres://x"]), "A connection with `conn_id`=db already exists.");
        Failed(await Sirocco(["connections", "add", "bad", "--conn-type", "kubernetes", "--conn-extra", "{not json"]), "connection 'bad': invalid JSON in extra");
        Failed(await Sirocco(["connections", "add", "bad", "--conn-uri", "just-text"]), "invalid connection URI 'just-text'");
        Failed(await Sirocco(["connections", "get", "nope"]), "The conn_id `nope` isn't defined");
        Assert.Equal("env-host", JsonNode.Parse((await Sirocco(["connections", "get", "from_env", "-o", "json"], new() { ["SIROCCO_CONN_FROM_ENV"] = "http://env-host:80" })).Out)!.AsArray()[0]!["host"]!.ToString());

        var file = Path.Combine(_home, "conns.json");
        Assert.Equal(0, (await Sirocco(["connections", "export", file])).ExitCode);
        Assert.Contains("s3cr3tpass", await File.ReadAllTextAsync(file), StringComparison.Ordinal); // a backup keeps real values
        Assert.Equal(0, (await Sirocco(["connections", "delete", "db"])).ExitCode);
        var import = await Sirocco(["connections", "import", file]);
        Assert.Equal(1, import.ExitCode); // kubernetes_default and gke_cluster exist already
        Assert.Contains("Imported connection db", import.Out, StringComparison.Ordinal);
        var again = Path.Combine(_home, "again.json");
        Assert.Equal(0, (await Sirocco(["connections", "export", again])).ExitCode);
        Assert.Equal("s3cr3tpass", JsonNode.Parse(await File.ReadAllTextAsync(again))!["db"]!["password"]!.ToString());
    }

    [Fact]
    public async Task Db_migrate_reports_versions_and_is_idempotent()
    {
        var first = await Sirocco(["db", "migrate"]);
        var applied = System.Text.RegularExpressions.Regex.Match(first.Out, @"^Applied migrations 1(, \d+)*; schema version (\d+)\.\n$");
        Assert.True(applied.Success, first.Out);
        var version = applied.Groups[2].Value;
        Assert.EndsWith(version, applied.Groups[1].Success ? applied.Groups[1].Captures[^1].Value : "1", StringComparison.Ordinal);
        Assert.Equal($"Database is up to date (schema version {version}).\n", (await Sirocco(["db", "migrate"])).Out);
    }

    [Fact]
    public async Task Help_version_and_parse_errors()
    {
        var help = await Sirocco(["variables", "--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("import", help.Out, StringComparison.Ordinal);
        Assert.Matches(@"^\d+\.\d+\.\d+\n$", (await Sirocco(["version"])).Out);
        var unknown = await Sirocco(["variables", "frobnicate"]);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("frobnicate", unknown.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_are_one_line_and_verbose_adds_the_stack_trace()
    {
        Failed(await Sirocco(["dags", "pause", "nope"]), "Dag id nope not found");
        var verbose = await Sirocco(["dags", "pause", "nope", "--verbose"]);
        Assert.Contains("   at ", verbose.Err, StringComparison.Ordinal);
    }
}
