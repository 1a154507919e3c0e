namespace Sirocco.Storage;

/// <summary>Housekeeping: deleting a DAG's records and purging old ones (<c>dags delete</c>, <c>db clean</c>).</summary>
internal abstract partial class SqlMetadataStore
{
    public async Task<int> DeleteDagAsync(string dagId, CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        (string, object?)[] args = [("dag", dagId)];
        var active = await ExecScalarCountAsync(conn, tx, "SELECT COUNT(*) FROM task_instance WHERE dag_id = @dag AND state IN ('queued', 'running')", args, cancellationToken).ConfigureAwait(false);
        if (active > 0)
        {
            throw new SiroccoException($"DAG {dagId} has {active} task instance(s) still queued or running; let them finish, or mark them, then delete it");
        }

        var removed = 0;
        await ExecAsync(conn, tx, "DELETE FROM dataset_dag_run_queue WHERE target_dag_id = @dag", args, cancellationToken).ConfigureAwait(false);
        foreach (var table in new[] { "xcom", "task_instance_try", "task_instance", "dag_run", "dag" })
        {
            removed += await ExecAsync(conn, tx, $"DELETE FROM {table} WHERE dag_id = @dag", args, cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed;
    }

    public async Task<IReadOnlyList<(string Table, int Rows)>> CleanAsync(DateTimeOffset before, IReadOnlyCollection<string> tables, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.FirstOrDefault(t => !IMetadataStore.CleanableTables.Contains(t)) is { } unknown)
        {
            throw new SiroccoException($"table '{unknown}' cannot be cleaned; tables: {string.Join(", ", IMetadataStore.CleanableTables)}");
        }

        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        (string, object?)[] args = [("before", Time(before))];
        var result = new List<(string, int)>();
        if (tables.Contains("dag_run"))
        {
            var runs = await QueryAsync(
                conn,
                tx,
                """
                SELECT dag_id, run_id FROM dag_run r
                WHERE state IN ('success', 'failed') AND COALESCE(end_date, start_date, logical_date) < @before
                  AND logical_date < (SELECT MAX(logical_date) FROM dag_run m WHERE m.dag_id = r.dag_id)
                """,
                args,
                r => (Dag: r.GetString(0), Run: r.GetString(1)),
                cancellationToken).ConfigureAwait(false);
            foreach (var table in new[] { "xcom", "task_instance_try", "task_instance", "dag_run" })
            {
                var rows = 0;
                foreach (var (dag, run) in runs)
                {
                    var sql = dryRun ? $"SELECT COUNT(*) FROM {table} WHERE dag_id = @dag AND run_id = @run" : $"DELETE FROM {table} WHERE dag_id = @dag AND run_id = @run";
                    (string, object?)[] key = [("dag", dag), ("run", run)];
                    rows += dryRun
                        ? await ExecScalarCountAsync(conn, tx, sql, key, cancellationToken).ConfigureAwait(false)
                        : await ExecAsync(conn, tx, sql, key, cancellationToken).ConfigureAwait(false);
                }

                result.Add((table, rows));
            }
        }

        foreach (var (table, where) in new[] { ("log", "dttm < @before"), ("job", "state <> 'running' AND COALESCE(end_date, latest_heartbeat) < @before") })
        {
            if (tables.Contains(table))
            {
                result.Add((table, dryRun
                    ? await ExecScalarCountAsync(conn, tx, $"SELECT COUNT(*) FROM {table} WHERE {where}", args, cancellationToken).ConfigureAwait(false)
                    : await ExecAsync(conn, tx, $"DELETE FROM {table} WHERE {where}", args, cancellationToken).ConfigureAwait(false)));
            }
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }
}
