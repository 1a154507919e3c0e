using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;

namespace Sirocco.Storage;

/// <summary>
/// The PostgreSQL store: the same SQL and migrations as SQLite, over one pooled <see cref="NpgsqlDataSource"/>.
/// Text keeps its type (TEXT), so timestamps stay sortable ISO text and flags stay INTEGER 0/1 as on SQLite.
/// </summary>
internal sealed partial class PostgresMetadataStore : SqlMetadataStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _heartbeatSource;
    private readonly string _safeUrl;
    private readonly MetadataStoreOptions _options;

    /// <param name="connectionString">The Npgsql connection string (holds the password; never shown).</param>
    /// <param name="safeUrl">The URL with its password masked, for error messages.</param>
    /// <param name="options">The pool's size.</param>
    public PostgresMetadataStore(string connectionString, string safeUrl, MetadataStoreOptions options)
    {
        _safeUrl = safeUrl;
        _options = options;
        // The store keeps no session state, so a pooled connection needs no reset (a round trip per transaction
        // saved); its few statements, repeated thousands of times, are prepared after their second use.
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            NoResetOnClose = true,
            MaxAutoPrepare = 64,
            AutoPrepareMinUsages = 2,
            Pooling = options.PoolEnabled,
            MaxPoolSize = options.MaxConnections,
            MinPoolSize = 0,
        };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        builder.MaxPoolSize = 1;
        builder.MaxAutoPrepare = 0;
        _heartbeatSource = NpgsqlDataSource.Create(builder.ConnectionString);
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

    protected override async Task AfterBulkInsertAsync(DbConnection conn, DbTransaction tx, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "ANALYZE task_instance";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    protected override async Task LockForMigrationAsync(DbConnection conn, DbTransaction tx, CancellationToken cancellationToken)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT pg_advisory_xact_lock(7031945)";
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // A pass's statements go to the server in one round trip. A batch takes positional parameters ($1, $2), so each
    // statement's @names are rewritten once and cached.
    protected override async Task<int[]> ExecManyAsync(DbConnection conn, DbTransaction tx, IReadOnlyList<(string Sql, (string, object?)[] Args)> statements, CancellationToken ct)
    {
        if (statements.Count <= 1)
        {
            return await base.ExecManyAsync(conn, tx, statements, ct).ConfigureAwait(false);
        }

        await using var batch = new NpgsqlBatch((NpgsqlConnection)conn, (NpgsqlTransaction)tx);
        foreach (var (sql, args) in statements)
        {
            var (text, order) = Positional.GetOrAdd(sql, ToPositional);
            var command = new NpgsqlBatchCommand(text);
            foreach (var name in order)
            {
                var value = Array.Find(args, a => a.Item1 == name).Item2;
                command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }

            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        var affected = new int[batch.BatchCommands.Count];
        for (var i = 0; i < affected.Length; i++)
        {
            affected[i] = batch.BatchCommands[i].RecordsAffected;
        }

        return affected;
    }

    private static readonly ConcurrentDictionary<string, (string Text, string[] Order)> Positional = new(StringComparer.Ordinal);

    private static (string Text, string[] Order) ToPositional(string sql)
    {
        var order = new List<string>();
        var text = ParameterName().Replace(sql, m =>
        {
            var i = order.IndexOf(m.Groups[1].Value);
            if (i < 0)
            {
                order.Add(m.Groups[1].Value);
                i = order.Count - 1;
            }

            return "$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        return (text, [.. order]);
    }

    [GeneratedRegex("@([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ParameterName();

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

    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => OpenFromAsync(_dataSource, cancellationToken);

    protected override Task<DbConnection> OpenForHeartbeatAsync(CancellationToken cancellationToken) => OpenFromAsync(_heartbeatSource, cancellationToken);

    private async Task<DbConnection> OpenFromAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        try
        {
            return await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw CannotConnect(e);
        }
    }

    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override async ValueTask DisposeAsync()
    {
        await _heartbeatSource.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    // Npgsql's messages name the host and user, never the password; the URL shown is the masked one.
    private SiroccoException CannotConnect(NpgsqlException e) =>
        e.InnerException is TimeoutException && e.Message.Contains("pool", StringComparison.OrdinalIgnoreCase)
            ? new(
                $"[database] sql_conn '{_safeUrl}': all {_options.MaxConnections} connections of this process's pool stayed busy "
                + $"until the connection timeout ([database] sql_alchemy_pool_size = {_options.PoolSize} + sql_alchemy_max_overflow = {_options.MaxOverflow}; "
                + "raise them within the server's max_connections, or connect_timeout in the URL)",
                e)
            : new($"[database] sql_conn '{_safeUrl}': cannot connect: {e.Message}", e);
}
