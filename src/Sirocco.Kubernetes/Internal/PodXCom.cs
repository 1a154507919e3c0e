using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Reads a try's XCom as the provider does: <c>/airflow/xcom/return.json</c> through an exec in the XCom sidecar,
/// which is then told to stop.
/// </summary>
internal sealed class PodXCom(PodTarget pod)
{
    private const string Empty = "__airflow_xcom_result_empty__";

    /// <summary>The parsed result; null when the file is empty or missing.</summary>
    public async Task<object?> ReadAsync(CancellationToken token)
    {
        // The directory is mounted in the sidecar; its absence means the exec landed before the sidecar was set up.
        var script = $"[ -d {PodBuilder.XComPath} ] || {{ echo '{PodBuilder.XComPath} is not mounted yet' >&2; exit 3; }}; "
            + $"if [ -s {PodBuilder.XComPath}/return.json ]; then cat {PodBuilder.XComPath}/return.json; else echo {Empty}; fi";
        await WaitSidecarRunningAsync(token).ConfigureAwait(false);

        // A sidecar reported running may not accept exec for a moment yet (seen on the local cluster): a few quick
        // attempts before the error stands; the read itself has no side effect.
        string output;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                output = await ExecAsync(["sh", "-c", script], token).ConfigureAwait(false);
                break;
            }
            catch (SiroccoException e) when (attempt < 5)
            {
                pod.Log($"Reading the XCom failed (attempt {attempt}): {e.Message}");
                await Task.Delay(TimeSpan.FromMilliseconds(200 << attempt), pod.Time, token).ConfigureAwait(false);
            }
        }

        try
        {
            await ExecAsync(["sh", "-c", "kill -s INT 1"], token).ConfigureAwait(false);
        }
        catch (SiroccoException e)
        {
            pod.Log($"Could not stop the XCom sidecar: {e.Message}");
        }

        if (output.Trim() == Empty)
        {
            pod.Log($"{PodBuilder.XComPath}/return.json is empty or missing: the XCom is null");
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(output);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            var head = output.Length > 100 ? output[..100] + "…" : output;
            throw new SiroccoException($"Pod {pod.Name}: {PodBuilder.XComPath}/return.json is not valid JSON ({e.Message}); it begins with: {head}", e);
        }
    }

    /// <summary>As the provider does: the sidecar may start after a quick base container has already ended.</summary>
    private async Task WaitSidecarRunningAsync(CancellationToken token)
    {
        var sub = pod.Watched;
        var deadline = pod.Time.GetUtcNow() + TimeSpan.FromSeconds(pod.Op.StartupTimeoutSeconds);
        while (true)
        {
            var next = sub.Changed.Next;
            var state = sub.Latest is { } latest ? PodTarget.ContainerState(latest, PodBuilder.SidecarName) : null;
            if (state?.Running is not null)
            {
                return;
            }

            if (state?.Terminated is not null || sub.Deleted)
            {
                throw new SiroccoException($"the XCom sidecar of pod {pod.Ns}/{pod.Name} is not running, so its XCom cannot be read");
            }

            var left = deadline - pod.Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw new SiroccoException($"the XCom sidecar of pod {pod.Ns}/{pod.Name} did not start within {pod.Op.StartupTimeoutSeconds}s");
            }

            await pod.WaitAsync(next, left, token).ConfigureAwait(false);
        }
    }

    private async Task<string> ExecAsync(string[] command, CancellationToken token)
    {
        try
        {
            return await pod.CallAsync(
                $"exec in pod {pod.Ns}/{pod.Name}",
                async t =>
                {
                    string stdout = string.Empty, stderr = string.Empty;
                    var code = await pod.Client.NamespacedPodExecAsync(
                        pod.Name,
                        pod.Ns,
                        PodBuilder.SidecarName,
                        command,
                        false,
                        async (_, output, error) =>
                        {
                            using var outReader = new StreamReader(output);
                            using var errReader = new StreamReader(error);
                            var o = outReader.ReadToEndAsync(t);
                            var e = errReader.ReadToEndAsync(t);
                            stdout = await o.ConfigureAwait(false);
                            stderr = await e.ConfigureAwait(false);
                        },
                        t).ConfigureAwait(false);
                    return code == 0
                        ? stdout
                        : throw new SiroccoException($"command in the XCom sidecar of pod {pod.Name} exited with {code}: {stderr.Trim()}");
                },
                token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or KubernetesException)
        {
            throw new SiroccoException($"could not read the XCom of pod {pod.Ns}/{pod.Name}: {e.Message}", e);
        }
    }
}
