namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// A signal many waiters can await: take <see cref="Next"/>, check the state, then await the task; a
/// <see cref="Fire"/> in between completes it, so no change is missed and nobody polls.
/// </summary>
internal sealed class Pulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _next).Task;

    public void Fire() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
