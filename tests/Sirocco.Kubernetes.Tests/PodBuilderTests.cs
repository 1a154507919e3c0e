using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

public sealed class PodBuilderTests
{
    private const string ConfigFile = "/home/airflow/composer_kube_config";

    private static readonly PodBuildContext Context = BuildContexts.Fixed with
    {
        DagId = "composer_sample_kubernetes_pod",
        RunId = "scheduled__2024-01-01T00:00:00+00:00",
        RandomSuffix = () => "abc12345",
        SiroccoVersion = "1.0.0",
    };

    public static TheoryData<string> SeedTasks => ["pod-ex-minimum", "ex-kube-templates", "ex-kube-secrets", "ex-all-configs"];

    [Theory]
    [MemberData(nameof(SeedTasks))]
    public void Seed_task_builds_the_expected_pod(string taskId)
    {
        var op = taskId switch
        {
            "pod-ex-minimum" => SeedDag.Minimum(ConfigFile),
            "ex-kube-templates" => SeedDag.Templates("2024-01-01", "example_value", ConfigFile),
            "ex-kube-secrets" => SeedDag.Secrets(ConfigFile),
            _ => SeedDag.AllConfigs(ConfigFile),
        };

        var pod = PodBuilder.Build(op, Context with { TaskId = taskId });

        var actual = JsonNode.Parse(KubernetesJson.Serialize(pod))!;
        var expectedPath = Path.Combine(AppContext.BaseDirectory, "Expected", taskId + ".json");
        if (Environment.GetEnvironmentVariable("KPO_WRITE_EXPECTED") is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, taskId + ".json"), actual.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        var expected = JsonNode.Parse(File.ReadAllText(expectedPath))!;
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected:\n{expected}\nactual:\n{actual}");
    }

    [Fact]
    public void Operator_parameters_override_full_pod_spec_which_overrides_the_template()
    {
        var dir = Directory.CreateTempSubdirectory("kpo-template");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "pod.yaml"), """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: from-template
                  namespace: template-ns
                  labels: { team: data, tier: template }
                spec:
                  serviceAccountName: template-sa
                  nodeSelector: { disk: ssd }
                  volumes:
                  - name: tmpl
                    emptyDir: {}
                  containers:
                  - name: base
                    image: template-image
                    command: ["template-cmd"]
                    env:
                    - name: FROM_TEMPLATE
                      value: "1"
                """);
            var op = new KubernetesPodOperator("t")
            {
                PodTemplateFile = "pod.yaml",
                FullPodSpec = new V1Pod
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["tier"] = "full" } },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = "full-sa",
                        Containers = [new V1Container { Name = "base", Image = "full-image" }],
                    },
                },
                Image = "operator-image",
                EnvVars = { ["FROM_OPERATOR"] = "2" },
            };

            var pod = PodBuilder.Build(op, Context with { DagFolder = dir.FullName });

            Assert.Equal("from-template-abc12345", pod.Metadata.Name);
            Assert.Equal("template-ns", pod.Metadata.NamespaceProperty);
            Assert.Equal("data", pod.Metadata.Labels["team"]);
            Assert.Equal("full", pod.Metadata.Labels["tier"]);
            Assert.Equal("full-sa", pod.Spec.ServiceAccountName);
            Assert.Equal("ssd", pod.Spec.NodeSelector["disk"]);
            Assert.Equal("Never", pod.Spec.RestartPolicy);
            var container = Assert.Single(pod.Spec.Containers);
            Assert.Equal("operator-image", container.Image);
            Assert.Equal(["template-cmd"], container.Command);
            Assert.Equal(["FROM_TEMPLATE", "FROM_OPERATOR"], container.Env.Select(e => e.Name));
            Assert.Equal("tmpl", Assert.Single(pod.Spec.Volumes).Name);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
