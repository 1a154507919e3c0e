using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Scheduling;
using Sirocco.Variables;

namespace Sirocco.Storage;

/// <summary>
/// The store over portable SQL: parameters are <c>@name</c>, upserts are <c>INSERT ... ON CONFLICT ... DO UPDATE</c>,
/// timestamps are sortable ISO text. A database supplies connections and its migration scripts.
/// </summary>
internal abstract partial class SqlMetadataStore : IMetadataStore
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>Opens a connection ready for use.</summary>
    protected abstract DbConnection Open();

    /// <summary>Opens a connection ready for use.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Whether an exception is a unique-key violation.</summary>
    protected abstract bool IsUniqueViolation(DbException exception);

    public abstract ValueTask DisposeAsync();

    // ---- migrations ----

    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);

        // Several processes may start on a new database at once (schedulers, the web server): one migrates at a time,
        // and each migration checks again, inside its transaction, that nobody applied it meanwhile.
        await using (var first = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await LockForMigrationAsync(conn, first, cancellationToken).ConfigureAwait(false);
            await ExecAsync(conn, first, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)", [], cancellationToken).ConfigureAwait(false);
            await first.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = new List<int>();
        foreach (var (version, name, sql) in Migrations())
        {
            await using var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockForMigrationAsync(conn, tx, cancellationToken).ConfigureAwait(false);
            if (await CurrentVersionAsync(conn, tx, cancellationToken).ConfigureAwait(false) >= version)
            {
                continue;
            }

            await ExecAsync(conn, tx, sql, [], cancellationToken).ConfigureAwait(false);
            await ExecAsync(conn, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, @n, @t)", [("v", version), ("n", name), ("t", Time(DateTimeOffset.UtcNow))], cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            applied.Add(version);
        }

        return applied;
    }

    /// <summary>
    /// Holds the migration lock until the transaction ends (PostgreSQL: a transaction advisory lock); a database whose
    /// write transactions are already serialized needs none.
    /// </summary>
    protected virtual Task LockForMigrationAsync(DbConnection conn, DbTransaction tx, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var exists = await ScalarAsync(conn, "SELECT COUNT(*) FROM schema_migrations WHERE 1 = 0", cancellationToken, tolerateMissingTable: true).ConfigureAwait(false);
        return exists ? await CurrentVersionAsync(conn, cancellationToken).ConfigureAwait(false) : 0;
    }

    /// <summary>The embedded migration scripts, by version; every database runs the same scripts.</summary>
    internal static IReadOnlyList<(int Version, string Name, string Sql)> Migrations()
    {
        var asm = typeof(SqlMetadataStore).Assembly;
        const string prefix = "Migrations/";
        var list = new List<(int, string, string)>();
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = res[prefix.Length..];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            using var stream = asm.GetManifestResourceStream(res)!;
            using var reader = new StreamReader(stream);
            list.Add((version, name, reader.ReadToEnd()));
        }

        return list;
    }

    // ---- variables ----

    public Variable? GetVariable(string key) =>
        Query(SqlVariableGet, [("k", key)], ReadVariable).FirstOrDefault();

    public IReadOnlyList<Variable> ListVariables() =>
        Query(SqlVariableSelect + " ORDER BY key", [], ReadVariable);

    public void SetVariable(Variable variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (string.IsNullOrEmpty(variable.Key) || variable.Key.Length > 250)
        {
            throw new SiroccoException($"invalid variable key '{variable.Key}': 1 to 250 characters");
        }

        Exec(
            """
            INSERT INTO variable (key, val, description, is_encrypted) VALUES (@k, @v, @d, @enc)
            ON CONFLICT (key) DO UPDATE SET val = excluded.val, is_encrypted = excluded.is_encrypted,
              description = COALESCE(excluded.description, variable.description)
            """,
            [("k", variable.Key), ("v", Seal(variable.Value)), ("d", variable.Description), ("enc", Cipher is null ? 0 : 1)]);
    }

    public bool DeleteVariable(string key) => Exec("DELETE FROM variable WHERE key = @k", [("k", key)]) > 0;

    // ---- connections ----

    public Connection? GetConnection(string connId) =>
        Query(SqlConnectionSelect + " WHERE conn_id = @id", [("id", connId)], ReadConnection).FirstOrDefault();

    public async Task<Connection?> GetConnectionAsync(string connId, CancellationToken cancellationToken = default)
    {
        // Tries starting together look the same connection up at once: one read in flight answers all of them (no
        // cache: a read that starts after a change sees it).
        var mine = new TaskCompletionSource<Connection?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = _connectionReads.GetOrAdd(connId, mine.Task);
        if (read != mine.Task)
        {
            return await read.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            mine.SetResult((await QueryAsync(SqlConnectionSelect + " WHERE conn_id = @id", [("id", connId)], ReadConnection, CancellationToken.None).ConfigureAwait(false)).FirstOrDefault());
        }
        catch (Exception e)
        {
            mine.SetException(e);
        }
        finally
        {
            _connectionReads.TryRemove(new KeyValuePair<string, Task<Connection?>>(connId, mine.Task));
        }

        return await mine.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<Connection?>> _connectionReads = new(StringComparer.Ordinal);

    public IReadOnlyList<Connection> ListConnections() => Query(SqlConnectionSelect + " ORDER BY conn_id", [], ReadConnection);

    public void SetConnection(Connection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (string.IsNullOrEmpty(connection.ConnId) || connection.ConnId.Length > 250)
        {
            throw new SiroccoException($"invalid connection id '{connection.ConnId}': 1 to 250 characters");
        }

        Exec(
            """
            INSERT INTO connection (conn_id, conn_type, description, host, login, password, schema_name, port, extra, is_encrypted, is_extra_encrypted)
            VALUES (@id, @type, @descr, @host, @login, @pw, @schema, @port, @extra, @enc, @xenc)
            ON CONFLICT (conn_id) DO UPDATE SET conn_type = excluded.conn_type, description = excluded.description,
              host = excluded.host, login = excluded.login, password = excluded.password,
              schema_name = excluded.schema_name, port = excluded.port, extra = excluded.extra,
              is_encrypted = excluded.is_encrypted, is_extra_encrypted = excluded.is_extra_encrypted
            """,
            [("id", connection.ConnId), ("type", connection.ConnType), ("descr", connection.Description), ("host", connection.Host), ("login", connection.Login), ("pw", Seal(connection.Password)), ("schema", connection.Schema), ("port", connection.Port), ("extra", Seal(connection.Extra)),
                ("enc", Cipher is not null && connection.Password is not null ? 1 : 0), ("xenc", Cipher is not null && connection.Extra is not null ? 1 : 0)]);
    }

    public bool DeleteConnection(string connId) => Exec("DELETE FROM connection WHERE conn_id = @id", [("id", connId)]) > 0;

    // ---- DAGs ----

    public Task UpsertDagAsync(DagModel dag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dag);
        return ExecAsync(SqlDagUpsert, DagParameters(dag), cancellationToken);
    }

    public async Task<DagModel?> GetDagAsync(string dagId, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlDagSelect + " WHERE dag_id = @id", [("id", dagId)], ReadDag, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<DagModel>> ListDagsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync(SqlDagSelect + " ORDER BY dag_id", [], ReadDag, cancellationToken);

    public async Task<bool> SetDagPausedAsync(string dagId, bool paused, CancellationToken cancellationToken = default) =>
        await ExecAsync("UPDATE dag SET is_paused = @p WHERE dag_id = @id", [("p", paused ? 1 : 0), ("id", dagId)], cancellationToken).ConfigureAwait(false) > 0;

    // ---- DAG runs ----

    public async Task<DagRun?> GetDagRunAsync(string dagId, string runId, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlDagRunSelect + " WHERE dag_id = @dag AND run_id = @run", [("dag", dagId), ("run", runId)], ReadDagRun, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<DagRun>> ListDagRunsAsync(DagRunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (query.DagId is not null)
        {
            where.Add("dag_id = @dag");
            args.Add(("dag", query.DagId));
        }

        if (query.States is { Count: > 0 } states)
        {
            var names = states.Select((s, i) => (Name: "s" + i.ToString(CultureInfo.InvariantCulture), Value: s.ToName())).ToList();
            where.Add($"state IN ({string.Join(", ", names.Select(n => "@" + n.Name))})");
            args.AddRange(names.Select(n => (n.Name, (object?)n.Value)));
        }

        args.Add(("limit", query.Limit));
        args.Add(("offset", query.Offset));
        var sql = SqlDagRunSelect
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty)
            + $" ORDER BY logical_date {(query.Descending ? "DESC" : "ASC")}, run_id LIMIT @limit OFFSET @offset";
        return QueryAsync(sql, [.. args], ReadDagRun, cancellationToken);
    }

    public async Task<bool> DeleteDagRunAsync(string dagId, string runId, CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        (string, object?)[] args = [("dag", dagId), ("run", runId)];
        foreach (var table in new[] { "xcom", "task_instance_try", "task_instance" })
        {
            await ExecAsync(conn, tx, $"DELETE FROM {table} WHERE dag_id = @dag AND run_id = @run", args, cancellationToken).ConfigureAwait(false);
        }

        var n = await ExecAsync(conn, tx, "DELETE FROM dag_run WHERE dag_id = @dag AND run_id = @run", args, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return n > 0;
    }

    // ---- task instances ----

    public async Task<TaskInstance?> GetTaskInstanceAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlTaskInstanceSelect + " WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi", [("dag", dagId), ("task", taskId), ("run", runId), ("mi", mapIndex)], ReadTaskInstance, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<TaskInstance>> ListTaskInstancesAsync(string dagId, string runId, CancellationToken cancellationToken = default) =>
        QueryAsync(SqlTaskInstanceSelect + " WHERE dag_id = @dag AND run_id = @run ORDER BY task_id, map_index", [("dag", dagId), ("run", runId)], ReadTaskInstance, cancellationToken);

    public Task<IReadOnlyList<TaskInstance>> ListTaskInstancesChangedOutsideAsync(string jobId, CancellationToken cancellationToken = default) =>
        QueryAsync(
            SqlTaskInstanceSelect + """
                 WHERE changed_by IS NOT NULL AND EXISTS (SELECT 1 FROM dag_run r WHERE r.dag_id = task_instance.dag_id
                 AND r.run_id = task_instance.run_id AND r.claimed_by = @me AND r.state IN ('queued', 'running'))
                """,
            [("me", jobId)],
            ReadTaskInstance,
            cancellationToken);

    public Task<IReadOnlyList<TaskInstance>> ListTaskInstancesByStateAsync(IReadOnlyCollection<TaskInstanceState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        var names = states.Select((s, i) => ("s" + i.ToString(CultureInfo.InvariantCulture), (object?)s.ToName())).ToArray();
        if (names.Length == 0)
        {
            return Task.FromResult<IReadOnlyList<TaskInstance>>([]);
        }

        return QueryAsync(
            SqlTaskInstanceSelect + $" WHERE state IN ({string.Join(", ", names.Select(n => "@" + n.Item1))}) ORDER BY priority_weight DESC, dag_id, run_id, task_id",
            names,
            ReadTaskInstance,
            cancellationToken);
    }

    public Task<IReadOnlyList<TaskInstanceTry>> ListTriesAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT dag_id, task_id, run_id, map_index, try_number, state, start_date, end_date, hostname, external_id FROM task_instance_try WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi ORDER BY try_number",
            [("dag", dagId), ("task", taskId), ("run", runId), ("mi", mapIndex)],
            r => new TaskInstanceTry
            {
                DagId = r.GetString(0),
                TaskId = r.GetString(1),
                RunId = r.GetString(2),
                MapIndex = r.GetInt32(3),
                TryNumber = r.GetInt32(4),
                State = StateNames.ParseTaskInstanceState(r.GetString(5)),
                StartDate = ParseTime(r, 6),
                EndDate = ParseTime(r, 7),
                Hostname = NullableString(r, 8),
                ExternalId = NullableString(r, 9),
            },
            cancellationToken);

    // ---- XCom ----

    public Task SetXComAsync(XComEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // Committed with other tries' writes (a pod's name and namespace are pushed by every pod task at once).
        return Writes.RunAsync(
            RowOrder(entry.DagId, entry.TaskId, entry.RunId, entry.MapIndex),
            [("""
            INSERT INTO xcom (dag_id, task_id, run_id, map_index, key, value, timestamp) VALUES (@dag, @task, @run, @mi, @key, @value, @ts)
            ON CONFLICT (dag_id, task_id, run_id, map_index, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp
            """,
            [("dag", entry.DagId), ("task", entry.TaskId), ("run", entry.RunId), ("mi", entry.MapIndex), ("key", entry.Key), ("value", entry.Value.GetRawText()), ("ts", Time(entry.Timestamp))])],
            cancellationToken);
    }

    public async Task<XComEntry?> GetXComAsync(string dagId, string taskId, string runId, string key, int mapIndex = -1, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlXComSelect + " WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND key = @key AND map_index = @mi", [("dag", dagId), ("task", taskId), ("run", runId), ("key", key), ("mi", mapIndex)], ReadXCom, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<XComEntry>> ListXComsAsync(string dagId, string runId, string? taskId = null, CancellationToken cancellationToken = default) =>
        QueryAsync(
            // The task filter is left out rather than written as "@task IS NULL OR ...": PostgreSQL cannot type a NULL parameter there.
            SqlXComSelect + " WHERE dag_id = @dag AND run_id = @run" + (taskId is null ? string.Empty : " AND task_id = @task") + " ORDER BY task_id, map_index, key",
            taskId is null ? [("dag", dagId), ("run", runId)] : [("dag", dagId), ("run", runId), ("task", taskId)],
            ReadXCom,
            cancellationToken);

    public Task ClearXComsAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default) =>
        ExecAsync("DELETE FROM xcom WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi", [("dag", dagId), ("task", taskId), ("run", runId), ("mi", mapIndex)], cancellationToken);

    // ---- import errors ----

    public Task SetImportErrorAsync(ImportErrorRecord error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        return ExecAsync(SqlImportErrorUpsert, [("f", error.FileName), ("m", error.Message), ("t", Time(error.Timestamp))], cancellationToken);
    }

    public Task ClearImportErrorAsync(string fileName, CancellationToken cancellationToken = default) =>
        ExecAsync("DELETE FROM import_error WHERE filename = @f", [("f", fileName)], cancellationToken);

    public Task<IReadOnlyList<ImportErrorRecord>> ListImportErrorsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT filename, message, timestamp FROM import_error ORDER BY filename", [], r => new ImportErrorRecord(r.GetString(0), r.GetString(1), ParseTime(r, 2)!.Value), cancellationToken);

    public Task<IReadOnlyList<DagWarningRecord>> ListDagWarningsAsync(string? dagId = null, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT dag_id, warning_type, message, timestamp FROM dag_warning {(dagId is null ? string.Empty : "WHERE dag_id = @d")} ORDER BY dag_id, warning_type, message",
            dagId is null ? [] : [("d", dagId)],
            r => new DagWarningRecord(r.GetString(0), r.GetString(1), r.GetString(2), ParseTime(r, 3)!.Value),
            cancellationToken);

    // ---- users and pools ----

    public Task UpsertUserAsync(User user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ExecAsync(
            """
            INSERT INTO app_user (username, password_hash, role, email, active, created_at, sessions_valid_after, first_name, last_name) VALUES (@u, @h, @r, @e, @a, @c, @v, @f, @l)
            ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, email = excluded.email, active = excluded.active,
                sessions_valid_after = excluded.sessions_valid_after, first_name = COALESCE(excluded.first_name, app_user.first_name),
                last_name = COALESCE(excluded.last_name, app_user.last_name)
            """,
            [("u", user.Username), ("h", user.PasswordHash), ("r", user.Role), ("e", user.Email), ("a", user.Active ? 1 : 0), ("c", Time(DateTimeOffset.UtcNow)), ("v", Time(user.SessionsValidAfter)), ("f", user.FirstName), ("l", user.LastName)],
            cancellationToken);
    }

    public async Task<User?> GetUserAsync(string username, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlUserSelect + " WHERE username = @u", [("u", username)], ReadUser, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken = default) =>
        QueryAsync(SqlUserSelect + " ORDER BY username", [], ReadUser, cancellationToken);

    public async Task<bool> DeleteUserAsync(string username, CancellationToken cancellationToken = default) =>
        await ExecAsync("DELETE FROM app_user WHERE username = @u", [("u", username)], cancellationToken).ConfigureAwait(false) > 0;

    public Task SetPoolAsync(Pool pool, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (string.IsNullOrWhiteSpace(pool.Name) || pool.Name.Length > 256)
        {
            throw new SiroccoException($"pool name '{pool.Name}': give 1 to 256 characters");
        }

        if (pool.Slots < -1)
        {
            throw new SiroccoException($"pool {pool.Name}: slots must be 0 or more, or -1 for no limit; got {pool.Slots}");
        }

        return ExecAsync(
            "INSERT INTO slot_pool (pool, slots, description) VALUES (@p, @s, @d) ON CONFLICT (pool) DO UPDATE SET slots = excluded.slots, description = excluded.description",
            [("p", pool.Name), ("s", pool.Slots), ("d", pool.Description)],
            cancellationToken);
    }

    public Task<IReadOnlyList<Pool>> ListPoolsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT pool, slots, description FROM slot_pool ORDER BY pool", [], r => new Pool(r.GetString(0), r.GetInt32(1), NullableString(r, 2)), cancellationToken);

    public async Task<bool> DeletePoolAsync(string name, CancellationToken cancellationToken = default)
    {
        if (name == Pool.DefaultName)
        {
            throw new SiroccoException($"{Pool.DefaultName} cannot be deleted");
        }

        return await ExecAsync("DELETE FROM slot_pool WHERE pool = @p", [("p", name)], cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<IReadOnlyList<PoolStats>> ListPoolStatsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync(
            """
            SELECT pool, slots, NULL, 0 FROM slot_pool
            UNION ALL
            SELECT pool, NULL, state, SUM(pool_slots) FROM task_instance WHERE state IN ('scheduled', 'queued', 'running') GROUP BY pool, state
            """,
            [],
            r => (Pool: r.GetString(0), Slots: r.IsDBNull(1) ? (int?)null : Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), State: NullableString(r, 2), Count: Convert.ToInt32(r.GetValue(3), CultureInfo.InvariantCulture)),
            cancellationToken).ConfigureAwait(false);
        return [.. rows.GroupBy(r => r.Pool, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new PoolStats(
                g.Key,
                g.Select(r => r.Slots).FirstOrDefault(s => s is not null),
                g.Where(r => r.State == "running").Sum(r => r.Count),
                g.Where(r => r.State == "queued").Sum(r => r.Count),
                g.Where(r => r.State == "scheduled").Sum(r => r.Count)))];
    }

    // ---- plumbing ----

    private const string SqlVariableSelect = "SELECT key, val, description, is_encrypted FROM variable";
    private const string SqlVariableGet = SqlVariableSelect + " WHERE key = @k";
    private const string SqlConnectionSelect = "SELECT conn_id, conn_type, description, host, login, password, schema_name, port, extra, is_encrypted, is_extra_encrypted FROM connection";
    private const string SqlDagSelect = "SELECT dag_id, fileloc, is_paused, is_active, last_parsed_time, description, schedule, owners, tags FROM dag";
    private const string SqlDagRunSelect = "SELECT dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end, state, conf, queued_at, start_date, end_date FROM dag_run";
    private const string SqlTaskInstanceSelect = "SELECT dag_id, task_id, run_id, map_index, state, try_number, max_tries, start_date, end_date, queued_at, next_retry_at, hostname, operator, pool, pool_slots, priority_weight, external_id, changed_by, rendered_map_index FROM task_instance";
    private const string SqlXComSelect = "SELECT dag_id, task_id, run_id, map_index, key, value, timestamp FROM xcom";
    private const string SqlUserSelect = "SELECT username, password_hash, role, email, active, sessions_valid_after, first_name, last_name FROM app_user";

    internal static string? Time(DateTimeOffset? t) => t?.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : DateTimeOffset.ParseExact(r.GetString(i), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static (string, object?)[] DagRunParameters(DagRun run) =>
        [("dag", run.DagId), ("run", run.RunId), ("type", run.RunType.ToName()), ("logical", Time(run.LogicalDate)), ("dis", Time(run.DataInterval.Start)), ("die", Time(run.DataInterval.End)), ("state", run.State.ToName()), ("conf", run.Conf.ToJsonString()), ("queued", Time(run.QueuedAt)), ("start", Time(run.StartDate)), ("end", Time(run.EndDate))];

    private Variable ReadVariable(DbDataReader r)
    {
        var key = r.GetString(0);
        var value = r.GetInt32(3) != 0 ? Unseal(r.GetString(1), $"Variable '{key}'") : r.GetString(1);
        return new Variable(key, value, NullableString(r, 2));
    }

    private Connection ReadConnection(DbDataReader r)
    {
        var id = r.GetString(0);
        return new()
        {
            ConnId = id,
            ConnType = r.GetString(1),
            Description = NullableString(r, 2),
            Host = NullableString(r, 3),
            Login = NullableString(r, 4),
            Password = NullableString(r, 5) is { } pw && r.GetInt32(9) != 0 ? Unseal(pw, $"the password of connection '{id}'") : NullableString(r, 5),
            Schema = NullableString(r, 6),
            Port = r.IsDBNull(7) ? null : r.GetInt32(7),
            Extra = NullableString(r, 8) is { } extra && r.GetInt32(10) != 0 ? Unseal(extra, $"the extra of connection '{id}'") : NullableString(r, 8),
        };
    }

    private static DagModel ReadDag(DbDataReader r) => new()
    {
        DagId = r.GetString(0),
        FileLoc = NullableString(r, 1),
        IsPaused = r.GetInt32(2) != 0,
        IsActive = r.GetInt32(3) != 0,
        LastParsedTime = ParseTime(r, 4),
        Description = NullableString(r, 5),
        Schedule = NullableString(r, 6),
        Owners = NullableString(r, 7),
        Tags = NullableString(r, 8) is { } tags ? JsonSerializer.Deserialize<string[]>(tags) ?? [] : [],
    };

    private static DagRun ReadDagRun(DbDataReader r) => new()
    {
        DagId = r.GetString(0),
        RunId = r.GetString(1),
        RunType = StateNames.ParseDagRunType(r.GetString(2)),
        LogicalDate = ParseTime(r, 3)!.Value,
        DataInterval = new DataInterval(ParseTime(r, 4)!.Value, ParseTime(r, 5)!.Value),
        State = StateNames.ParseDagRunState(r.GetString(6)),
        Conf = NullableString(r, 7) is { } conf ? JsonNode.Parse(conf) as JsonObject ?? [] : [],
        QueuedAt = ParseTime(r, 8),
        StartDate = ParseTime(r, 9),
        EndDate = ParseTime(r, 10),
    };

    private static TaskInstance ReadTaskInstance(DbDataReader r) => new()
    {
        DagId = r.GetString(0),
        TaskId = r.GetString(1),
        RunId = r.GetString(2),
        MapIndex = r.GetInt32(3),
        State = StateNames.ParseTaskInstanceState(r.GetString(4)),
        TryNumber = r.GetInt32(5),
        MaxTries = r.GetInt32(6),
        StartDate = ParseTime(r, 7),
        EndDate = ParseTime(r, 8),
        QueuedAt = ParseTime(r, 9),
        NextRetryAt = ParseTime(r, 10),
        Hostname = NullableString(r, 11),
        Operator = NullableString(r, 12),
        Pool = r.GetString(13),
        PoolSlots = r.GetInt32(14),
        PriorityWeight = r.GetInt32(15),
        ExternalId = NullableString(r, 16),
        ChangedBy = NullableString(r, 17),
        RenderedMapIndex = NullableString(r, 18),
    };

    private static XComEntry ReadXCom(DbDataReader r)
    {
        using var doc = JsonDocument.Parse(r.GetString(5));
        return new XComEntry
        {
            DagId = r.GetString(0),
            TaskId = r.GetString(1),
            RunId = r.GetString(2),
            MapIndex = r.GetInt32(3),
            Key = r.GetString(4),
            Value = doc.RootElement.Clone(),
            Timestamp = ParseTime(r, 6)!.Value,
        };
    }

    private static User ReadUser(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), NullableString(r, 3), r.GetInt32(4) != 0, ParseTime(r, 5)) { FirstName = NullableString(r, 6), LastName = NullableString(r, 7) };

    private static DbCommand Command(DbConnection conn, DbTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    private int Exec(string sql, (string, object?)[] args)
    {
        using var conn = Open();
        using var cmd = Command(conn, null, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private List<T> Query<T>(string sql, (string, object?)[] args, Func<DbDataReader, T> map)
    {
        using var conn = Open();
        using var cmd = Command(conn, null, sql, args);
        using var reader = cmd.ExecuteReader();
        var list = new List<T>();
        while (reader.Read())
        {
            list.Add(map(reader));
        }

        return list;
    }

    private async Task<int> ExecAsync(string sql, (string, object?)[] args, CancellationToken ct)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        return await ExecAsync(conn, null, sql, args, ct).ConfigureAwait(false);
    }

    private static async Task<int> ExecAsync(DbConnection conn, DbTransaction? tx, string sql, (string, object?)[] args, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<int> ExecScalarCountAsync(DbConnection conn, DbTransaction? tx, string sql, (string, object?)[] args, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, (string, object?)[] args, Func<DbDataReader, T> map, CancellationToken ct)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        return await QueryAsync(conn, null, sql, args, map, ct).ConfigureAwait(false);
    }

    private static async Task<int> CurrentVersionAsync(DbConnection conn, CancellationToken ct) => await CurrentVersionAsync(conn, null, ct).ConfigureAwait(false);

    private static async Task<int> CurrentVersionAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", []);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task<bool> ScalarAsync(DbConnection conn, string sql, CancellationToken ct, bool tolerateMissingTable)
    {
        try
        {
            await using var cmd = Command(conn, null, sql, []);
            await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (DbException) when (tolerateMissingTable)
        {
            return false;
        }
    }
}
