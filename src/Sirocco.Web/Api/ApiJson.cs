using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Storage;
using Sirocco.Variables;

namespace Sirocco.Web.Api;

/// <summary>The API's JSON shapes (Airflow's field names), secrets masked.</summary>
internal static class ApiJson
{
    public static string? Iso(DateTimeOffset? t) => t is { } v ? AirflowTime.IsoFormat(v.ToUniversalTime()) : null;

    public static JsonObject TimeDelta(TimeSpan? t) => t is not { } v ? [] : new JsonObject
    {
        ["__type"] = "TimeDelta",
        ["days"] = v.Days,
        ["seconds"] = (v.Hours * 3600) + (v.Minutes * 60) + v.Seconds,
        ["microseconds"] = (int)(v.Ticks % TimeSpan.TicksPerSecond / 10),
    };

    /// <summary>The next scheduled run after the latest automated one, or null (paused, no schedule, unknown DAG).</summary>
    public static NextRunInfo? NextRun(Dag? dag, IReadOnlyList<DagRun> recent, DateTimeOffset now, bool catchupDefault = true)
    {
        if (dag is null)
        {
            return null;
        }

        var last = recent.Where(r => r.RunType == DagRunType.Scheduled).MaxBy(r => r.LogicalDate)?.DataInterval;
        return dag.Schedule.Next(last, dag.StartDate, dag.EndDate, dag.Catchup ?? catchupDefault, now);
    }

    public static JsonObject Dag(DagModel m, Dag? dag, bool hasImportErrors, NextRunInfo? next)
    {
        var o = new JsonObject
        {
            ["dag_id"] = m.DagId,
            ["dag_display_name"] = m.DagId,
            ["root_dag_id"] = null,
            ["is_paused"] = m.IsPaused,
            ["is_active"] = m.IsActive,
            ["is_subdag"] = false,
            ["last_parsed_time"] = Iso(m.LastParsedTime),
            ["fileloc"] = m.FileLoc,
            ["description"] = m.Description,
            ["owners"] = new JsonArray([.. (m.Owners ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => (JsonNode?)x)]),
            ["schedule_interval"] = m.Schedule is null ? null : new JsonObject { ["__type"] = "CronExpression", ["value"] = m.Schedule },
            ["timetable_description"] = m.Schedule,
            ["tags"] = new JsonArray([.. m.Tags.Select(t => (JsonNode?)new JsonObject { ["name"] = t })]),
            ["max_active_tasks"] = dag?.MaxActiveTasks,
            ["max_active_runs"] = dag?.MaxActiveRuns,
            ["has_task_concurrency_limits"] = false,
            ["has_import_errors"] = hasImportErrors,
            ["next_dagrun"] = Iso(next?.LogicalDate),
            ["next_dagrun_data_interval_start"] = Iso(next?.Interval.Start),
            ["next_dagrun_data_interval_end"] = Iso(next?.Interval.End),
            ["next_dagrun_create_after"] = Iso(next?.RunAfter),
        };
        return o;
    }

    public static JsonObject DagDetails(DagModel m, Dag? dag, bool hasImportErrors, NextRunInfo? next, SecretMasker masker)
    {
        var o = Dag(m, dag, hasImportErrors, next);
        o["catchup"] = dag?.Catchup;
        o["start_date"] = Iso(dag?.StartDate);
        o["end_date"] = Iso(dag?.EndDate);
        o["dag_run_timeout"] = dag?.DagrunTimeout is { } t ? TimeDelta(t) : null;
        o["render_template_as_native_obj"] = dag?.RenderTemplateAsNativeObj;
        o["params"] = dag is null ? null : Masked(JsonSerializer.SerializeToNode(dag.Params), masker);
        o["default_view"] = "grid";
        o["concurrency"] = dag?.MaxActiveTasks;
        o["task_count"] = dag?.Tasks.Count;
        return o;
    }

