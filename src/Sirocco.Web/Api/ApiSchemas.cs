using System.Text.Json.Nodes;

namespace Sirocco.Web.Api;

/// <summary>The component schemas of the OpenAPI document (the fields each resource has, as Airflow names them).</summary>
internal static class ApiSchemas
{
    public static JsonObject All()
    {
        var s = new JsonObject
        {
            ["Error"] = Obj(("type", "string"), ("title", "string"), ("status", "integer"), ("detail", "string")),
            ["Empty"] = new JsonObject { ["type"] = "object" },
            ["DAG"] = Obj(
                ("dag_id", "string"), ("dag_display_name", "string"), ("is_paused", "boolean"), ("is_active", "boolean"), ("last_parsed_time", "date-time"),
                ("fileloc", "string"), ("description", "string"), ("owners", "string[]"), ("schedule_interval", "object"), ("timetable_description", "string"),
                ("tags", "object[]"), ("max_active_tasks", "integer"), ("max_active_runs", "integer"), ("has_import_errors", "boolean"),
                ("next_dagrun", "date-time"), ("next_dagrun_data_interval_start", "date-time"), ("next_dagrun_data_interval_end", "date-time"), ("next_dagrun_create_after", "date-time")),
            ["DAGPatch"] = Obj(("is_paused", "boolean")),
            ["DAGDetail"] = Obj(
                ("dag_id", "string"), ("is_paused", "boolean"), ("catchup", "boolean"), ("start_date", "date-time"), ("end_date", "date-time"), ("dag_run_timeout", "object"),
                ("render_template_as_native_obj", "boolean"), ("params", "object"), ("default_view", "string"), ("concurrency", "integer"), ("task_count", "integer")),
            ["Task"] = Obj(
                ("class_ref", "object"), ("task_id", "string"), ("owner", "string"), ("start_date", "date-time"), ("end_date", "date-time"), ("trigger_rule", "string"),
                ("depends_on_past", "boolean"), ("retries", "integer"), ("pool", "string"), ("pool_slots", "integer"), ("execution_timeout", "object"), ("retry_delay", "object"),
                ("retry_exponential_backoff", "boolean"), ("priority_weight", "integer"), ("template_fields", "string[]"), ("downstream_task_ids", "string[]")),
            ["DAGRun"] = Obj(
                ("dag_run_id", "string"), ("dag_id", "string"), ("logical_date", "date-time"), ("execution_date", "date-time"), ("start_date", "date-time"), ("end_date", "date-time"),
                ("queued_at", "date-time"), ("data_interval_start", "date-time"), ("data_interval_end", "date-time"), ("run_type", "string"), ("state", "string"),
                ("external_trigger", "boolean"), ("conf", "object")),
            ["DAGRunTrigger"] = Obj(("dag_run_id", "string"), ("logical_date", "date-time"), ("conf", "object"), ("note", "string")),
            ["UpdateDagRunState"] = Obj(("state", "string")),
            ["ListDagRunsForm"] = Obj(("dag_ids", "string[]"), ("states", "string[]"), ("page_offset", "integer"), ("page_limit", "integer"), ("order_by", "string")),
            ["ClearDagRun"] = Obj(("dry_run", "boolean")),
            ["ClearTaskInstances"] = Obj(
                ("dry_run", "boolean"), ("task_ids", "string[]"), ("dag_run_id", "string"), ("start_date", "date-time"), ("end_date", "date-time"), ("only_failed", "boolean"), ("include_downstream", "boolean")),
            ["TaskInstanceReference"] = Obj(("task_id", "string"), ("dag_id", "string"), ("dag_run_id", "string"), ("execution_date", "date-time")),
            ["TaskInstance"] = Obj(
                ("task_id", "string"), ("dag_id", "string"), ("dag_run_id", "string"), ("logical_date", "date-time"), ("start_date", "date-time"), ("end_date", "date-time"),
                ("duration", "number"), ("state", "string"), ("try_number", "integer"), ("map_index", "integer"), ("rendered_map_index", "string"), ("max_tries", "integer"), ("hostname", "string"), ("pool", "string"),
                ("pool_slots", "integer"), ("priority_weight", "integer"), ("operator", "string"), ("queued_when", "date-time"), ("external_id", "string"),
                ("pod_namespace", "string"), ("pod_name", "string"), ("rendered_fields", "object"), ("tries", "object[]")),
            ["UpdateTaskInstance"] = Obj(("new_state", "string"), ("dry_run", "boolean")),
            ["InstanceLog"] = Obj(("content", "string"), ("continuation_token", "string"), ("end_of_log", "boolean")),
            ["XCom"] = Obj(("key", "string"), ("timestamp", "date-time"), ("logical_date", "date-time"), ("map_index", "integer"), ("task_id", "string"), ("dag_id", "string"), ("value", "string")),
            ["Variable"] = Obj(("key", "string"), ("value", "string"), ("description", "string")),
            ["Pool"] = Obj(
                ("name", "string"), ("slots", "integer"), ("occupied_slots", "integer"), ("running_slots", "integer"), ("queued_slots", "integer"),
                ("scheduled_slots", "integer"), ("open_slots", "integer"), ("deferred_slots", "integer"), ("description", "string"), ("include_deferred", "boolean")),
            ["Connection"] = Obj(
                ("connection_id", "string"), ("conn_type", "string"), ("description", "string"), ("host", "string"), ("login", "string"), ("schema", "string"), ("port", "integer"),
                ("password", "string"), ("extra", "string")),
            ["ConnectionTest"] = Obj(("status", "boolean"), ("message", "string")),
            ["Config"] = Obj(("sections", "object[]")),
            ["DagWarning"] = Obj(("dag_id", "string"), ("warning_type", "string"), ("message", "string"), ("timestamp", "date-time")),
            ["ImportError"] = Obj(("import_error_id", "integer"), ("timestamp", "date-time"), ("filename", "string"), ("stack_trace", "string")),
            ["User"] = Obj(("username", "string"), ("first_name", "string"), ("last_name", "string"), ("email", "string"), ("active", "boolean"), ("roles", "object[]")),
            ["UserWrite"] = Obj(("username", "string"), ("password", "string"), ("first_name", "string"), ("last_name", "string"), ("role", "string"), ("roles", "object[]"), ("email", "string"), ("active", "boolean")),
            ["HealthInfo"] = Obj(("metadatabase", "object"), ("scheduler", "object")),
            ["VersionInfo"] = Obj(("version", "string"), ("git_version", "string")),
            ["TokenRequest"] = Obj(("username", "string"), ("password", "string")),
            ["Token"] = Obj(("access_token", "string"), ("token_type", "string"), ("expires_in", "integer")),
            ["Dataset"] = Obj(("uri", "string"), ("producing_tasks", "object[]"), ("consuming_dags", "object[]"), ("updated_at", "date-time")),
            ["DatasetEvent"] = Obj(("dataset_uri", "string"), ("source_dag_id", "string"), ("source_task_id", "string"), ("source_run_id", "string"), ("source_map_index", "integer"), ("timestamp", "date-time")),
            ["EventLog"] = Obj(
                ("event_log_id", "integer"), ("when", "date-time"), ("event", "string"), ("owner", "string"), ("origin", "string"), ("dag_id", "string"),
                ("task_id", "string"), ("run_id", "string"), ("map_index", "integer"), ("try_number", "integer"), ("execution_date", "date-time"), ("extra", "string")),
        };
        foreach (var (name, item) in new[]
        {
            ("DAGCollection", "dags", "DAG"), ("TaskCollection", "tasks", "Task"), ("DAGRunCollection", "dag_runs", "DAGRun"),
            ("TaskInstanceCollection", "task_instances", "TaskInstance"), ("TaskInstanceReferenceCollection", "task_instances", "TaskInstanceReference"),
            ("XComCollection", "xcom_entries", "XCom"), ("VariableCollection", "variables", "Variable"), ("PoolCollection", "pools", "Pool"), ("ConnectionCollection", "connections", "Connection"),
            ("ImportErrorCollection", "import_errors", "ImportError"), ("DagWarningCollection", "dag_warnings", "DagWarning"), ("UserCollection", "users", "User"),
            ("EventLogCollection", "event_logs", "EventLog"), ("DatasetCollection", "datasets", "Dataset"), ("DatasetEventCollection", "dataset_events", "DatasetEvent"),
        }.Select(x => (x.Item1, (x.Item2, x.Item3))))
        {
            s[name] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    [item.Item1] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/components/schemas/" + item.Item2 } },
                    ["total_entries"] = new JsonObject { ["type"] = "integer" },
                },
            };
        }

        return s;
    }

    private static JsonObject Obj(params (string Name, string Type)[] fields)
    {
        var props = new JsonObject();
        foreach (var (name, type) in fields)
        {
            props[name] = type switch
            {
                "date-time" => new JsonObject { ["type"] = "string", ["format"] = "date-time", ["nullable"] = true },
                "string[]" => new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
                "object[]" => new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "object" } },
                _ => new JsonObject { ["type"] = type },
            };
        }

        return new JsonObject { ["type"] = "object", ["properties"] = props };
    }
}
