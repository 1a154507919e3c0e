using System.Data.Common;
using System.Globalization;

namespace Sirocco.Storage;

/// <summary>The audit log: append-only lines numbered in order (the next number is taken in the insert itself).</summary>
internal abstract partial class SqlMetadataStore
{
    private const string SqlEventLogSelect = "SELECT id, dttm, event, owner, origin, dag_id, task_id, run_id, map_index, try_number, extra FROM log";

    public async Task<EventLogEntry> AddEventLogAsync(EventLogEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        (string, object?)[] args =
        [
            ("t", Time(entry.When)), ("e", entry.Event), ("o", entry.Owner), ("g", entry.Origin), ("d", entry.DagId), ("k", entry.TaskId),
            ("r", entry.RunId), ("m", entry.MapIndex), ("n", entry.TryNumber), ("x", entry.Extra),
        ];
        const string sql = """
            INSERT INTO log (id, dttm, event, owner, origin, dag_id, task_id, run_id, map_index, try_number, extra)
            SELECT COALESCE(MAX(id), 0) + 1, @t, @e, @o, @g, @d, @k, @r, @m, @n, @x FROM log
            RETURNING id
            """;

        // Two writers may take the same next number; the loser's insert is a unique violation and simply goes again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var cmd = Command(conn, null, sql, args);
                var id = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                return entry with { Id = id };
            }
            catch (DbException e) when (IsUniqueViolation(e) && attempt < 20)
            {
            }
        }
    }

    public async Task<(IReadOnlyList<EventLogEntry> Items, int Total)> ListEventLogsAsync(EventLogQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        var args = new List<(string, object?)>();
        void Eq(string column, string name, object? value)
        {
            if (value is not null)
            {
                where.Add($"{column} = @{name}");
                args.Add((name, value));
            }
        }

        void In(string name, IReadOnlyCollection<string>? values, bool negate)
        {
            if (values is { Count: > 0 })
            {
                var names = values.Select((v, i) => (Name: name + i.ToString(CultureInfo.InvariantCulture), Value: v)).ToList();
                where.Add($"event {(negate ? "NOT IN" : "IN")} ({string.Join(", ", names.Select(n => "@" + n.Name))})");
                args.AddRange(names.Select(n => (n.Name, (object?)n.Value)));
            }
        }

        Eq("dag_id", "dag", query.DagId);
        Eq("task_id", "task", query.TaskId);
        Eq("run_id", "run", query.RunId);
        Eq("owner", "owner", query.Owner);
        In("inc", query.IncludedEvents, negate: false);
        In("exc", query.ExcludedEvents, negate: true);
        if (query.After is { } after)
        {
            where.Add("dttm >= @after");
            args.Add(("after", Time(after)));
        }

        if (query.Before is { } before)
        {
            where.Add("dttm < @before");
            args.Add(("before", Time(before)));
        }

        var filter = where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty;
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var count = Command(conn, null, "SELECT COUNT(*) FROM log" + filter, [.. args]);
        var total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        var direction = query.Descending ? "DESC" : "ASC";
        var items = await QueryAsync(
            conn, null, $"{SqlEventLogSelect}{filter} ORDER BY id {direction} LIMIT @limit OFFSET @offset",
            [.. args, ("limit", query.Limit), ("offset", query.Offset)], ReadEventLog, cancellationToken).ConfigureAwait(false);
        return (items, total);
    }

    public async Task<EventLogEntry?> GetEventLogAsync(long id, CancellationToken cancellationToken = default) =>
        (await QueryAsync(SqlEventLogSelect + " WHERE id = @id", [("id", id)], ReadEventLog, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    private static EventLogEntry ReadEventLog(DbDataReader r) => new(
        Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
        ParseTime(r, 1)!.Value,
        r.GetString(2),
        NullableString(r, 3),
        NullableString(r, 4),
        NullableString(r, 5),
        NullableString(r, 6),
        NullableString(r, 7),
        r.IsDBNull(8) ? null : Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture),
        r.IsDBNull(9) ? null : Convert.ToInt32(r.GetValue(9), CultureInfo.InvariantCulture),
        NullableString(r, 10));
}
