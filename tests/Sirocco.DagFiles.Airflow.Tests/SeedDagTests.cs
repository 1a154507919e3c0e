using k8s;
using k8s.Models;
using Sirocco.Configuration;
using Sirocco.Kubernetes;
using Sirocco.Kubernetes.Internal;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Templating;
using Sirocco.Variables;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>The seed page's DAG file, unchanged, read without Python.</summary>
public sealed class SeedDagTests
{
    private static Dag LoadSeed()
    {
        var result = Support.NewParser().Parse("/dags/kubernetes_pod_operator.py", Support.SeedDagText(), null, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(result.Errors.Count == 0, result.Errors.Count == 0 ? string.Empty : result.Errors[0].Message);
        return Assert.Single(result.Dags);
    }

    [Fact]
    public void Seed_loads_as_the_composer_sample_with_four_tasks_and_no_dependencies()
    {
        var dag = LoadSeed();
        Assert.Equal("composer_sample_kubernetes_pod", dag.DagId);
        Assert.Equal(["pod-ex-minimum", "ex-kube-templates", "ex-kube-secrets", "ex-all-configs"], dag.Tasks.Select(t => t.TaskId));
        Assert.All(dag.Tasks, t => Assert.Empty(t.UpstreamTaskIds));
        Assert.Equal(Schedule.Every(TimeSpan.FromDays(1)).Description, dag.Schedule.Description);
        var start = Assert.NotNull(dag.StartDate);
        Assert.InRange(DateTimeOffset.UtcNow - start, TimeSpan.FromHours(23), TimeSpan.FromHours(25) + TimeSpan.FromHours(14));
    }

    [Fact]
    public void Seed_tasks_carry_the_page_parameters()
    {
        var dag = LoadSeed();
        var min = Assert.IsType<KubernetesPodOperator>(dag.GetTask("pod-ex-minimum"));
        Assert.Equal("pod-ex-minimum", min.Name);
        Assert.Equal(["echo"], min.Cmds);
        Assert.Equal("composer-user-workloads", min.Namespace);
        Assert.Equal("gcr.io/gcp-runtimes/ubuntu_20_0_4", min.Image);
        Assert.Equal("/home/airflow/composer_kube_config", min.ConfigFile);
        Assert.Equal("kubernetes_default", min.KubernetesConnId);

        var templates = Assert.IsType<KubernetesPodOperator>(dag.GetTask("ex-kube-templates"));
        Assert.Equal(["{{ ds }}"], templates.Arguments);
        Assert.Equal("{{ var.value.my_value }}", templates.EnvVars["MY_VALUE"]);
        Assert.Equal("{{ conf.get('core', 'kube_config') }}", templates.ConfigFile);
        Assert.Equal("bash", templates.Image);

        var secrets = Assert.IsType<KubernetesPodOperator>(dag.GetTask("ex-kube-secrets"));
        Assert.Equal(300, secrets.StartupTimeoutSeconds);
        Assert.Equal([new Secret("env", "SQL_CONN", "airflow-secrets", "sql_alchemy_conn"), new Secret("volume", "/var/secrets/google", "service-account", "service-account.json")], secrets.Secrets);
        Assert.Equal("/var/secrets/google/service-account.json", secrets.EnvVars["GOOGLE_APPLICATION_CREDENTIALS"]);
        Assert.Equal("/example/value", secrets.EnvVars["EXAMPLE_VAR"]);

        var full = Assert.IsType<KubernetesPodOperator>(dag.GetTask("ex-all-configs"));
        Assert.Equal("pi", full.Name);
        Assert.Equal("perl:5.34.0", full.Image);
        Assert.Equal(["perl"], full.Cmds);
        Assert.Equal(["-Mbignum=bpi", "-wle", "print bpi(2000)"], full.Arguments);
        Assert.Empty(full.Secrets);
        Assert.Equal("label-name", full.Labels["pod-label"]);
        Assert.Equal(600, full.StartupTimeoutSeconds);
        Assert.True(full.GetLogs);
        Assert.Equal("Always", full.ImagePullPolicy);
        Assert.Equal("value1", full.Annotations["key1"]);
        var resources = full.ContainerResources!;
        Assert.Equal(new ResourceQuantity("1000m").ToString(), resources.Requests["cpu"].ToString());
        Assert.Equal("10G", resources.Limits["ephemeral-storage"].ToString());
        Assert.False(full.DoXcomPush);
        Assert.Empty(full.Volumes);
        Assert.Empty(full.VolumeMounts);
        Assert.NotNull(full.Affinity);
    }

    [Fact]
    public async Task Each_seed_pod_equals_the_pod_of_the_CSharp_example()
    {
        var pyDag = LoadSeed();
        var csPath = Path.Combine(Support.RepositoryRoot(), "examples", "dags", "composer_sample.cs");
        var folder = Directory.CreateTempSubdirectory("sirocco-airflow-seed-");
        try
        {
            File.Copy(csPath, Path.Combine(folder.FullName, "composer_sample.cs"));
            using var bag = new DagBag(new DagBagOptions { DagsFolder = folder.FullName, Watch = false });
            var result = await bag.CollectAsync();
            Assert.Empty(result.ImportErrors);
            var csDag = result.Dags["composer_sample_kubernetes_pod"];
            Assert.Equal(csDag.Tasks.Select(t => t.TaskId), pyDag.Tasks.Select(t => t.TaskId));
            foreach (var task in csDag.Tasks)
            {
                var expected = Pod(csDag, task.TaskId);
                var actual = Pod(pyDag, task.TaskId);
                Assert.Equal(expected, actual);

                // And once rendered for a run, as the scheduler does before the pod is built.
                var context = RenderContext(task.TaskId, folder.FullName);
                var renderedExpected = Pod(csDag, task.TaskId, context);
                Assert.Equal(renderedExpected, Pod(pyDag, task.TaskId, context));
                if (task.TaskId == "ex-kube-templates")
                {
                    Assert.Contains("\"args\":[\"2026-11-26\"]", renderedExpected, StringComparison.Ordinal);
                    Assert.Contains("{\"name\":\"MY_VALUE\",\"value\":\"example_value\"}", renderedExpected, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string Pod(Dag dag, string taskId, TemplateContext? render = null)
    {
        var op = (KubernetesPodOperator)dag.GetTask(taskId);
        if (render is not null)
        {
            op = new TemplateFieldRenderer(new TemplateEngine()).RenderFields((KubernetesPodOperator)op.CloneForTry(), op.TemplateFields, render);
        }

        var pod = PodBuilder.Build(op, new PodBuildContext
        {
            DagId = dag.DagId,
            TaskId = taskId,
            RunId = "manual__2026-11-26T00:00:00+00:00",
            TryNumber = 1,
            RandomSuffix = () => "abcdefgh",
        });
        return KubernetesJson.Serialize(pod);
    }

    private sealed class OneVariable : IVariableStore
    {
        public Variable? GetVariable(string key) => key == "my_value" ? new Variable(key, "example_value") : null;

        public IReadOnlyList<Variable> ListVariables() => [];

        public void SetVariable(Variable variable)
        {
        }

        public bool DeleteVariable(string key) => false;
    }

    private static TemplateContext RenderContext(string taskId, string home)
    {
        var env = new Dictionary<string, string> { ["SIROCCO__CORE__KUBE_CONFIG"] = "/home/airflow/composer_kube_config" };
        return AirflowContext.Build(
            new AirflowContextInput { DagId = "composer_sample_kubernetes_pod", TaskId = taskId, RunId = "manual__2026-11-26T00:00:00+00:00", LogicalDate = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) },
            new AirflowServices
            {
                Config = SiroccoConfig.Load(home, env),
                Variables = new VariableAccessor(new OneVariable(), env, new SecretMasker()),
            });
    }

    [Fact]
    public async Task Seed_file_loads_through_the_DagBag_next_to_CSharp_files()
    {
        var folder = Directory.CreateTempSubdirectory("sirocco-airflow-bag-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "kubernetes_pod_operator.py"), Support.SeedDagText());
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "helper.py"), "def helper():\n    return 1\n");
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "broken.py"), "from airflow import DAG\nimport subprocess\nsubprocess.run(['x'])\n");
            using var bag = new DagBag(new DagBagOptions
            {
                DagsFolder = folder.FullName,
                Watch = false,
                AdditionalParsers = [Support.NewParser()],
            });
            var result = await bag.CollectAsync();
            var dag = Assert.Single(result.Dags).Value;
            Assert.Equal("composer_sample_kubernetes_pod", dag.DagId);
            Assert.Equal(Path.Combine(folder.FullName, "kubernetes_pod_operator.py"), dag.FileLoc);
            var error = Assert.Single(result.ImportErrors);
            Assert.EndsWith("broken.py", error.FileName);
            Assert.Contains("broken.py:3:12: 'import subprocess' is outside the DAG-file subset", error.Message);
            Assert.Equal(3, error.Line);

            var again = await bag.CollectAsync();
            Assert.Equal(3, again.Stats.FilesUnchanged);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_cycle_in_a_py_file_is_rejected_by_the_DagBag_like_a_CSharp_one()
    {
        var folder = Directory.CreateTempSubdirectory("sirocco-airflow-cycle-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "cycle.py"),
                "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\nwith DAG('cyclic'):\n    a = EmptyOperator(task_id='a')\n    b = EmptyOperator(task_id='b')\n    a >> b >> a\n");
            using var bag = new DagBag(new DagBagOptions { DagsFolder = folder.FullName, Watch = false, AdditionalParsers = [Support.NewParser()] });
            var result = await bag.CollectAsync();
            Assert.Empty(result.Dags);
            Assert.Contains("Cycle detected in DAG cyclic", Assert.Single(result.ImportErrors).Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Seed_secret_objects_map_onto_the_pod_as_the_provider_does()
    {
        var dag = LoadSeed();
        var pod = PodBuilder.Build((KubernetesPodOperator)dag.GetTask("ex-kube-secrets"), new PodBuildContext { DagId = dag.DagId, TaskId = "ex-kube-secrets", RunId = "r", TryNumber = 1 });
        var container = pod.Spec.Containers.Single(c => c.Name == "base");
        Assert.Contains(container.Env, e => e.Name == "SQL_CONN" && e.ValueFrom.SecretKeyRef.Name == "airflow-secrets" && e.ValueFrom.SecretKeyRef.Key == "sql_alchemy_conn");
        Assert.Contains(container.VolumeMounts, m => m.MountPath == "/var/secrets/google" && m.ReadOnlyProperty == true);
        Assert.Contains(pod.Spec.Volumes, v => v.Secret?.SecretName == "service-account");

    }
}
