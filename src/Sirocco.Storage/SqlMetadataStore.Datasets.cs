namespace Sirocco.Storage;

/// <summary>Datasets (Airflow's data-aware scheduling): updates recorded, queued for the DAGs scheduled on them, and consumed by the run they trigger.</summary>
internal abstract partial class SqlMetadataStore
{
    public async Task RecordDatasetUpdateAsync(DatasetUpdate update, IReadOnlyCollection<string> consumers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(consumers);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, """
            INSERT INTO dataset_event (dataset_uri, source_dag_id, source_task_id, source_run_id, source_map_index, timestamp)
            VALUES (@uri, @dag, @task, @run, @mi, @ts) ON CONFLICT DO NOTHING
            """,
            [("uri", update.Uri), ("dag", update.DagId), ("task", update.TaskId), ("run", update.RunId), ("mi", update.MapIndex), ("ts", Time(update.Timestamp))], ct).ConfigureAwait(false);
        foreach (var target in consumers.Order(StringComparer.Ordinal))
        {
            // A second update before the consumer ran keeps the first's row: one run for both, as in Airflow.
            await ExecAsync(conn, tx, "INSERT INTO dataset_dag_run_queue (dataset_uri, target_dag_id, created_at) VALUES (@uri, @target, @ts) ON CONFLICT DO NOTHING",
                [("uri", update.Uri), ("target", target), ("ts", Time(update.Timestamp))], ct).ConfigureAwait(false);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(string Uri, string TargetDagId)>> ListDatasetQueueAsync(CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(conn, null, "SELECT dataset_uri, target_dag_id FROM dataset_dag_run_queue ORDER BY target_dag_id, dataset_uri", [], r => (r.GetString(0), r.GetString(1)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DatasetUpdate>> ListDatasetUpdatesAsync(string? uri = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(
            conn,
            null,
            "SELECT dataset_uri, source_dag_id, source_task_id, source_run_id, source_map_index, timestamp FROM dataset_event"
                + (uri is null ? string.Empty : " WHERE dataset_uri = @uri") + " ORDER BY timestamp DESC LIMIT @limit",
            [("uri", uri), ("limit", limit)],
            r => new DatasetUpdate(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), ParseTime(r, 5)!.Value),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> CreateDatasetTriggeredRunAsync(DagRun run, IReadOnlyCollection<string> uris, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(uris);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);

        // The queue's rows are taken with the run: another scheduler that read the same queue finds them gone.
        var taken = 0;
        foreach (var uri in uris.Order(StringComparer.Ordinal))
        {
            taken += await ExecAsync(conn, tx, "DELETE FROM dataset_dag_run_queue WHERE dataset_uri = @uri AND target_dag_id = @dag", [("uri", uri), ("dag", run.DagId)], ct).ConfigureAwait(false);
        }

        if (taken != uris.Count || await ExecAsync(conn, tx, SqlDagRunInsert, [.. DagRunParameters(run), ("claim", null)], ct).ConfigureAwait(false) == 0)
        {
            await tx.RollbackAsync(ct).ConfigureAwait(false);
            return false;
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }
}
