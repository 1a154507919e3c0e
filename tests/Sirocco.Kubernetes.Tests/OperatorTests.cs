using System.Reflection;
using k8s.Models;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

public sealed class OperatorTests
{
    private static readonly PodBuildContext Context = BuildContexts.Fixed;

    [Fact]
    public void Defaults_are_the_providers()
    {
        var op = new KubernetesPodOperator("t");
        Assert.False(op.DoXcomPush);
        Assert.Equal("kubernetes_default", op.KubernetesConnId);
        Assert.Equal(120, op.StartupTimeoutSeconds);
        Assert.Equal(5, op.StartupCheckIntervalSeconds);
        Assert.True(op.GetLogs);
        Assert.True(op.RandomNameSuffix);
        Assert.True(op.ReattachOnRestart);
        Assert.Equal("base", op.BaseContainerName);
        Assert.Equal(OnFinishAction.DeletePod, op.OnFinishAction);
        Assert.Equal("File", op.TerminationMessagePolicy);
        Assert.True(op.LogPodSpecOnFailure);
        Assert.False(op.LogEventsOnFailure);
        Assert.False(op.HostNetwork);
    }

    [Fact]
    public void Template_fields_are_public_read_write_properties()
    {
        var op = new KubernetesPodOperator("t");
        Assert.Contains(nameof(KubernetesPodOperator.ConfigFile), op.TemplateFields);
        Assert.Contains(nameof(KubernetesPodOperator.EnvVars), op.TemplateFields);
        foreach (var name in op.TemplateFields)
        {
            var p = typeof(KubernetesPodOperator).GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
            Assert.True(p is { CanRead: true, SetMethod.IsPublic: true }, name);
        }
    }

    [Fact]
    public void CloneForTry_copies_mutable_members_deeply()
    {
        var op = new KubernetesPodOperator("t")
        {
            Cmds = ["echo"],
            EnvVars = { ["A"] = "{{ ds }}" },
            Volumes = [new V1Volume { Name = "v", EmptyDir = new V1EmptyDirVolumeSource() }],
            ContainerResources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1") } },
            PodTemplateDict = new Dictionary<string, object?> { ["metadata"] = new Dictionary<string, object?> { ["name"] = "x" } },
        };

        var copy = (KubernetesPodOperator)op.CloneForTry();
        copy.Cmds[0] = "changed";
        copy.EnvVars["A"] = "2024-01-01";
        copy.Volumes[0].Name = "changed";
        copy.ContainerResources!.Limits["cpu"] = new("2");
        ((Dictionary<string, object?>)copy.PodTemplateDict!["metadata"]!)["name"] = "y";

        Assert.Equal("echo", op.Cmds[0]);
        Assert.Equal("{{ ds }}", op.EnvVars["A"]);
        Assert.Equal("v", op.Volumes[0].Name);
        Assert.Equal("1", op.ContainerResources.Limits["cpu"].ToString());
        Assert.Equal("x", ((Dictionary<string, object?>)op.PodTemplateDict["metadata"]!)["name"]);
        Assert.Equal("t", copy.TaskId);
    }

    [Fact]
    public void Legacy_resources_dict_maps_to_requests_and_limits()
    {
        var op = new KubernetesPodOperator("t")
        {
            Image = "i",
            Resources = new Dictionary<string, string> { ["limit_memory"] = "250M", ["limit_cpu"] = "100m", ["request_cpu"] = "50m" },
        };

        var resources = PodBuilder.Build(op, Context).Spec.Containers[0].Resources;

        Assert.Equal("250M", resources.Limits["memory"].ToString());
        Assert.Equal("100m", resources.Limits["cpu"].ToString());
        Assert.Equal("50m", resources.Requests["cpu"].ToString());
    }

