using k8s;

namespace Sirocco.LocalCluster.Tests;

/// <summary>The kubelet's podPidsLimit: a pod that forks without end is held to its limit; the rest of the machine is not.</summary>
public sealed class PidLimitTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-pids-").FullName;
    private LocalCluster _cluster = null!;
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home, PodPidsLimit = 16 });
        _client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(_cluster.KubeconfigPath));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _cluster.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task A_pod_forking_forty_processes_gets_no_more_than_its_pid_limit_and_the_next_pod_starts_normally()
    {
        // Forty forks of children that live 3 s: those past the limit fail (EAGAIN), which the program counts.
        const string Script = "my ($ok, $failed) = (0, 0); for (1 .. 40) { my $p = fork(); if (!defined $p) { $failed++; next } "
            + "if ($p == 0) { sleep 3; exit 0 } $ok++ } print qq(forked $ok failed $failed\n); 1 while wait() > 0;";
        await _client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("forker", "perl", "-e", Script), "default");
        await ClusterFixture.WaitForPodAsync(_client, "default", "forker", ClusterFixture.Done, 60);

        var log = await LogAsync("forker");
        if (!File.Exists("/sys/fs/cgroup/pids/tasks") || !File.ReadAllText("/proc/self/cgroup").Contains(":pids:", StringComparison.Ordinal))
        {
            // No cgroup v1 pids hierarchy here (this machine and CI have one): the limit cannot hold, all forty start.
            Assert.Contains("forked 40 failed 0", log, StringComparison.Ordinal);
            return;
        }

        var match = System.Text.RegularExpressions.Regex.Match(log, @"forked (\d+) failed (\d+)");
        Assert.True(match.Success, log);
        var forked = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(forked, 1, 15); // the limit counts the program itself and the sandbox's own processes
        Assert.Equal(40 - forked, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

        // The pod's group went with it: a new pod has its whole allowance again.
        await _client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("after", "sh", "-c", "sleep 1 & sleep 1 & wait; echo fine"), "default");
        var after = await ClusterFixture.WaitForPodAsync(_client, "default", "after", ClusterFixture.Done, 60);
        Assert.Equal("Succeeded", after.Status.Phase);
        Assert.Equal("fine\n", await LogAsync("after"));
    }

    [Fact]
    public async Task A_process_left_in_an_ended_pods_group_is_killed_when_the_group_is_removed()
    {
        var groups = Kubelet.PidsGroups.Detect($"sirocco-leftover-test-{Environment.ProcessId}", 16);
        if (groups is null)
        {
            // No writable cgroup v1 pids hierarchy here (this machine and CI have one): there are no pod groups.
            Assert.False(File.Exists("/sys/fs/cgroup/pids/tasks") && File.ReadAllText("/proc/self/cgroup").Contains(":pids:", StringComparison.Ordinal));
            return;
        }

        var uid = Guid.NewGuid().ToString();
        var group = groups.ForPod(uid);
        Assert.NotNull(group);

        // A process in the pod's group that outlived its container, as a sandbox orphaned while starting does.
        using var leftover = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            await File.WriteAllTextAsync(Path.Join(group, "cgroup.procs"), leftover.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains(leftover.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllLinesAsync(Path.Join(group, "cgroup.procs")));

            groups.RemovePod(uid);
            await leftover.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(137, leftover.ExitCode); // killed (SIGKILL)
        }
        finally
        {
            if (!leftover.HasExited)
            {
                leftover.Kill();
            }
        }

        // Retried at the next pod's end if the killed process was still leaving when the group was first removed.
        groups.RemovePod(Guid.NewGuid().ToString());
        Assert.False(Directory.Exists(group));
        groups.RemoveRoot();
    }

    [Fact]
    public async Task A_process_left_in_a_pods_group_is_killed_when_the_cluster_stops_even_if_no_pod_ends_after_it()
    {
        var groups = Kubelet.PidsGroups.Detect($"sirocco-root-test-{Environment.ProcessId}", 16);
        if (groups is null)
        {
            // No writable cgroup v1 pids hierarchy here (this machine and CI have one): there are no pod groups.
            Assert.False(File.Exists("/sys/fs/cgroup/pids/tasks") && File.ReadAllText("/proc/self/cgroup").Contains(":pids:", StringComparison.Ordinal));
            return;
        }

        // The process joins the group after the pod's own sweep, as a sandbox launched while its pod ended does.
        var uid = Guid.NewGuid().ToString();
        var group = groups.ForPod(uid)!;
        groups.RemovePod(uid);
        group = groups.ForPod(uid)!;
        using var leftover = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            await File.WriteAllTextAsync(Path.Join(group, "cgroup.procs"), leftover.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

            groups.RemoveRoot();
            await leftover.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(137, leftover.ExitCode); // killed (SIGKILL)
        }
        finally
        {
            if (!leftover.HasExited)
            {
                leftover.Kill();
            }

            groups.RemoveRoot();
        }
    }

    [Fact]
    public async Task A_process_left_in_the_group_of_a_cluster_that_died_is_killed_when_the_next_cluster_starts()
    {
        var self = File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("pids"));
        if (self is null || !File.Exists("/sys/fs/cgroup/pids/tasks") || Kubelet.PidsGroups.Detect($"sirocco-probe-test-{Environment.ProcessId}", 16) is not { } probe)
        {
            // No writable cgroup v1 pids hierarchy here (this machine and CI have one): there are no pod groups.
            Assert.False(File.Exists("/sys/fs/cgroup/pids/tasks") && File.ReadAllText("/proc/self/cgroup").Contains(":pids:", StringComparison.Ordinal));
            return;
        }

        probe.RemoveRoot();

        // The group a cluster whose process is gone left behind, with an orphaned sandbox still in a pod's group.
        var deadPid = Enumerable.Range(3_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
        var stale = Path.Join("/sys/fs/cgroup/pids", self[2], $"sirocco-stale-test-{deadPid}");
        var podGroup = Directory.CreateDirectory(Path.Join(stale, Guid.NewGuid().ToString())).FullName;
        using var leftover = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            await File.WriteAllTextAsync(Path.Join(podGroup, "cgroup.procs"), leftover.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

            var groups = Kubelet.PidsGroups.Detect($"sirocco-stale-test-{Environment.ProcessId}", 16);
            Assert.NotNull(groups);
            await leftover.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(137, leftover.ExitCode); // killed (SIGKILL)
            groups.RemoveRoot();
        }
        finally
        {
            if (!leftover.HasExited)
            {
                leftover.Kill();
            }

            Kubelet.CgroupFolders.TryRemoveWithChildren(stale);
        }
    }

    [Fact]
    public void A_cluster_that_stops_leaves_the_pod_groups_of_another_cluster_of_the_same_process_alone()
    {
        // Both clusters' root groups have the same name (it ends in the process id).
        var name = $"sirocco-shared-test-{Environment.ProcessId}";
        var first = Kubelet.PidsGroups.Detect(name, 16);
        var second = Kubelet.PidsGroups.Detect(name, 16);
        if (first is null || second is null)
        {
            // No writable cgroup v1 pids hierarchy here (this machine and CI have one): there are no pod groups.
            Assert.False(File.Exists("/sys/fs/cgroup/pids/tasks") && File.ReadAllText("/proc/self/cgroup").Contains(":pids:", StringComparison.Ordinal));
            return;
        }

        var mine = first.ForPod(Guid.NewGuid().ToString())!;
        var theirs = second.ForPod(Guid.NewGuid().ToString())!;
        var root = Path.GetDirectoryName(mine)!;

        first.RemoveRoot();
        Assert.False(Directory.Exists(mine));
        Assert.True(Directory.Exists(theirs)); // empty, and still the other cluster's to join

        second.RemoveRoot();
        Assert.False(Directory.Exists(theirs));
        Assert.False(Directory.Exists(root));
    }

    private async Task<string> LogAsync(string name)
    {
        using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(name, "default");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
