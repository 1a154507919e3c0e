using System.Text;
using k8s;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// exec, attach and cp as outside clients drive them: kubectl over WebSocket (its default since 1.30) and over SPDY/3.1
/// (what kubectl before 1.30 speaks; KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false makes 1.32 speak it too), and the .NET
/// KubernetesClient with a terminal, resize and attach.
/// </summary>
[Collection("cluster")]
public sealed class StreamingClientTests(ClusterFixture fx)
{
    private static Dictionary<string, string> Transport(string transport) =>
        new() { ["KUBECTL_REMOTE_COMMAND_WEBSOCKETS"] = transport == "websocket" ? "true" : "false" };

    private async Task<(string Ns, string Pod)> RunningPodAsync(string prefix)
    {
        var ns = await fx.NamespaceAsync(prefix);
        var pod = ClusterFixture.Pod("box", "sh", "-c", "echo from-the-pod > /tmp/in-pod.txt; sleep 600");
        pod.Spec.TerminationGracePeriodSeconds = 0;
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "box", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.Started == true);
        return (ns, "box");
    }

    [Theory]
    [InlineData("websocket")]
    [InlineData("spdy")]
    public async Task Kubectl_exec_and_cp_over_each_transport(string transport)
    {
        var (ns, pod) = await RunningPodAsync("stream-" + transport);
        var env = Transport(transport);
        string[] kubectl = ["--kubeconfig", fx.Cluster.KubeconfigPath, "-n", ns];

        var plain = await fx.RunAsync("/usr/bin/kubectl", "", env, [.. kubectl, "exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
        Assert.Equal(3, plain.Code);
        Assert.Equal("out\n", plain.Out);
        Assert.Contains("err\n", plain.Err, StringComparison.Ordinal);

        // stdin ends with EOF: over SPDY by the stream's FIN, over WebSocket v5 by the close channel.
        var piped = await fx.RunAsync("/usr/bin/kubectl", "one\ntwo\n", env, [.. kubectl, "exec", "-i", pod, "--", "sh", "-c", "cat; echo end"]);
        Assert.True(piped.Code == 0, piped.Err);
        Assert.Equal("one\ntwo\nend\n", piped.Out);

        // kubectl cp runs tar through exec in both directions.
        var local = Path.Combine(fx.Home, $"cp-{transport}.txt");
        var down = await fx.RunAsync("/usr/bin/kubectl", "", env, [.. kubectl, "cp", $"{pod}:/tmp/in-pod.txt", local]);
        Assert.True(down.Code == 0, down.Err);
        Assert.Equal("from-the-pod\n", await File.ReadAllTextAsync(local));
        await File.WriteAllTextAsync(local, "uploaded " + transport);
        var up = await fx.RunAsync("/usr/bin/kubectl", "", env, [.. kubectl, "cp", local, $"{pod}:/tmp/up.txt"]);
        Assert.True(up.Code == 0, up.Err);
        Assert.Equal("uploaded " + transport, (await fx.KubectlAsync("-n", ns, "exec", pod, "--", "cat", "/tmp/up.txt")).Out);
    }

    [Theory]
    [InlineData("websocket")]
    [InlineData("spdy")]
    public async Task Kubectl_exec_with_a_terminal_over_each_transport(string transport)
    {
        var (ns, pod) = await RunningPodAsync("tty-" + transport);

        // kubectl needs a terminal of its own for -t: util-linux script gives it one, 33 rows by 120 columns.
        var command = $"stty rows 33 cols 120; /usr/bin/kubectl --kubeconfig {fx.Cluster.KubeconfigPath} -n {ns} exec -it {pod} -- sh";
        var result = await fx.RunAsync("/usr/bin/script", "stty size; tty; exit 4\n", Transport(transport), "-qec", command, "/dev/null");
        Assert.True(result.Code == 4, $"exit {result.Code}: {result.Out} {result.Err}");
        Assert.Contains("33 120\r\n", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"/dev/pts/\d+\r\n", result.Out);
        Assert.DoesNotContain("process group", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("websocket")]
    [InlineData("spdy")]
    public async Task Kubectl_run_attaches_to_the_container_stdin_over_each_transport(string transport)
    {
        var ns = await fx.NamespaceAsync("attach-" + transport);
        var result = await fx.RunAsync(
            "/usr/bin/kubectl",
            "hello\n",
            Transport(transport),
            ["--kubeconfig", fx.Cluster.KubeconfigPath, "-n", ns, "run", "reader", "--image=busybox", "--restart=Never", "-i", "--command", "--", "sh", "-c", "read x; echo got $x"]);
        Assert.True(result.Code == 0, result.Err);
        Assert.Contains("got hello\n", result.Out, StringComparison.Ordinal);
        var pod = await fx.WaitForPodAsync(ns, "reader", ClusterFixture.Done);
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.True(pod.Spec.Containers[0].Stdin);
        Assert.True(pod.Spec.Containers[0].StdinOnce);
    }

    [Fact]
    public async Task Dotnet_client_exec_with_a_terminal_resizes_it()
    {
        var (ns, pod) = await RunningPodAsync("dotnet-tty");
        using var socket = await fx.Client.WebSocketNamespacedPodExecAsync(pod, ns, ["sh", "-c", "read x; stty size; tty"], "main", stderr: false, stdin: true, stdout: true, tty: true);
        using var demux = new StreamDemuxer(socket);
        demux.Start();
        await using (var resize = demux.GetStream(null, ChannelIndex.Resize))
        {
            await resize.WriteAsync(Encoding.UTF8.GetBytes("""{"Width":90,"Height":21}"""));
        }

        var stdout = demux.GetStream(ChannelIndex.StdOut, ChannelIndex.StdIn);
        await stdout.WriteAsync(Encoding.UTF8.GetBytes("go\n"));
        var text = await ReadUntilAsync(stdout, s => s.Contains("/dev/pts/", StringComparison.Ordinal) && s.EndsWith('\n'));
        Assert.Contains("go\r\n", text, StringComparison.Ordinal);
        Assert.Contains("21 90\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dotnet_client_attach_reads_output_and_writes_stdin()
    {
        var ns = await fx.NamespaceAsync("dotnet-attach");
        var pod = ClusterFixture.Pod("echoer", "sh", "-c", "while read line; do echo seen $line; done; echo closed");
        pod.Spec.Containers[0].Stdin = true;
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "echoer", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.Started == true);
        using var socket = await fx.Client.WebSocketNamespacedPodAttachAsync("echoer", ns, "main", stderr: true, stdin: true, stdout: true, tty: false);
        using var demux = new StreamDemuxer(socket);
        demux.Start();
        var stream = demux.GetStream(ChannelIndex.StdOut, ChannelIndex.StdIn);
        await stream.WriteAsync(Encoding.UTF8.GetBytes("first\nsecond\n"));
        var text = await ReadUntilAsync(stream, s => s.Contains("seen second\n", StringComparison.Ordinal));
        Assert.StartsWith("seen first\n", text, StringComparison.Ordinal);
        var logs = await fx.KubectlAsync("-n", ns, "logs", "echoer");
        Assert.Equal("seen first\nseen second\n", logs.Out);
    }

    private static async Task<string> ReadUntilAsync(Stream stream, Func<string, bool> done)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!done(text.ToString()))
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return text.ToString();
    }
}
