using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// The seed's walkthrough for ex-kube-templates, with its fields rendered by the real template engine over the
/// operator's TemplateFields and CloneForTry (as the scheduler will): it fails while Variable my_value is missing,
/// then while [core] kube_config is missing, then succeeds and the pod echoes the run's date.
/// </summary>
[Collection("cluster")]
public sealed class TemplateWalkthroughTests(ClusterFixture fx)
{
    [Fact]
    public async Task Ex_kube_templates_fails_on_the_missing_variable_then_the_missing_option_then_succeeds()
    {
        var harness = new TryHarness();
        var op = SeedDag.Templates("{{ ds }}", "{{ var.value.my_value }}", "{{ conf.get('core', 'kube_config') }}");
        op.Cmds = ["sh", "-c", "echo \"$0\"; echo \"MY_VALUE=$MY_VALUE\""];

        var noVariable = Assert.ThrowsAny<SiroccoException>(() => harness.Render(op));
        Assert.Contains("my_value", noVariable.Message, StringComparison.Ordinal);

        harness.SetVariable("my_value", "example_value");
        var noOption = Assert.ThrowsAny<SiroccoException>(() => harness.Render(op));
        Assert.Contains("kube_config", noOption.Message, StringComparison.Ordinal);

        harness.Config.Set("core", "kube_config", fx.Kubeconfig);
        var rendered = harness.Render(op);
        Assert.Equal(fx.Kubeconfig, rendered.ConfigFile);
        Assert.Equal("{{ ds }}", op.Arguments[0]);

        await harness.RunAsync(rendered);

        Assert.Contains("2024-01-01", harness.Log);
        Assert.Contains("MY_VALUE=example_value", harness.Log);
    }

    [Fact]
    public void Nested_values_of_template_fields_are_rendered_and_the_dag_task_is_left_unrendered()
    {
        var harness = new TryHarness();
        var op = new KubernetesPodOperator("nested")
        {
            Image = "img:{{ ds_nodash }}",
            Labels = { ["run"] = "{{ ds_nodash }}" },
            VolumeMounts = [new k8s.Models.V1VolumeMount { Name = "data", MountPath = "/data/{{ ds }}" }],
            EnvVarList = [new k8s.Models.V1EnvVar { Name = "WHEN", Value = "{{ ds }}" }],
            PodTemplateDict = new Dictionary<string, object?>
            {
                ["metadata"] = new Dictionary<string, object?> { ["annotations"] = new Dictionary<string, object?> { ["day"] = "{{ ds }}" } },
            },
        };

        var rendered = harness.Render(op);

        Assert.Equal("img:20240101", rendered.Image);
        Assert.Equal("20240101", rendered.Labels["run"]);
        Assert.Equal("/data/2024-01-01", rendered.VolumeMounts[0].MountPath);
        Assert.Equal("2024-01-01", rendered.EnvVarList[0].Value);
        var annotations = (IDictionary<string, object?>)((IDictionary<string, object?>)rendered.PodTemplateDict!["metadata"]!)["annotations"]!;
        Assert.Equal("2024-01-01", annotations["day"]);
        Assert.Equal("/data/{{ ds }}", op.VolumeMounts[0].MountPath);
        Assert.Equal("{{ ds_nodash }}", op.Labels["run"]);
    }
}
