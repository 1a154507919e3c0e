using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Sirocco.LocalCluster.Store;

/// <summary>A write to apply to the database: the object's JSON, or null to delete it.</summary>
internal sealed record PersistOp(string Resource, string Namespace, string Name, byte[]? Json, long ResourceVersion);

/// <summary>
/// Keeps the store in a SQLite file (mode 0600). Writes are queued and applied in batches by one background task,
/// so an API request never waits on the disk; <see cref="Dispose"/> drains the queue. Secrets pass through
/// <see cref="SecretEncryption"/> on the way in and out.
/// </summary>
internal sealed class SqlitePersistence : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SecretEncryption? _encryption;
    private readonly Channel<PersistOp> _queue = Channel.CreateUnbounded<PersistOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public SqlitePersistence(string path, SecretEncryption? encryption = null)
    {
        _encryption = encryption;
        if (!File.Exists(path) && !OperatingSystem.IsWindows())
        {
            using (new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
            }
        }

        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA synchronous=NORMAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS objects (
                resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, json BLOB NOT NULL,
                PRIMARY KEY (resource, namespace, name));
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """);
        _writer = Task.Run(WriteLoopAsync);
    }

    public (List<(string Resource, byte[] Json)> Objects, long ResourceVersion) Load()
    {
        var objects = new List<(string, byte[])>();
        var stale = new List<PersistOp>();
        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT resource, namespace, name, json FROM objects";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var (resource, json) = (reader.GetString(0), (byte[])reader.GetValue(3));
                if (resource == "secrets" && _encryption is not null)
                {
                    var (ns, name) = (reader.GetString(1), reader.GetString(2));
                    if (!_encryption.IsCurrent(json))
                    {
                        // Written in clear or with an older key: rewritten with the current first provider.
                        stale.Add(new PersistOp(resource, ns, name, null, 0));
                    }

                    json = _encryption.Unprotect(ns, name, json);
                    if (stale.Count > 0 && stale[^1].Name == name && stale[^1].Namespace == ns)
                    {
                        stale[^1] = stale[^1] with { Json = json };
                    }
                }

                objects.Add((resource, json));
            }
        }

        if (stale.Count > 0)
        {
            Write(stale, updateVersion: false);
        }

        using var meta = _connection.CreateCommand();
        meta.CommandText = "SELECT value FROM meta WHERE key = 'resourceVersion'";
        var rv = meta.ExecuteScalar() is string s && long.TryParse(s, out var v) ? v : 0;
        return (objects, rv);
    }

    public void Enqueue(PersistOp op) => _queue.Writer.TryWrite(op);

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.GetAwaiter().GetResult();
        _connection.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PersistOp>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 1000 && _queue.Reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            Write(batch);
        }
    }

    private void Write(List<PersistOp> batch, bool updateVersion = true)
    {
        using var tx = _connection.BeginTransaction();
        using var upsert = _connection.CreateCommand();
        upsert.Transaction = tx;
        upsert.CommandText = "INSERT OR REPLACE INTO objects (resource, namespace, name, json) VALUES ($r, $n, $m, $j)";
        var r = upsert.Parameters.Add("$r", SqliteType.Text);
        var n = upsert.Parameters.Add("$n", SqliteType.Text);
        var m = upsert.Parameters.Add("$m", SqliteType.Text);
        var j = upsert.Parameters.Add("$j", SqliteType.Blob);
        using var delete = _connection.CreateCommand();
        delete.Transaction = tx;
        delete.CommandText = "DELETE FROM objects WHERE resource = $r AND namespace = $n AND name = $m";
        var dr = delete.Parameters.Add("$r", SqliteType.Text);
        var dn = delete.Parameters.Add("$n", SqliteType.Text);
        var dm = delete.Parameters.Add("$m", SqliteType.Text);
        long version = 0;
        foreach (var op in batch)
        {
            if (op.Json is null)
            {
                dr.Value = op.Resource;
                dn.Value = op.Namespace;
                dm.Value = op.Name;
                delete.ExecuteNonQuery();
            }
            else
            {
                r.Value = op.Resource;
                n.Value = op.Namespace;
                m.Value = op.Name;
                j.Value = op.Resource == "secrets" && _encryption is not null ? _encryption.Protect(op.Namespace, op.Name, op.Json) : op.Json;
                upsert.ExecuteNonQuery();
            }

            version = Math.Max(version, op.ResourceVersion);
        }

        if (updateVersion)
        {
            using var meta = _connection.CreateCommand();
            meta.Transaction = tx;
            meta.CommandText = "INSERT OR REPLACE INTO meta (key, value) VALUES ('resourceVersion', $v)";
            meta.Parameters.AddWithValue("$v", version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            meta.ExecuteNonQuery();
        }

        tx.Commit();
    }

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
