using System.Text.Json.Nodes;
using Sirocco.Testing;

namespace Sirocco.Cli.Tests;

/// <summary>
/// <c>[secrets] backend = …CloudSecretManagerBackend</c>: Variables and Connections come from Secret Manager (a fake
/// Google on loopback, read with a service-account key from backend_kwargs) before the environment and the database,
/// each secret read once per cache lifetime, passwords masked.
/// </summary>
public sealed class SecretManagerTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-secrets-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Templates_read_variables_and_connections_from_secret_manager_first_then_the_environment()
    {
        await using var google = await FakeGoogle.StartAsync();
        google.SetSecret(FakeGoogle.Project, "airflow-variables-db_host", "sm-host.internal");
        google.SetSecret(FakeGoogle.Project, "airflow-variables-target_table", "events_from_sm");
        google.SetSecret(FakeGoogle.Project, "airflow-connections-warehouse", "postgresql://etl:pw-from-sm-123@db.internal:5432/dwh");
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "secrets_dag.py"), """
            from datetime import datetime
            from airflow import DAG
            from airflow.models import Variable
            from airflow.operators.bash import BashOperator

            TABLE = Variable.get("target_table")

            with DAG("secrets_dag", schedule=None, start_date=datetime(2024, 1, 1)):
                BashOperator(
                    task_id="show",
                    bash_command="echo host={{ var.value.db_host }} again={{ var.value.db_host }} env={{ var.value.only_env }} "
                                 "login={{ conn.warehouse.login }} pw={{ conn.warehouse.password }} table=" + TABLE,
                )
            """);
        var env = new Dictionary<string, string>
        {
            ["AIRFLOW__SECRETS__BACKEND"] = "airflow.providers.google.cloud.secrets.secret_manager.CloudSecretManagerBackend",
            ["AIRFLOW__SECRETS__BACKEND_KWARGS"] = new JsonObject { ["project_id"] = FakeGoogle.Project, ["gcp_keyfile_dict"] = google.KeyFileJson() }.ToJsonString(),
            ["AIRFLOW__GOOGLE__SECRET_MANAGER_ENDPOINT"] = google.Url.ToString(),
            ["AIRFLOW_VAR_DB_HOST"] = "env-host-loses",
            ["AIRFLOW_VAR_ONLY_ENV"] = "from-env",
        };

        var (code, output) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "secrets_dag", "2024-01-06");

        Assert.True(code == 0 && output.Contains("finished: success", StringComparison.Ordinal), output);
        Assert.Contains("host=sm-host.internal again=sm-host.internal env=from-env login=etl pw=*** table=events_from_sm", output, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-from-sm-123", output, StringComparison.Ordinal);
        // target_table twice at parse time (the DAG-processor child vets the file, then the CLI loads it, as an Airflow
        // worker parses the file again), db_host once for both its uses, only_env and the connection once each.
        Assert.Equal(5, google.Requests("secret-access"));
        Assert.True(google.Errors.IsEmpty, string.Join('\n', google.Errors));

        // An unknown backend class is refused by name.
        env["AIRFLOW__SECRETS__BACKEND"] = "airflow.providers.hashicorp.secrets.vault.VaultBackend";
        var (badCode, badOutput) = await SiroccoProcess.RunAsync(_home, null, env, "dags", "test", "secrets_dag", "2024-01-07");
        Assert.NotEqual(0, badCode);
        Assert.Contains("[secrets] backend 'airflow.providers.hashicorp.secrets.vault.VaultBackend' is not available", badOutput, StringComparison.Ordinal);
    }
}
