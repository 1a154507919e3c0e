using k8s.Models;

namespace Sirocco.Kubernetes.Tests;

/// <summary>The seed page's four tasks, as in examples/dags/composer_sample.cs (rendered values where templated).</summary>
internal static class SeedDag
{
    public const string Namespace = "composer-user-workloads";

    public static Secret SecretEnv { get; } = new("env", "SQL_CONN", "airflow-secrets", "sql_alchemy_conn");

    public static Secret SecretVolume { get; } = new("volume", "/var/secrets/google", "service-account", "service-account.json");

    public static KubernetesPodOperator Minimum(string configFile) => new("pod-ex-minimum")
    {
        Name = "pod-ex-minimum",
        Cmds = ["echo"],
        Namespace = Namespace,
        Image = "gcr.io/gcp-runtimes/ubuntu_20_0_4",
        ConfigFile = configFile,
        KubernetesConnId = "kubernetes_default",
    };

    public static KubernetesPodOperator Templates(string ds, string myValue, string configFile) => new("ex-kube-templates")
    {
        Name = "ex-kube-templates",
        Namespace = Namespace,
        Image = "bash",
        Cmds = ["echo"],
        Arguments = [ds],
        EnvVars = { ["MY_VALUE"] = myValue },
        ConfigFile = configFile,
        KubernetesConnId = "kubernetes_default",
    };

    public static KubernetesPodOperator Secrets(string configFile) => new("ex-kube-secrets")
    {
        Name = "ex-kube-secrets",
        Namespace = Namespace,
        Image = "gcr.io/gcp-runtimes/ubuntu_20_0_4",
        StartupTimeoutSeconds = 300,
        Secrets = [SecretEnv, SecretVolume],
        Cmds = ["echo"],
        EnvVars =
        {
            ["EXAMPLE_VAR"] = "/example/value",
            ["GOOGLE_APPLICATION_CREDENTIALS"] = "/var/secrets/google/service-account.json",
        },
        ConfigFile = configFile,
        KubernetesConnId = "kubernetes_default",
    };

    public static KubernetesPodOperator AllConfigs(string configFile) => new("ex-all-configs")
    {
        Name = "pi",
        Namespace = Namespace,
        Image = "perl:5.34.0",
        Cmds = ["perl"],
        Arguments = ["-Mbignum=bpi", "-wle", "print bpi(2000)"],
        Secrets = [],
        Labels = { ["pod-label"] = "label-name" },
        StartupTimeoutSeconds = 600,
        EnvVars = { ["EXAMPLE_VAR"] = "/example/value" },
        GetLogs = true,
        ImagePullPolicy = "Always",
        Annotations = { ["key1"] = "value1" },
        ContainerResources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity>
            {
                ["cpu"] = new("1000m"),
                ["memory"] = new("10G"),
                ["ephemeral-storage"] = new("10G"),
            },
            Limits = new Dictionary<string, ResourceQuantity>
            {
                ["cpu"] = new("1000m"),
                ["memory"] = new("10G"),
                ["ephemeral-storage"] = new("10G"),
            },
        },
        ConfigFile = configFile,
        DoXcomPush = false,
        Volumes = [],
        VolumeMounts = [],
        KubernetesConnId = "kubernetes_default",
        Affinity = new V1Affinity(),
    };
}
