using System.Text.Json.Nodes;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>airflow_local_settings.py's pod_mutation_hook, run by the reader against a pod's JSON.</summary>
public sealed class PodMutationHookTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sirocco-hook-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, "airflow_local_settings.py");
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonObject Pod() => JsonNode.Parse("""
        {"metadata": {"name": "p", "namespace": "default", "labels": {"dag_id": "d"}},
         "spec": {"containers": [{"name": "base", "image": "busybox", "args": ["x"]}], "restartPolicy": "Never"}}
        """)!.AsObject();

    [Fact]
    public void The_hook_changes_labels_annotations_images_tolerations_and_env_in_place()
    {
        var settings = AirflowLocalSettings.Load(Write("""
            from kubernetes.client import models as k8s

            REGISTRY = "registry.example.com"

            def pod_mutation_hook(pod):
                pod.metadata.labels["team"] = "data"
                if pod.metadata.annotations is None:
                    pod.metadata.annotations = {}
                pod.metadata.annotations["cost-center"] = "42"
                pod.spec.containers[0].image = REGISTRY + "/" + pod.spec.containers[0].image
                pod.spec.tolerations = (pod.spec.tolerations or []) + [k8s.V1Toleration(key="dedicated", operator="Equal", value="etl", effect="NoSchedule")]
                for c in pod.spec.containers:
                    c.env = (c.env or []) + [k8s.V1EnvVar(name="INJECTED", value="yes")]
            """))!;

        var pod = settings.Mutate(Pod());

        Assert.Equal("data", pod["metadata"]!["labels"]!["team"]!.GetValue<string>());
        Assert.Equal("d", pod["metadata"]!["labels"]!["dag_id"]!.GetValue<string>());
        Assert.Equal("42", pod["metadata"]!["annotations"]!["cost-center"]!.GetValue<string>());
        var container = pod["spec"]!["containers"]![0]!;
        Assert.Equal("registry.example.com/busybox", container["image"]!.GetValue<string>());
        Assert.Equal("""[{"name":"INJECTED","value":"yes"}]""", container["env"]!.ToJsonString());
        Assert.Equal("""["x"]""", container["args"]!.ToJsonString()); // untouched fields stay
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"effect":"NoSchedule","key":"dedicated","operator":"Equal","value":"etl"}]"""), pod["spec"]!["tolerations"]), pod["spec"]!["tolerations"]!.ToJsonString());
        Assert.Equal("Never", pod["spec"]!["restartPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void A_wrong_value_or_a_failing_hook_names_the_file_line_and_field()
    {
        var settings = AirflowLocalSettings.Load(Write("""
            def pod_mutation_hook(pod):
                pod.spec.containers[0].image = ["busybox"]
            """))!;
        var e = Assert.Throws<SiroccoException>(() => settings.Mutate(Pod()));
        Assert.Contains("airflow_local_settings.py:2:", e.Message, StringComparison.Ordinal);
        Assert.Contains("V1Container.image: not a valid String", e.Message, StringComparison.Ordinal);

        settings = AirflowLocalSettings.Load(Write("""
            def pod_mutation_hook(pod):
                pod.spec.containers.append("sidecar")
            """))!;
        e = Assert.Throws<SiroccoException>(() => settings.Mutate(Pod()));
        Assert.Contains("the pod after pod_mutation_hook: not a valid V1Pod", e.Message, StringComparison.Ordinal);

        settings = AirflowLocalSettings.Load(Write("""
            def pod_mutation_hook(pod):
                pod.metadata.colour = "red"
            """))!;
        e = Assert.Throws<SiroccoException>(() => settings.Mutate(Pod()));
        Assert.Contains("airflow_local_settings.py:2:", e.Message, StringComparison.Ordinal);
        Assert.Contains("'V1ObjectMeta' object has no attribute 'colour'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_a_hook_is_none_and_a_broken_file_is_an_error_with_its_line()
    {
        Assert.Null(AirflowLocalSettings.Load(Path.Combine(_dir, "missing.py")));
        Assert.Null(AirflowLocalSettings.Load(Write("STATSD_PREFIX = 'x'\n")));
        var e = Assert.Throws<SiroccoException>(() => AirflowLocalSettings.Load(Write("def pod_mutation_hook(pod):\n    pod.x = (\n")));
        Assert.Contains("airflow_local_settings.py:2:", e.Message, StringComparison.Ordinal);
    }
}
