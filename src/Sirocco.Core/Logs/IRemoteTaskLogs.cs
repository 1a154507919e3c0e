namespace Sirocco.Logs;

/// <summary>
/// Where task logs are kept beyond this machine (<c>[logging] remote_logging</c>): each try's log file is uploaded
/// while the try runs and when it ends, and read back when the local file is gone. Names are relative to the remote
/// folder, as Airflow 2 names them (<c>dag_id=D/run_id=R/task_id=T/attempt=N.log</c>).
/// </summary>
public interface IRemoteTaskLogs
{
    /// <summary>The remote address of a log (for messages), e.g. <c>gs://bucket/logs/dag_id=d/run_id=r/task_id=t/attempt=1.log</c>.</summary>
    string Describe(string name);

    /// <summary>Uploads the whole local file, replacing what was uploaded before.</summary>
    Task UploadAsync(string localPath, string name, CancellationToken cancellationToken);

    /// <summary>Downloads a log to <paramref name="localPath"/>; false when there is no such remote log.</summary>
    Task<bool> DownloadAsync(string name, string localPath, CancellationToken cancellationToken);
}
