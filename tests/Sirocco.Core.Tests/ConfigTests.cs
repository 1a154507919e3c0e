using Sirocco.Configuration;

namespace Sirocco.Core.Tests;

public sealed class ConfigTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-config-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private SiroccoConfig Load(Dictionary<string, string>? env = null) => SiroccoConfig.Load(_home, env ?? []);

    [Fact]
    public void Built_in_defaults_fill_in_with_the_home_directory()
    {
        var config = Load();
        Assert.Equal(Path.Combine(_home, "dags"), config.Get("core", "dags_folder"));
        Assert.Equal(32, config.GetInt("core", "parallelism"));
        Assert.Equal($"sqlite:///{_home}/sirocco.db", config.Get("database", "sql_conn"));
        Assert.True(config.GetBool("scheduler", "catchup_by_default"));
    }

    [Fact]
    public void Precedence_is_sirocco_env_then_airflow_env_then_file_then_default()
    {
        File.WriteAllText(Path.Combine(_home, "sirocco.cfg"), "# comment\n[core]\nparallelism = 8\nkube_config: /from/file\n\n[Scheduler]\nCatchup_By_Default = False\n");
        var fileOnly = Load();
        Assert.Equal(8, fileOnly.GetInt("core", "parallelism"));
        Assert.Equal("/from/file", fileOnly.Get("core", "kube_config"));
        Assert.False(fileOnly.GetBool("scheduler", "catchup_by_default"));
        Assert.Equal(ConfigSource.File, fileOnly.List().Single(o => o.Key == "parallelism").Source);

        var airflowEnv = Load(new() { ["AIRFLOW__CORE__PARALLELISM"] = "4" });
        Assert.Equal(4, airflowEnv.GetInt("core", "parallelism"));

        var both = Load(new() { ["AIRFLOW__CORE__PARALLELISM"] = "4", ["SIROCCO__CORE__PARALLELISM"] = "2" });
        Assert.Equal(2, both.GetInt("core", "parallelism"));
        Assert.Equal(ConfigSource.Environment, both.List().Single(o => o.Key == "parallelism").Source);
    }

    [Fact]
    public void A_missing_option_is_named_like_airflow()
    {
        var e = Assert.Throws<ConfigOptionNotFoundException>(() => Load().Get("core", "kube_config"));
        Assert.Equal("section/key [core/kube_config] not found in config", e.Message);
        Assert.Equal("fallback", Load().Get("core", "kube_config", "fallback"));
    }

    [Fact]
    public void Set_writes_the_file_keeping_comments_and_other_options()
    {
        File.WriteAllText(Path.Combine(_home, "sirocco.cfg"), "# keep me\n[core]\nparallelism = 8\n");
        var config = Load();
        config.Set("core", "kube_config", "/home/airflow/composer_kube_config");
        config.Set("core", "parallelism", "16");
        config.Set("webserver", "web_server_port", "9090");

        Assert.Equal("/home/airflow/composer_kube_config", config.Get("core", "kube_config"));
        var reloaded = Load();
        Assert.Equal(16, reloaded.GetInt("core", "parallelism"));
        Assert.Equal(9090, reloaded.GetInt("webserver", "web_server_port"));
        var text = File.ReadAllText(Path.Combine(_home, "sirocco.cfg"));
        Assert.StartsWith("# keep me\n[core]\n", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("parallelism", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_sections_and_bad_values_are_clear_errors()
    {
        var config = Load();
        var e = Assert.Throws<SiroccoException>(() => config.Set("nosuch", "key", "v"));
        Assert.Contains("unknown config section [nosuch]", e.Message, StringComparison.Ordinal);

        var env = Load(new() { ["SIROCCO__CORE__PARALLELISM"] = "lots" });
        var bad = Assert.Throws<SiroccoException>(() => env.GetInt("core", "parallelism"));
        Assert.Equal("[core/parallelism] must be an integer, got 'lots'", bad.Message);
    }

    [Fact]
    public void A_malformed_file_names_the_file_and_line()
    {
        File.WriteAllText(Path.Combine(_home, "sirocco.cfg"), "[core]\nthis line has no separator\n");
        var e = Assert.Throws<SiroccoException>(() => Load());
        Assert.Contains("sirocco.cfg:2:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensitive_options_are_recognised()
    {
        Assert.True(SiroccoConfig.IsSensitive("database", "sql_conn"));
        Assert.True(SiroccoConfig.IsSensitive("database", "sql_alchemy_conn"));
        Assert.True(SiroccoConfig.IsSensitive("webserver", "secret_key"));
        Assert.False(SiroccoConfig.IsSensitive("core", "parallelism"));
    }

    [Fact]
    public void Airflows_sql_alchemy_conn_is_used_when_sql_conn_is_not_set()
    {
        Assert.Equal($"sqlite:///{_home}/sirocco.db", Load().SqlConn);
        const string pg = "postgresql+psycopg2://airflow:pw@db/airflow";
        Assert.Equal(pg, Load(new() { ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = pg }).SqlConn);

        File.WriteAllText(Path.Combine(_home, "sirocco.cfg"), $"[database]\nsql_alchemy_conn = {pg}\n");
        Assert.Equal(pg, Load().SqlConn);

        // sql_conn set explicitly (file or environment) wins over Airflow's name.
        Assert.Equal("sqlite:////own.db", Load(new() { ["SIROCCO__DATABASE__SQL_CONN"] = "sqlite:////own.db" }).SqlConn);
        File.AppendAllText(Path.Combine(_home, "sirocco.cfg"), "sql_conn = sqlite:////file.db\n");
        Assert.Equal("sqlite:////file.db", Load().SqlConn);
    }
}
