using System.Net;
using Google.Cloud.Storage.V1;
using Sirocco.Connections;
using Sirocco.Logs;

namespace Sirocco.Google;

/// <summary>
/// Task logs in a Cloud Storage bucket (<c>[logging] remote_base_log_folder = gs://bucket/prefix</c>), written with
/// Google.Cloud.Storage.V1 and the credentials of <c>[logging] remote_log_conn_id</c>: object names are the prefix and
/// the log's path below <c>base_log_folder</c>, as Airflow's GCS task handler writes them.
/// </summary>
public sealed class GcsTaskLogs : IRemoteTaskLogs
{
    private readonly GoogleCloud _google;
    private readonly ConnectionAccessor _connections;
    private readonly string _connId;
    private readonly SemaphoreSlim _clientLock = new(1, 1);
    private StorageClient? _client;

    /// <summary>Creates the store for <paramref name="remoteBaseLogFolder"/> (<c>gs://bucket</c> or <c>gs://bucket/prefix</c>).</summary>
    public GcsTaskLogs(GoogleCloud google, ConnectionAccessor connections, string remoteBaseLogFolder, string? connId)
    {
        ArgumentNullException.ThrowIfNull(google);
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(remoteBaseLogFolder);
        _google = google;
        _connections = connections;
        _connId = string.IsNullOrEmpty(connId) ? Internal.GoogleCredentials.DefaultConnId : connId;
        if (!remoteBaseLogFolder.StartsWith("gs://", StringComparison.Ordinal) || remoteBaseLogFolder.Length <= 5)
        {
            throw new SiroccoException($"[logging] remote_base_log_folder must be a gs://bucket/path URL, got '{remoteBaseLogFolder}'");
        }

        var rest = remoteBaseLogFolder[5..].TrimEnd('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        Bucket = slash < 0 ? rest : rest[..slash];
        Prefix = slash < 0 ? string.Empty : rest[(slash + 1)..] + "/";
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }

    /// <summary>The object-name prefix (ends with a slash, or is empty).</summary>
    public string Prefix { get; }

    /// <inheritdoc/>
    public string Describe(string name) => $"gs://{Bucket}/{ObjectName(name)}";

    /// <inheritdoc/>
    public async Task UploadAsync(string localPath, string name, CancellationToken cancellationToken)
    {
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var stream = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                await client.UploadObjectAsync(Bucket, ObjectName(name), "text/plain", stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (global::Google.GoogleApiException e)
            {
                throw new SiroccoException($"uploading the log to {Describe(name)} failed: {(int)e.HttpStatusCode} {e.Error?.Message ?? e.Message}", e);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<bool> DownloadAsync(string name, string localPath, CancellationToken cancellationToken)
    {
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(Path.GetDirectoryName(localPath)!);
        var partial = $"{localPath}.{Guid.NewGuid():n}.download";
        try
        {
            var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                await client.DownloadObjectAsync(Bucket, ObjectName(name), file, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, localPath, overwrite: true);
            return true;
        }
        catch (global::Google.GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            File.Delete(partial);
            return false;
        }
        catch (global::Google.GoogleApiException e)
        {
            File.Delete(partial);
            throw new SiroccoException($"reading the log {Describe(name)} failed: {(int)e.HttpStatusCode} {e.Error?.Message ?? e.Message}", e);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    private string ObjectName(string name) => Prefix + name.Replace('\\', '/');

    private async Task<StorageClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (_client is { } ready)
        {
            return ready;
        }

        await _clientLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is null)
            {
                var credential = await _google.Credentials.ResolveAsync(_connections, _connId, cancellationToken).ConfigureAwait(false);
                var builder = new StorageClientBuilder { GoogleCredential = credential.Credential };
                if (_google.Options.StorageApiEndpoint is { } endpoint)
                {
                    builder.BaseUri = new Uri(endpoint, "storage/v1/").ToString();
                }

                _client = await builder.BuildAsync(cancellationToken).ConfigureAwait(false);
                _client.Service.HttpClient.Timeout = _google.Options.RequestTimeout;
            }

            return _client;
        }
        finally
        {
            _clientLock.Release();
        }
    }
}
