using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Sirocco.Storage;

/// <summary>The SQLite store: one file, WAL journal, a busy timeout so that several processes can share it.</summary>
internal sealed class SqliteMetadataStore : SqlMetadataStore
{
    private readonly string _connectionString;

    public SqliteMetadataStore(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        // The database holds secrets (encrypted, but still): a new file is its owner's only (0600).
        if (!File.Exists(path) && !OperatingSystem.IsWindows())
        {
            using (File.Create(path))
            {
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Default,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL;";
        cmd.ExecuteNonQuery();
    }

    public override bool SupportsManySchedulers => false;

    protected override DbConnection Open()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        Configure(conn);
        return conn;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var conn = new SqliteConnection(_connectionString);
        await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
        Configure(conn);
        return conn;
    }

    protected override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 19 };

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    private static void Configure(SqliteConnection conn)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
        cmd.ExecuteNonQuery();
    }
}
