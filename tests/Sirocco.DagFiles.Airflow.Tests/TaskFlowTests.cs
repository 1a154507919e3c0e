using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>TaskFlow and PythonOperator as the reader builds them: one pod task per call, the function shipped with what it uses.</summary>
public sealed class TaskFlowTests
{
    [Fact]
    public void A_task_function_is_shipped_with_its_helpers_imports_and_json_constants_and_calls_link_the_tasks()
    {
        var dag = Support.One("""
            import json
            from datetime import datetime
            from airflow.decorators import dag, task

            FACTOR = 3
            NAMES = ["a", "b"]
            double = lambda v: v * 2

            def scale(x):
                return double(x) * FACTOR

            @dag(schedule=None, start_date=datetime(2024, 1, 1))
            def flow():
                @task(retries=2)
                def make():
                    return [1, 2]

                @task.kubernetes(image="python:3.11", namespace="etl")
                def use(values, label="x"):
                    return json.dumps([scale(v) for v in values] + NAMES + [label])

                use(make(), label="{{ ds }}")
                use(make())

            flow()
            """);
        Assert.Equal("flow", dag.DagId);
        Assert.Equal(["make", "use", "make__1", "use__1"], dag.Tasks.Select(t => t.TaskId));
        Assert.Equal(["make"], dag.GetTask("use").UpstreamTaskIds);
        var use = Assert.IsType<PythonPodOperator>(dag.GetTask("use"));
        Assert.Equal(("python:3.11", "etl", "_KubernetesDecoratedOperator", "use"), (use.Image, use.Namespace, use.OperatorName, use.FunctionName));
        Assert.Equal(2, dag.GetTask("make").Retries);
        Assert.Contains("import json\n", use.PythonSource, StringComparison.Ordinal);
        Assert.Contains("double = (lambda v: v * 2)\n", use.PythonSource, StringComparison.Ordinal);
        Assert.Contains("FACTOR = _sirocco_json.loads(\"3\")\n", use.PythonSource, StringComparison.Ordinal);
        Assert.Contains("NAMES = _sirocco_json.loads(\"[\\u0022a\\u0022,\\u0022b\\u0022]\")\n", use.PythonSource, StringComparison.Ordinal);
        Assert.Contains("def scale(x):\n    return double(x) * FACTOR\n", use.PythonSource, StringComparison.Ordinal);
        Assert.EndsWith("def use(values, label=\"x\"):\n    return json.dumps([scale(v) for v in values] + NAMES + [label])\n", use.PythonSource, StringComparison.Ordinal);
        Assert.True(use.PythonSource.IndexOf("def scale", StringComparison.Ordinal) > use.PythonSource.IndexOf("double = ", StringComparison.Ordinal)); // helpers before use
        var placeholder = Assert.IsType<Dictionary<string, object?>>(Assert.Single(use.OpArgs));
        Assert.Equal("make", placeholder[PythonPodOperator.XComPlaceholder]);
        Assert.Equal("{{ ds }}", use.OpKwargs["label"]);
    }

    [Fact]
    public void A_function_body_outside_the_subset_still_ships_to_its_pod_but_cannot_run_while_the_file_is_read()
    {
        var dag = Support.One("""
            import time
            from datetime import datetime
            from airflow import DAG
            from airflow.decorators import task

            RETRIES = 3

            def flaky():
                raise ValueError("not yet")

            with DAG("opaque", schedule=None, start_date=datetime(2024, 1, 1)):
                @task
                def poll():
                    attempt = 0
                    while True:
                        try:
                            return flaky()
                        except ValueError:
                            attempt += 1
                            if attempt >= RETRIES:
                                raise
                            time.sleep(1)

                poll()
            """);
        var poll = Assert.IsType<PythonPodOperator>(dag.GetTask("poll"));
        Assert.Contains("import time\n", poll.PythonSource, StringComparison.Ordinal);
        Assert.Contains("RETRIES = _sirocco_json.loads(\"3\")\n", poll.PythonSource, StringComparison.Ordinal);
        Assert.StartsWith("def flaky():\n    raise ValueError(\"not yet\")\n", poll.PythonSource, StringComparison.Ordinal);
        Assert.Contains("    while True:\n", poll.PythonSource, StringComparison.Ordinal);

        var error = Support.Error("from airflow import DAG\ndef f():\n    raise ValueError('x')\n\nf()\n");
        Assert.Contains("f() cannot run while the DAG file is read (", error.Message, StringComparison.Ordinal);
        Assert.Contains("raise statements are not supported", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Unshippable() => new()
    {
        { "CONFIG = DAG('other', schedule=None)\n@task\ndef f():\n    return CONFIG\nf()\n", "task function 'f' uses 'CONFIG', a DAG, which cannot be shipped to the pod that runs it" },
        { "from airflow.models import Variable\n@task\ndef f():\n    return Variable.get('x')\nf()\n", "task function 'f' uses 'Variable' (from airflow.models import Variable), but the pod that runs it has no Airflow" },
        { "@task.virtualenv\ndef f():\n    return 'a'\n", "@task.virtualenv is not supported yet" },
        { "PythonOperator(task_id='p', python_callable='not a function')\n", "python_callable must be a function defined in the file" },
    };

    [Theory]
    [MemberData(nameof(Unshippable))]
    public void What_cannot_run_in_a_pod_is_an_import_error_naming_it(string body, string fragment)
    {
        var error = Support.Error("from datetime import datetime\nfrom airflow import DAG\nfrom airflow.decorators import task\nfrom airflow.operators.python import PythonOperator\n"
            + "with DAG('d', schedule=None, start_date=datetime(2024, 1, 1)):\n" + string.Join('\n', body.Split('\n').Select(l => l.Length == 0 ? l : "    " + l)) + "\n");
        Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal), error.Message);
    }
}
