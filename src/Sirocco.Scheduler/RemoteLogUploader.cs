using Microsoft.Extensions.Logging;
using Sirocco.Logs;

namespace Sirocco.Scheduler;

/// <summary>
/// Uploads one try's log to the remote log store every interval while the try runs, and once more when it ends. An
/// upload that fails is logged (with the remote address and the error) and never fails the try, as in Airflow.
/// </summary>
internal sealed class RemoteLogUploader
{
    private readonly IRemoteTaskLogs _remote;
    private readonly string _localPath;
    private readonly string _relativePath;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationToken _stopToken;
    private readonly Task _periodic;

    private RemoteLogUploader(IRemoteTaskLogs remote, string localPath, string relativePath, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        _remote = remote;
        _localPath = localPath;
        _relativePath = relativePath;
        _logger = logger;
        _stopToken = _stop.Token;
        _periodic = PeriodicAsync(interval, time);
    }

    /// <summary>Starts the uploads of a try's log, or null without a remote log store.</summary>
    public static RemoteLogUploader? Start(IServiceProvider? runtime, string localPath, string remoteName, TimeSpan interval, TimeProvider time, ILogger logger) =>
        runtime?.GetService(typeof(IRemoteTaskLogs)) is IRemoteTaskLogs remote
            ? new RemoteLogUploader(remote, localPath, remoteName, interval, time, logger)
            : null;

    /// <summary>Stops the periodic uploads and uploads the finished log.</summary>
    public async Task FinishAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _periodic.ConfigureAwait(false);
        _stop.Dispose();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await UploadAsync(bound.Token).ConfigureAwait(false);
    }

    private async Task PeriodicAsync(TimeSpan interval, TimeProvider time)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await UploadAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The try ended: FinishAsync uploads the whole log.
        }
    }

    private async Task UploadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_localPath))
        {
            return;
        }

        try
        {
            await _remote.UploadAsync(_localPath, _relativePath, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken == _stopToken && _stop.IsCancellationRequested)
        {
            // A periodic upload cut short because the try ended: the final upload follows.
        }
#pragma warning disable CA1031 // an upload that fails, whatever the cause, costs the remote copy and never the try's outcome
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.LogError("Could not upload task log {Local} to {Remote}: {Error}", _localPath, _remote.Describe(_relativePath), e.Message);
        }
    }
}

/// <summary>Finds the file to read a try's log from: the local one, else a copy of the remote one.</summary>
public static class TaskLogFiles
{
    private static readonly TimeSpan RunningCopyLifetime = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The local log when it exists; else, with a remote log store, the remote log <paramref name="remoteName"/>
    /// (<see cref="TaskLogPaths.RemoteName"/>) downloaded below <c>base_log_folder/.remote/</c> (downloaded again, at most
    /// every 5 seconds, while the try is not finished; kept once it is); else null.
    /// </summary>
    public static async Task<string?> LocateAsync(string logFolder, string localPath, string remoteName, IRemoteTaskLogs? remote, bool finished, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logFolder);
        ArgumentNullException.ThrowIfNull(localPath);
        if (File.Exists(localPath) || remote is null)
        {
            return File.Exists(localPath) ? localPath : null;
        }

        // A finished try's copy is kept; a running try's is reused for a few seconds, so a page polling the log
        // every second does not download the whole object each time.
        var copy = Path.Combine(logFolder, ".remote", remoteName);
        if (File.Exists(copy) && (finished || DateTime.UtcNow - File.GetLastWriteTimeUtc(copy) < RunningCopyLifetime))
        {
            return copy;
        }

        return await remote.DownloadAsync(remoteName, copy, cancellationToken).ConfigureAwait(false) ? copy : null;
    }

    /// <summary>
    /// Whether try <paramref name="tryNumber"/> of <paramref name="ti"/> has ended (its log will not grow): an earlier
    /// try, or the latest one once it is neither running nor queued.
    /// </summary>
    public static bool Finished(TaskInstance ti, int tryNumber)
    {
        ArgumentNullException.ThrowIfNull(ti);
        return tryNumber < ti.TryNumber || (tryNumber == ti.TryNumber && ti.State is not (TaskInstanceState.Running or TaskInstanceState.Queued));
    }
}
