using Sirocco.DagFiles;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// The seed page's four tasks, taken from examples/dags/composer_sample.cs as the real DAG-file loader builds it (once
/// per test run); each call returns a per-try copy with the values a test gives in place of the templates.
/// </summary>
internal static class SeedDag
{
    public const string Namespace = "composer-user-workloads";

    private static readonly Lazy<Dag> Loaded = new(Load);

    public static Dag Dag => Loaded.Value;

    public static KubernetesPodOperator Minimum(string configFile) => With(Task("pod-ex-minimum"), configFile);

    public static KubernetesPodOperator Templates(string ds, string myValue, string configFile)
    {
        var op = With(Task("ex-kube-templates"), configFile);
        op.Arguments = [ds];
        op.EnvVars["MY_VALUE"] = myValue;
        return op;
    }

    public static KubernetesPodOperator Secrets(string configFile) => With(Task("ex-kube-secrets"), configFile);

    public static KubernetesPodOperator AllConfigs(string configFile) => With(Task("ex-all-configs"), configFile);

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "examples", "dags", "composer_sample.cs")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("examples/dags/composer_sample.cs not found above " + AppContext.BaseDirectory);
    }

    private static KubernetesPodOperator Task(string taskId) => (KubernetesPodOperator)Dag.GetTask(taskId).CloneForTry();

    private static KubernetesPodOperator With(KubernetesPodOperator op, string configFile)
    {
        op.ConfigFile = configFile;
        return op;
    }

    private static Dag Load()
    {
        var folder = Directory.CreateTempSubdirectory("kpo-seed-dag");
        try
        {
            File.Copy(Path.Combine(RepositoryRoot(), "examples", "dags", "composer_sample.cs"), Path.Combine(folder.FullName, "composer_sample.cs"));
            using var bag = new DagBag(new DagBagOptions { DagsFolder = folder.FullName, Watch = false });
            var result = bag.CollectAsync().GetAwaiter().GetResult();
            if (result.ImportErrors.Count > 0)
            {
                throw new InvalidOperationException(string.Join('\n', result.ImportErrors.Select(e => e.Message)));
            }

            return result.Dags["composer_sample_kubernetes_pod"];
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