    public static JsonObject Task(BaseOperator t)
    {
        var type = t.GetType();
        return new JsonObject
        {
            ["class_ref"] = new JsonObject { ["module_path"] = type.Namespace, ["class_name"] = t.OperatorName },
            ["task_id"] = t.TaskId,
            ["task_display_name"] = t.TaskId,
            ["owner"] = t.Owner,
            ["start_date"] = Iso(t.StartDate),
            ["end_date"] = Iso(t.EndDate),
            ["trigger_rule"] = t.TriggerRule.ToString(),
            ["extra_links"] = new JsonArray(),
            ["depends_on_past"] = t.DependsOnPast,
            ["wait_for_downstream"] = false,
            ["retries"] = t.Retries,
            ["queue"] = "default",
            ["pool"] = t.Pool,
            ["pool_slots"] = t.PoolSlots,
            ["execution_timeout"] = t.ExecutionTimeout is { } e ? TimeDelta(e) : null,
            ["retry_delay"] = TimeDelta(t.RetryDelay),
            ["retry_exponential_backoff"] = t.RetryExponentialBackoff,
            ["priority_weight"] = t.PriorityWeight,
            ["weight_rule"] = t.WeightRule.ToName(),
            ["ui_color"] = "#fff",
            ["ui_fgcolor"] = "#000",
            ["template_fields"] = new JsonArray([.. t.TemplateFields.Select(f => (JsonNode?)f)]),
            ["sub_dag"] = null,
            ["downstream_task_ids"] = new JsonArray([.. t.DownstreamTaskIds.Order(StringComparer.Ordinal).Select(f => (JsonNode?)f)]),
            ["is_mapped"] = false,
        };
    }

    public static JsonObject DagRun(DagRun r, SecretMasker masker) => new()
    {
        ["dag_run_id"] = r.RunId,
        ["dag_id"] = r.DagId,
        ["logical_date"] = Iso(r.LogicalDate),
        ["execution_date"] = Iso(r.LogicalDate),
        ["start_date"] = Iso(r.StartDate),
        ["end_date"] = Iso(r.EndDate),
        ["queued_at"] = Iso(r.QueuedAt),
        ["data_interval_start"] = Iso(r.DataInterval.Start),
        ["data_interval_end"] = Iso(r.DataInterval.End),
        ["last_scheduling_decision"] = null,
        ["run_type"] = r.RunType.ToName(),
        ["state"] = r.State.ToName(),
        ["external_trigger"] = r.ExternalTrigger,
        ["conf"] = Masked(r.Conf, masker),
        ["note"] = null,
    };

    public static JsonObject TaskInstance(TaskInstance ti, DagRun? run, IReadOnlyList<KeyValuePair<string, string>>? rendered = null, SecretMasker? masker = null)
    {
        var o = new JsonObject
        {
            ["task_id"] = ti.TaskId,
            ["task_display_name"] = ti.TaskId,
            ["dag_id"] = ti.DagId,
            ["dag_run_id"] = ti.RunId,
            ["execution_date"] = Iso(run?.LogicalDate),
            ["logical_date"] = Iso(run?.LogicalDate),
            ["start_date"] = Iso(ti.StartDate),
            ["end_date"] = Iso(ti.EndDate),
            ["duration"] = ti.Duration?.TotalSeconds,
            ["state"] = ti.State == TaskInstanceState.None ? null : ti.State.ToName(),
            ["try_number"] = ti.TryNumber,
            ["map_index"] = ti.MapIndex,
            ["rendered_map_index"] = ti.RenderedMapIndex,
            ["max_tries"] = ti.MaxTries,
            ["hostname"] = ti.Hostname ?? string.Empty,
            ["unixname"] = null,
            ["pool"] = ti.Pool,
            ["pool_slots"] = ti.PoolSlots,
            ["queue"] = "default",
            ["priority_weight"] = ti.PriorityWeight,
            ["operator"] = ti.Operator,
            ["queued_when"] = Iso(ti.QueuedAt),
            ["pid"] = null,
            ["executor_config"] = "{}",
            ["note"] = null,
            ["external_id"] = ti.ExternalId,
        };
        if (ti.ExternalId is { } ext && ext.IndexOf('/', StringComparison.Ordinal) is var slash and > 0)
        {
            o["pod_namespace"] = ext[..slash];
            o["pod_name"] = ext[(slash + 1)..];
        }

        if (rendered is not null)
        {
            var fields = new JsonObject();
            foreach (var (k, v) in rendered)
            {
                fields[k] = masker?.Redact(v) ?? v;
            }

            o["rendered_fields"] = fields;
        }

        return o;
    }

