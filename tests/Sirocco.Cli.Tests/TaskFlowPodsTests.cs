using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>
/// A TaskFlow DAG file (@dag, @task, @task.kubernetes, PythonOperator, a mapped @task) run unchanged by
/// <c>sirocco dags test</c>: each function runs in a pod of the local cluster (the host's python3), never in the scheduler.
/// </summary>
public sealed class TaskFlowPodsTests : IDisposable
{
    private const string DagFile = """
        import json
        from datetime import datetime
        from airflow.decorators import dag, task
        from airflow.operators.python import PythonOperator, ShortCircuitOperator

        FACTOR = 3
        LABELS = {"a": "alpha"}

        def scale(x):
            return x * FACTOR

        @dag(schedule=None, start_date=datetime(2024, 1, 1), params={"who": "composer"})
        def taskflow():
            @task
            def extract(ds=None):
                return {"day": ds, "rows": [1, 2, 3]}

            @task.kubernetes(image="python:3.12-slim")
            def transform(data: dict, params=None):
                import math
                return {"total": sum(scale(r) for r in data["rows"]), "who": params["who"], "root": math.isqrt(16)}

            @task(task_id="load_it")
            def load(result, **context):
                print("loading", json.dumps(result, sort_keys=True), LABELS["a"], context["run_id"])
                return result["total"]

            @task
            def square(x, offset):
                return x * x + offset

            total = load(transform(extract()))
            PythonOperator(task_id="report", python_callable=lambda total, note: f"{note}:{total}", op_kwargs={"total": total, "note": "{{ ds_nodash }}"})
            squares = square.partial(offset=1).expand(x=[1, 2, 3])
            PythonOperator(task_id="sum_squares", python_callable=lambda values: sum(values), op_args=[squares])

            @task.branch
            def choose(total):
                return "big" if total > 10 else "small"

            @task
            def big():
                return "big"

            @task
            def small():
                return "small"

            @task(trigger_rule="none_failed_min_one_success")
            def joined():
                return "joined"

            choose(total) >> [big(), small()] >> joined()
            ShortCircuitOperator(task_id="cond", python_callable=lambda: []) >> PythonOperator(task_id="after_cond", python_callable=lambda: 1)

            def notify(context):
                print("ALERT", context["reason"], context["task_id"], bool(context["exception"]))

            @task(on_failure_callback=notify)
            def fails():
                raise ValueError("boom")

            @task(trigger_rule="all_done", on_success_callback=[notify])
            def cleanup():
                return "clean"

            fails() >> cleanup()

            def pulls(**context):
                ti = context["ti"]
                return [ti.xcom_pull(task_ids="load_it"), ti.xcom_pull(task_ids=["extract"])[0]["rows"], ti.task_id]

            PythonOperator(task_id="pulls", python_callable=pulls) << total

            @task
            def dollars(text):
                # Shell and SQL text keeps its dollars: nothing expands $(VAR) or $$ on the way into the pod.
                return text + " $$ $(HOSTNAME)"

            dollars("cost: $$5")

        taskflow()
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-taskflow-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Dags_test_runs_every_python_function_in_a_pod_with_arguments_context_and_results_through_xcom()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "taskflow.py"), DagFile);

        var (code, output) = await SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, "dags", "test", "taskflow", "2024-01-02");
        Assert.True(code == 0, output);
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: {\"day\": \"2024-01-02\", \"rows\": [1, 2, 3]}");
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: {\"total\": 18, \"who\": \"composer\", \"root\": 4}");
        SiroccoProcess.AssertLogged(output, "loading {\"root\": 4, \"total\": 18, \"who\": \"composer\"} alpha manual__2024-01-02T00:00:00+00:00");
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: \"20240102:18\"");
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: 17"); // (1+1) + (4+1) + (9+1)
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: [18, [1, 2, 3], \"pulls\"]"); // ti.xcom_pull of upstream results
        SiroccoProcess.AssertLogged(output, "Pushed XCom return_value: \"cost: $$5 $$ $(HOSTNAME)\"");
        SiroccoProcess.AssertLogged(output, "_KubernetesDecoratedOperator taskflow.transform");
        SiroccoProcess.AssertLogged(output, "Condition result is falsy: skipping after_cond");
        SiroccoProcess.AssertLogged(output, "ALERT on_failure_callback fails True");
        SiroccoProcess.AssertLogged(output, "ALERT on_success_callback cleanup False");
        foreach (var line in new[]
        {
            "extract: success", "transform: success", "load_it: success", "report: success", "square[0]: success", "square[2]: success", "sum_squares: success",
            "choose: success", "big: success", "small: skipped", "joined: success", "cond: success", "after_cond: skipped", "fails: failed", "cleanup: success", "finished: success",
        })
        {
            SiroccoProcess.AssertLogged(output, line);
        }
    }
}