    [Fact]
    public void Unknown_legacy_resource_key_is_named_in_the_error()
    {
        var op = new KubernetesPodOperator("t") { Image = "i", Resources = new Dictionary<string, string> { ["limit_mem"] = "1G" } };
        var e = Assert.Throws<SiroccoException>(() => PodBuilder.Build(op, Context));
        Assert.Contains("'limit_mem'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Xcom_push_adds_the_sidecar_and_the_shared_volume()
    {
        var op = new KubernetesPodOperator("t") { Image = "i", Cmds = ["sh"], DoXcomPush = true };

        var pod = PodBuilder.Build(op, Context with { XComSidecarImage = "busybox" });

        Assert.Equal(["base", "airflow-xcom-sidecar"], pod.Spec.Containers.Select(c => c.Name));
        var sidecar = pod.Spec.Containers[1];
        Assert.Equal("busybox", sidecar.Image);
        Assert.Equal(["sh", "-c", "trap \"exit 0\" INT; while true; do sleep 1; done;"], sidecar.Command);
        Assert.Equal("1m", sidecar.Resources.Requests["cpu"].ToString());
        Assert.Equal("10Mi", sidecar.Resources.Requests["memory"].ToString());
        Assert.NotNull(Assert.Single(pod.Spec.Volumes).EmptyDir);
        Assert.Equal("/airflow/xcom", Assert.Single(pod.Spec.Containers[0].VolumeMounts).MountPath);
    }

    [Fact]
    public void Pod_template_dict_is_the_base_and_name_defaults_to_the_task_id()
    {
        var op = new KubernetesPodOperator("my_task")
        {
            Image = "i",
            RandomNameSuffix = false,
            PodTemplateDict = new Dictionary<string, object?>
            {
                ["spec"] = new Dictionary<string, object?>
                {
                    ["priorityClassName"] = "high",
                    ["containers"] = new List<object?> { new Dictionary<string, object?> { ["name"] = "base", ["workingDir"] = "/w" } },
                },
            },
        };

        var pod = PodBuilder.Build(op, Context with { TaskId = "my_task" });

        Assert.Equal("my-task", pod.Metadata.Name);
        Assert.Equal("default", pod.Metadata.NamespaceProperty);
        Assert.Equal("high", pod.Spec.PriorityClassName);
        Assert.Equal("/w", pod.Spec.Containers[0].WorkingDir);
        Assert.Equal("i", pod.Spec.Containers[0].Image);
    }

    [Fact]
    public void Missing_image_and_missing_template_file_are_clear_errors()
    {
        var noImage = Assert.Throws<SiroccoException>(() => PodBuilder.Build(new KubernetesPodOperator("t"), Context));
        Assert.Contains("image is required", noImage.Message, StringComparison.Ordinal);
        var noFile = Assert.Throws<SiroccoException>(() => PodBuilder.Build(new KubernetesPodOperator("t") { Image = "i", PodTemplateFile = "/nonexistent/pod.yaml" }, Context));
        Assert.Contains("pod_template_file '/nonexistent/pod.yaml' does not exist", noFile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_pull_secrets_accept_the_comma_separated_form()
    {
        var op = new KubernetesPodOperator("t") { Image = "i" };
        op.SetImagePullSecrets("a, b");
        Assert.Equal(["a", "b"], PodBuilder.Build(op, Context).Spec.ImagePullSecrets.Select(s => s.Name));
    }

    [Theory]
    [InlineData("delete_pod", OnFinishAction.DeletePod)]
    [InlineData("keep_pod", OnFinishAction.KeepPod)]
    [InlineData("delete_succeeded_pod", OnFinishAction.DeleteSucceededPod)]
    [InlineData("delete_active_pod", OnFinishAction.DeleteActivePod)]
    public void On_finish_action_names_round_trip(string name, OnFinishAction action)
    {
        Assert.Equal(action, OnFinishActionNames.Parse(name));
        Assert.Equal(name, action.ToName());
    }
}

public sealed class GkeOperatorTests
{
    [Fact]
    public void Gke_template_fields_add_the_cluster_coordinates()
    {
        var op = new GKEStartPodOperator("g");
        Assert.Contains(nameof(GKEStartPodOperator.ClusterName), op.TemplateFields);
        Assert.Contains(nameof(KubernetesPodOperator.Image), op.TemplateFields);
    }

    [Fact]
    public async Task Gke_without_google_access_in_the_process_fails_naming_the_task()
    {
        var harness = new Harness.TryHarness();
        var op = new GKEStartPodOperator("g") { ProjectId = "p", Location = "us-central1", ClusterName = "c", Image = "i" };
        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));
        Assert.Contains("task g: no Google Cloud access in this process", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1", "[kubernetes/max_pod_creations_in_flight] must be 0 (no limit) or a positive number, got -1")]
    [InlineData("0", null)]
    [InlineData("7", null)]
    public async Task Creations_in_flight_come_from_the_config_and_a_negative_value_is_refused_by_name(string value, string? error)
    {
        var home = Directory.CreateTempSubdirectory("sirocco-inflight-").FullName;
        try
        {
            var config = Sirocco.Configuration.SiroccoConfig.Load(home, new Dictionary<string, string> { ["SIROCCO__KUBERNETES__MAX_POD_CREATIONS_IN_FLIGHT"] = value });
            if (error is not null)
            {
                var e = Assert.Throws<SiroccoException>(() => new RuntimeServices().AddKubernetes(new Dictionary<string, string>(), config));
                Assert.Equal(error, e.Message);
                return;
            }

            await using var services = new RuntimeServices().AddKubernetes(new Dictionary<string, string>(), config);
            var runtime = (KubernetesRuntime)services.GetService(typeof(KubernetesRuntime))!;
            Assert.Equal(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture), runtime.Options.CreationsInFlight);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
