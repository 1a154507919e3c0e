using System.Collections.Concurrent;
using k8s.Models;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>KubernetesPodOperator's <c>callbacks</c>: every moment in order, a manifest changed before it is sent, failures.</summary>
[Collection("cluster")]
public sealed class CallbackTests(ClusterFixture fx)
{
    private KubernetesPodOperator Pod(string taskId, string ns, string script) => fx.Pod(taskId, ns, script);

    /// <summary>Records each moment with what it saw; may fail at one of them.</summary>
    private sealed class Recorder(string? failAt = null) : KubernetesPodOperatorCallback
    {
        public ConcurrentQueue<string> Seen { get; } = new();

        private Task Note(string what)
        {
            Seen.Enqueue(what);
            return what.StartsWith(failAt ?? "-", StringComparison.Ordinal) ? throw new InvalidOperationException($"{failAt} says no") : Task.CompletedTask;
        }

        public override Task OnSyncClientCreationAsync(KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note($"client {context.Client.BaseUri is not null} {context.Operator.TaskId}");

        public override Task OnPodManifestCreatedAsync(V1Pod podRequest, KubernetesPodCallbackContext context, CancellationToken cancellationToken)
        {
            podRequest.Metadata.Labels["stamped"] = "yes";
            return Note($"manifest {podRequest.Spec.Containers[0].Image}");
        }

        public override Task OnPodCreationAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note($"creation {pod.Metadata.Labels["stamped"]}");

        public override Task OnPodStartingAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note($"starting {pod.Status?.Phase is "Running" or "Succeeded" or "Failed"}");

        public override Task OnPodCompletionAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note($"completion {pod.Status.ContainerStatuses.Single(s => s.Name == "base").State.Terminated?.ExitCode}");

        public override Task OnPodTeardownAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note($"teardown {pod.Status?.Phase}");

        public override Task OnPodCleanupAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
            Note("cleanup");

        public override void OnProgress(string line, string containerName, DateTimeOffset timestamp) => Seen.Enqueue($"line {line} {containerName}");
    }

    [Fact]
    public async Task Every_moment_is_called_in_order_and_a_changed_manifest_is_what_gets_created()
    {
        var ns = await fx.NamespaceAsync("callbacks");
        var harness = new TryHarness();
        var recorder = new Recorder();
        var second = new Recorder();
        var op = Pod("hooks", ns, "echo one; echo two; exit 3");
        op.Callbacks = [recorder, second];
        op.SkipOnExitCode = [3];

        await Assert.ThrowsAsync<TaskSkippedException>(() => harness.RunAsync(op));

        var seen = recorder.Seen.Where(s => !s.StartsWith("client", StringComparison.Ordinal)).ToList();
        Assert.Equal(["manifest busybox", "creation yes", "starting True", "line one base", "line two base", "completion 3", "teardown Failed", "cleanup"], seen);
        Assert.Equal(seen, second.Seen.Where(s => !s.StartsWith("client", StringComparison.Ordinal)));
        Assert.Single(recorder.Seen, s => s.StartsWith("client", StringComparison.Ordinal));
        Assert.DoesNotContain(await fx.PodsAsync(ns, "stamped=yes"), p => p.Metadata.DeletionTimestamp is null);
    }

    [Theory]
    [InlineData("completion")]
    [InlineData("teardown")]
    public async Task A_failing_hook_fails_the_try_naming_it_and_the_pod_is_still_cleaned_up(string moment)
    {
        var ns = await fx.NamespaceAsync("callbacks-fail");
        var harness = new TryHarness();
        var recorder = new Recorder(failAt: moment);
        var op = Pod("hooks-fail", ns, "echo fine");
        op.Callbacks = [recorder];

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.StartsWith($"callbacks: Recorder.on_pod_{moment} failed: {moment} says no", e.Message, StringComparison.Ordinal);
        Assert.Contains("cleanup", recorder.Seen); // the pod was cleaned up and the last hook still ran
        await fx.WaitNoPodsAsync(ns, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task When_the_pod_failed_its_failure_stays_the_try_s_error_and_a_failing_teardown_hook_is_logged()
    {
        var ns = await fx.NamespaceAsync("callbacks-both");
        var harness = new TryHarness();
        var recorder = new Recorder(failAt: "teardown");
        var op = Pod("hooks-both", ns, "exit 4");
        op.Callbacks = [recorder];

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.Contains("exited with code 4", e.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Log, l => l.StartsWith("callbacks: Recorder.on_pod_teardown failed: teardown says no", StringComparison.Ordinal));
        Assert.Contains("cleanup", recorder.Seen);
        await fx.WaitNoPodsAsync(ns, TimeSpan.FromSeconds(30));
    }
}