    public static JsonObject Try(TaskInstanceTry t) => new()
    {
        ["try_number"] = t.TryNumber,
        ["state"] = t.State.ToName(),
        ["start_date"] = Iso(t.StartDate),
        ["end_date"] = Iso(t.EndDate),
        ["duration"] = t.StartDate is { } s && t.EndDate is { } e ? (e - s).TotalSeconds : null,
        ["hostname"] = t.Hostname,
        ["external_id"] = t.ExternalId,
    };

    public static string MaskedVariableValue(Variable v, SecretMasker masker) =>
        SecretMasker.IsSensitiveName(v.Key) ? SecretMasker.Mask : masker.Redact(v.Value);

    public static JsonObject Variable(Variable v, SecretMasker masker) => new()
    {
        ["key"] = v.Key,
        ["value"] = MaskedVariableValue(v, masker),
        ["description"] = v.Description,
    };

    /// <summary>A connection as the API shows it: never the password, sensitive extras masked.</summary>
    public static JsonObject Connection(Connection c, SecretMasker masker) => new()
    {
        ["connection_id"] = c.ConnId,
        ["conn_type"] = c.ConnType,
        ["description"] = c.Description,
        ["host"] = c.Host,
        ["login"] = c.Login,
        ["schema"] = c.Schema,
        ["port"] = c.Port,
        ["extra"] = MaskedExtra(c, masker),
    };

    public static string? MaskedExtra(Connection c, SecretMasker masker)
    {
        if (string.IsNullOrWhiteSpace(c.Extra))
        {
            return c.Extra;
        }

        try
        {
            return masker.Redact(c.MaskedExtraDejson().ToJsonString());
        }
        catch (SiroccoException)
        {
            return SecretMasker.Mask;
        }
    }

    public static JsonObject XCom(XComEntry x, DagRun? run, SecretMasker masker, bool withValue) => new()
    {
        ["key"] = x.Key,
        ["timestamp"] = Iso(x.Timestamp),
        ["execution_date"] = Iso(run?.LogicalDate),
        ["logical_date"] = Iso(run?.LogicalDate),
        ["map_index"] = x.MapIndex,
        ["task_id"] = x.TaskId,
        ["dag_id"] = x.DagId,
        ["value"] = withValue ? masker.Redact(x.Value.GetRawText()) : null,
    };

    public static JsonObject ImportError(int id, ImportErrorRecord e, SecretMasker masker) => new()
    {
        ["import_error_id"] = id,
        ["timestamp"] = Iso(e.Timestamp),
        ["filename"] = e.FileName,
        ["stack_trace"] = masker.Redact(e.Message),
    };

    public static JsonObject DagWarning(DagWarningRecord w, SecretMasker masker) => new()
    {
        ["dag_id"] = w.DagId,
        ["warning_type"] = w.WarningType,
        ["message"] = masker.Redact(w.Message),
        ["timestamp"] = Iso(w.Timestamp),
    };

    public static JsonObject User(User u) => new()
    {
        ["username"] = u.Username,
        ["first_name"] = u.FirstName,
        ["last_name"] = u.LastName,
        ["email"] = u.Email,
        ["active"] = u.Active,
        ["roles"] = new JsonArray(new JsonObject { ["name"] = u.Role }),
    };

    public static JsonObject Collection(string name, IEnumerable<JsonObject> items, int total) => new()
    {
        [name] = new JsonArray([.. items]),
        ["total_entries"] = total,
    };

    /// <summary>A JSON value with every string that is, or holds, a known secret masked; sensitive keys masked whole.</summary>
    public static JsonNode? Masked(JsonNode? node, SecretMasker masker)
    {
        switch (node)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o)
                {
                    copy[k] = SecretMasker.IsSensitiveName(k) && v is not null ? SecretMasker.Mask : Masked(v, masker);
                }

                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(x => Masked(x, masker))]);
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return masker.Redact(v.GetValue<string>());
            default:
                return node?.DeepClone();
        }
    }

    public static string Seconds(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture) + " s" : string.Empty;
}
