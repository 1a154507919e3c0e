using System.Data.Common;
using Npgsql;

namespace Sirocco.Storage;

/// <summary>
/// The PostgreSQL store: the same SQL and migrations as SQLite, over one pooled <see cref="NpgsqlDataSource"/>.
/// Text keeps its type (TEXT), so timestamps stay sortable ISO text and flags stay INTEGER 0/1 as on SQLite.
/// </summary>
internal sealed class PostgresMetadataStore : SqlMetadataStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _safeUrl;

    /// <param name="connectionString">The Npgsql connection string (holds the password; never shown).</param>
    /// <param name="safeUrl">The URL with its password masked, for error messages.</param>
    public PostgresMetadataStore(string connectionString, string safeUrl)
    {
        _safeUrl = safeUrl;
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    public override bool SupportsManySchedulers => true;

    protected override string SkipLocked => " FOR UPDATE SKIP LOCKED";

    // One advisory lock (an arbitrary constant key) serializes the start of tries across schedulers, as Airflow locks
    // its pool rows: the slots each scheduler counts are the ones every other scheduler has committed.
    protected override async Task LockForStartAsync(DbConnection conn, DbTransaction tx, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT pg_advisory_xact_lock(7031944)";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    protected override async Task LockForMigrationAsync(DbConnection conn, DbTransaction tx, CancellationToken cancellationToken)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT pg_advisory_xact_lock(7031945)";
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override DbConnection Open()
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (NpgsqlException e)
        {
            throw CannotConnect(e);
        }
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw CannotConnect(e);
        }
    }

    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // Npgsql's messages name the host and user, never the password; the URL shown is the masked one.
    private SiroccoException CannotConnect(NpgsqlException e) =>
        new($"[database] sql_conn '{_safeUrl}': cannot connect: {e.Message}", e);
}
