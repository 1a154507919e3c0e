namespace Sirocco.Logs;

/// <summary>
/// Where task logs are kept beyond this machine (<c>[logging] remote_logging</c>): each try's log file is uploaded
/// while the try runs and when it ends, and read back when the local file is gone. Paths are relative to
/// <c>[logging] base_log_folder</c>, the same below the remote folder as below the local one.
/// </summary>
public interface IRemoteTaskLogs
{
    /// <summary>The remote address of a log (for messages), e.g. <c>gs://bucket/logs/dag/task/date/1.log</c>.</summary>
    string Describe(string relativePath);

    /// <summary>Uploads the whole local file, replacing what was uploaded before.</summary>
    Task UploadAsync(string localPath, string relativePath, CancellationToken cancellationToken);

    /// <summary>Downloads a log to <paramref name="localPath"/>; false when there is no such remote log.</summary>
    Task<bool> DownloadAsync(string relativePath, string localPath, CancellationToken cancellationToken);
}
