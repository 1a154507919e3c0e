using System.Diagnostics;
using Sirocco.LocalCluster;
using Sirocco.Testing;

namespace Sirocco.Cli.Tests;

/// <summary>
/// <c>sirocco cluster load-image|images|rmi</c> through the real program, and an Airflow DAG file whose
/// KubernetesPodOperator runs a team's own image, loaded from a tarball, on the local cluster in image mode.
/// </summary>
public sealed class ClusterImagesTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-images-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task A_loaded_image_runs_a_KubernetesPodOperator_and_a_pull_failure_ends_the_try_at_once()
    {
        var source = await TestImages.BuildAsync(Path.Combine(_home, "build"));
        var archive = Path.Combine(_home, "etl.tar");
        var (skopeo, skopeoOut, skopeoErr) = await TestRegistry.RunAsync("/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", source, $"docker-archive:{archive}:team/etl:1");
        Assert.True(skopeo == 0, skopeoOut + skopeoErr);

        var (code, output) = await SiroccoProcess.RunAsync(_home, null, "cluster", "load-image", archive);
        Assert.True(code == 0, output);
        Assert.Equal("Loaded image: docker.io/team/etl:1", output.Trim());
        (code, output) = await SiroccoProcess.RunAsync(_home, null, "cluster", "images", "-o", "json");
        Assert.True(code == 0, output);
        Assert.Contains("\"image\": \"docker.io/team/etl:1\"", output, StringComparison.Ordinal);
        (code, output) = await SiroccoProcess.RunAsync(_home, null, "cluster", "load-image", Path.Combine(_home, "missing.tar"));
        Assert.NotEqual(0, code);
        Assert.Contains("missing.tar", output, StringComparison.Ordinal);

        await using (var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home, ImageMode = LocalClusterImageMode.Pull }))
        {
            Directory.CreateDirectory(Path.Combine(_home, "dags"));
            await File.WriteAllTextAsync(Path.Combine(_home, "dags", "own_image.py"), """
                import datetime

                from airflow import models
                from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

                with models.DAG(
                    dag_id="own_image",
                    schedule_interval=None,
                    start_date=datetime.datetime(2024, 1, 1),
                ) as dag:
                    KubernetesPodOperator(
                        task_id="etl",
                        name="etl",
                        namespace="default",
                        image="team/etl:1",
                        image_pull_policy="IfNotPresent",
                        env_vars={"RUN_DATE": "{{ ds }}"},
                        arguments=["echo etl for $RUN_DATE; id -u; pwd; echo $GREETING"],
                    )
                    KubernetesPodOperator(
                        task_id="unpullable",
                        name="unpullable",
                        namespace="default",
                        image="127.0.0.1:1/team/missing:1",
                        cmds=["/bin/sh"],
                    )
                """);

            (code, output) = await SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, "tasks", "test", "own_image", "etl", "2024-03-05");
            Assert.True(code == 0, output);
            Assert.Contains("etl for 2024-03-05", output, StringComparison.Ordinal);
            Assert.Contains(TestImages.Greeting, output, StringComparison.Ordinal);

            var watch = Stopwatch.StartNew();
            (code, output) = await SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, "tasks", "test", "own_image", "unpullable", "2024-03-05");
            Assert.True(code != 0, output);
            Assert.Contains("ErrImagePull", output, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1:1", output, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the try waited for the startup timeout: {watch.Elapsed}");
        }

        (code, output) = await SiroccoProcess.RunAsync(_home, null, "cluster", "rmi", "team/etl:1");
        Assert.True(code == 0, output);
        Assert.Equal("Deleted: docker.io/team/etl:1", output.Trim());
        (code, output) = await SiroccoProcess.RunAsync(_home, null, "cluster", "rmi", "team/etl:1");
        Assert.NotEqual(0, code);
        Assert.Contains("no such image: docker.io/team/etl:1", output, StringComparison.Ordinal);
    }
}
