using Sirocco.LocalCluster.Images;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The image side of a pod's containers: pulling with the kubelet's back-off.</summary>
internal sealed partial class PodWorker
{
    /// <summary>
    /// Finds or pulls the container's image, retrying a failed pull with the kubelet's back-off (10 s doubling to 300 s)
    /// while the container waits as ErrImagePull, then ImagePullBackOff. Returns how the container runs.
    /// </summary>
    private async Task<ImageOutcome> PullAsync(ContainerRun c, CancellationToken token)
    {
        for (var attempt = 0; ; attempt++)
        {
            token.ThrowIfCancellationRequested();
            var outcome = await _runtime.Images.EnsureAsync(_pod, c.Spec, $"{Uid}-{c.Name}-{c.RestartCount}", (type, reason, message) => Record(type, reason, message, c), token).ConfigureAwait(true);
            if (outcome.FailureReason is null)
            {
                return outcome;
            }

            lock (_gate)
            {
                c.State = "waiting";
                c.Reason = outcome.FailureReason;
                c.Message = outcome.FailureMessage;
            }

            PublishStatus();
            var backoff = TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, Math.Min(attempt, 5))));
            if (outcome.FailureReason == "ErrImagePull")
            {
                lock (_gate)
                {
                    c.Reason = "ImagePullBackOff";
                    c.Message = $"Back-off pulling image \"{c.Spec.Image}\": ErrImagePull: {outcome.FailureMessage}";
                }

                PublishStatus();
                Record("Normal", "BackOff", $"Back-off pulling image \"{c.Spec.Image}\"", c);
                Record("Warning", "Failed", "Error: ImagePullBackOff", c);
            }

            await Task.Delay(backoff, _cluster.Options.TimeProvider, token).ConfigureAwait(true);
        }
    }
}
