namespace Sirocco.Configuration;

/// <summary>
/// The built-in defaults, Airflow's where the option is Airflow's. <c>{SIROCCO_HOME}</c> is replaced by the home
/// directory. <c>[core] kube_config</c> deliberately has no default: templates that read it fail until it is set.
/// </summary>
internal static class ConfigDefaults
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Values =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["core"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["dags_folder"] = "{SIROCCO_HOME}/dags",
                ["parallelism"] = "32",
                ["max_active_tasks_per_dag"] = "16",
                ["max_active_runs_per_dag"] = "16",
                ["max_map_length"] = "1024",
                ["dags_are_paused_at_creation"] = "True",
                ["default_timezone"] = "utc",
                ["load_examples"] = "True",
                ["default_task_retries"] = "0",
                ["default_pool_task_slot_count"] = "128",
                ["dagbag_import_timeout"] = "30",
                ["killed_task_cleanup_time"] = "60",
                ["test_connection"] = "Disabled",
            },
            ["database"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["sql_conn"] = "sqlite:///{SIROCCO_HOME}/sirocco.db",
                ["sql_alchemy_pool_enabled"] = "True",
                ["sql_alchemy_pool_size"] = "5",
                ["sql_alchemy_max_overflow"] = "10",
            },
            ["scheduler"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["catchup_by_default"] = "True",
                ["dag_dir_list_interval"] = "300",
                ["scheduler_heartbeat_sec"] = "5",
                ["scheduler_health_check_threshold"] = "30",
                ["max_dagruns_per_loop_to_schedule"] = "20",
                ["max_tis_per_query"] = "512",
            },
            ["dag_processor"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["isolate"] = "True",
                ["memory_limit_mb"] = "2048",
            },
            ["webserver"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["web_server_host"] = "127.0.0.1",
                ["web_server_port"] = "8080",
                ["base_url"] = "http://127.0.0.1:8080",
                ["expose_config"] = "False",
                ["auth_rate_limited"] = "True",
                ["auth_rate_limit"] = "5 per 40 second",
                ["login_lockout_attempts"] = "5",
                ["login_lockout_seconds"] = "300",
                ["web_server_ssl_cert"] = string.Empty,
                ["web_server_ssl_key"] = string.Empty,
            },
            ["kubernetes"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["namespace"] = "default",
                ["in_cluster"] = "False",
                ["api_retry_budget_seconds"] = "120",
                ["max_pod_creations_in_flight"] = "32",
                ["python_task_image"] = "python:3.12-slim",
            },
            ["logging"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["base_log_folder"] = "{SIROCCO_HOME}/logs",
                ["logging_level"] = "INFO",
                ["json_format"] = "False",
                ["min_length_masked_secret"] = "5",
                ["remote_logging"] = "False",
                ["remote_base_log_folder"] = string.Empty,
                ["remote_log_conn_id"] = string.Empty,
                ["remote_log_upload_interval"] = "30",
            },
            ["metrics"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["prometheus_host"] = "127.0.0.1",
                ["prometheus_port"] = string.Empty,
                ["otel_on"] = "False",
                ["otel_host"] = "localhost",
                ["otel_port"] = "8889",
                ["otel_interval_milliseconds"] = "60000",
                ["otel_ssl_active"] = "False",
                ["otel_service"] = "sirocco",
            },
            ["traces"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["otel_on"] = "False",
                ["otel_host"] = "localhost",
                ["otel_port"] = "8889",
                ["otel_ssl_active"] = "False",
                ["otel_service"] = "sirocco",
            },
            ["secrets"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["backend"] = string.Empty,
                ["backend_kwargs"] = string.Empty,
                ["use_cache"] = "True",
                ["cache_ttl_seconds"] = "900",
            },
            ["google"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["container_api_endpoint"] = "https://container.googleapis.com/",
                ["storage_api_endpoint"] = string.Empty,
                ["secret_manager_endpoint"] = "https://secretmanager.googleapis.com/",
                ["iam_credentials_endpoint"] = "https://iamcredentials.googleapis.com/",
            },
            ["local_cluster"] = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["port"] = "0",
                ["namespaces"] = "composer-user-workloads",
                ["image_entrypoints"] = string.Empty,
                ["image_mode"] = "auto",
                ["insecure_registries"] = string.Empty,
                ["registry_ca_file"] = string.Empty,
                ["registry_timeout"] = "30",
                ["pod_pids_limit"] = "4096",
                ["pod_network"] = "isolated",
            },
        };
}
