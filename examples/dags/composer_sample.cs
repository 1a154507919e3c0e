// The seed page's example DAG ("Using the KubernetesPodOperator", Cloud Composer) as a Sirocco C# DAG file.
// Four tasks: the minimum, templated fields, Kubernetes Secrets, and every other setting the page shows.
// Parameters are the provider's in PascalCase; see docs/kubernetes-pod-operator.md.
using k8s.Models;
using Sirocco;
using Sirocco.Kubernetes;

// One key of the Secret "airflow-secrets" as the environment variable SQL_CONN.
var secretEnv = new Secret("env", "SQL_CONN", "airflow-secrets", "sql_alchemy_conn");

// The Secret "service-account" as files under /var/secrets/google (read-only).
var secretVolume = new Secret("volume", "/var/secrets/google", "service-account", "service-account.json");

var dag = new Dag("composer_sample_kubernetes_pod")
{
    Schedule = TimeSpan.FromDays(1),
    StartDate = DateTimeOffset.UtcNow.AddDays(-1),
};

// Only the task id, name, namespace and image are required.
var minimum = new KubernetesPodOperator("pod-ex-minimum")
{
    Name = "pod-ex-minimum",
    Cmds = ["echo"],
    Namespace = "composer-user-workloads",
    Image = "gcr.io/gcp-runtimes/ubuntu_20_0_4",
    ConfigFile = "/home/airflow/composer_kube_config",
    KubernetesConnId = "kubernetes_default",
};

// Cmds, Arguments, EnvVars and ConfigFile are templates, rendered for each try.
var templates = new KubernetesPodOperator("ex-kube-templates")
{
    Name = "ex-kube-templates",
    Namespace = "composer-user-workloads",
    Image = "bash",
    Cmds = ["echo"],
    Arguments = ["{{ ds }}"],
    EnvVars = { ["MY_VALUE"] = "{{ var.value.my_value }}" },
    ConfigFile = "{{ conf.get('core', 'kube_config') }}",
    KubernetesConnId = "kubernetes_default",
};

// The pod cannot start until both Secrets exist in the namespace.
var secrets = new KubernetesPodOperator("ex-kube-secrets")
{
    Name = "ex-kube-secrets",
    Namespace = "composer-user-workloads",
    Image = "gcr.io/gcp-runtimes/ubuntu_20_0_4",
    StartupTimeoutSeconds = 300,
    Secrets = [secretEnv, secretVolume],
    Cmds = ["echo"],
    EnvVars =
    {
        ["EXAMPLE_VAR"] = "/example/value",
        ["GOOGLE_APPLICATION_CREDENTIALS"] = "/var/secrets/google/service-account.json",
    },
    ConfigFile = "/home/airflow/composer_kube_config",
    KubernetesConnId = "kubernetes_default",
};

// Every other setting the page shows; perl prints pi to 2000 digits.
var allConfigs = new KubernetesPodOperator("ex-all-configs")
{
    Name = "pi",
    Namespace = "composer-user-workloads",
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
        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1000m"), ["memory"] = new("10G"), ["ephemeral-storage"] = new("10G") },
        Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1000m"), ["memory"] = new("10G"), ["ephemeral-storage"] = new("10G") },
    },
    ConfigFile = "/home/airflow/composer_kube_config",
    DoXcomPush = false,
    Volumes = [],
    VolumeMounts = [],
    KubernetesConnId = "kubernetes_default",
    Affinity = new V1Affinity(),
};

dag.Add(minimum);
dag.Add(templates);
dag.Add(secrets);
dag.Add(allConfigs);

return dag;
