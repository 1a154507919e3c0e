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

    [Fact]
    public void Dag_level_callbacks_become_pods_named_after_the_dag_on_the_default_connection()
    {
        var dag = Support.One("""
            from datetime import datetime
            from airflow import DAG
            from airflow.decorators import dag as dag_decorator
            from airflow.operators.empty import EmptyOperator

            LEVEL = "page"

            def alert(context):
                print("ALERT", LEVEL, context["reason"], context["dag_id"], context["run_id"])

            def audit(context):
                print("AUDIT", context["task_id"])

            with DAG("cb", schedule=None, start_date=datetime(2024, 1, 1), on_failure_callback=[alert, audit],
                     on_success_callback=lambda context: print("OK", context["reason"]), sla_miss_callback=alert):
                EmptyOperator(task_id="t")
            """);
        var failure = dag.DagCallbacks["on_failure_callback"].Cast<Kubernetes.PythonPodOperator>().ToList();
        Assert.Equal(["cb__on_failure_callback", "cb__on_failure_callback1"], failure.Select(c => c.TaskId));
        Assert.Equal(["alert", "audit"], failure.Select(c => c.FunctionName));
        Assert.All(failure, c => Assert.Equal(("kubernetes_default", true), (c.KubernetesConnId, c.CallWithContext)));
        Assert.Contains("LEVEL = ", failure[0].PythonSource, StringComparison.Ordinal); // the constant it uses travels with it
        Assert.Single(dag.DagCallbacks["on_success_callback"]);
        Assert.False(dag.DagCallbacks.ContainsKey("sla_miss_callback"));
        Assert.Empty(dag.Tasks.Single().TaskCallbacks);
    }

    [Fact]
    public void A_dag_callback_that_is_not_a_function_of_the_file_is_an_import_error_at_its_keyword()
    {
        var error = Support.Error("from airflow import DAG\nd = DAG('x', on_failure_callback='alert')\n");
        Assert.Contains("on_failure_callback must be a function defined in the file, a notifier (send_smtp_notification) or a list of them, not", error.Message, StringComparison.Ordinal);
        Assert.Contains(":2:14:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Smtp_notifiers_are_native_callbacks_with_their_keywords_and_refuse_what_they_cannot_do()
    {
        var dag = Support.One("""
            from datetime import datetime
            from airflow import DAG
            from airflow.operators.empty import EmptyOperator
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier, send_smtp_notification

            def page(context):
                print("page")

            mail = send_smtp_notification(from_email="a@example.com", to=["x@example.com", "y@example.com"], subject="{{ ti.task_id }}",
                                          cc="c@example.com", custom_headers={"X-A": "1"}, smtp_conn_id="smtp_ops")
            with DAG("n", schedule=None, start_date=datetime(2024, 1, 1), on_success_callback=SmtpNotifier(None, "owner@example.com")):
                EmptyOperator(task_id="t", on_failure_callback=[page, mail], on_retry_callback=mail)
            """);
        var failure = dag.Tasks.Single().TaskCallbacks["on_failure_callback"];
        Assert.IsType<Kubernetes.PythonPodOperator>(failure[0]);
        var notifier = Assert.IsType<SmtpNotifier>(failure[1]);
        Assert.Equal("t__on_failure_callback1", notifier.TaskId);
        Assert.Equal(("a@example.com", "{{ ti.task_id }}", "smtp_ops"), (notifier.FromEmail, notifier.Subject, notifier.SmtpConnId));
        Assert.Equal(["x@example.com", "y@example.com"], notifier.To);
        Assert.Equal(["c@example.com"], notifier.Cc);
        Assert.Equal("1", notifier.CustomHeaders["X-A"]);
        Assert.Equal("t__on_retry_callback", Assert.IsType<SmtpNotifier>(Assert.Single(dag.Tasks.Single().TaskCallbacks["on_retry_callback"])).TaskId);
        var owner = Assert.IsType<SmtpNotifier>(Assert.Single(dag.DagCallbacks["on_success_callback"]));
        Assert.Equal((null, "owner@example.com", SmtpNotifier.DefaultSubject), (owner.FromEmail, owner.To.Single(), owner.Subject));
    }

    [Theory]
    [InlineData("send_smtp_notification(to='a@example.com', template='mail.html')", "template (a file rendered as the body) is not supported")]
    [InlineData("send_smtp_notification(to='a@example.com', auth_type='oauth2')", "auth_type: only 'basic'")]
    [InlineData("send_smtp_notification(from_email='a@example.com')", "SmtpNotifier() needs to")]
    [InlineData("send_smtp_notification(to=3)", "to must be a list of str, not int")]
    [InlineData("send_smtp_notification(to='a@example.com', custom_headers={'X': 1})", "custom_headers must be a dict of str to str")]
    public void Smtp_notifier_keywords_are_checked(string call, string fragment)
    {
        var error = Support.Error("from airflow import DAG\nfrom airflow.providers.smtp.notifications.smtp import send_smtp_notification\nn = " + call + "\n");
        Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public void Slack_webhook_notifiers_keep_their_blocks_as_json_and_check_their_keywords()
    {
        var dag = Support.One("""
            from datetime import datetime
            from airflow import DAG
            from airflow.operators.empty import EmptyOperator
            from airflow.providers.slack.notifications.slack_webhook import send_slack_webhook_notification

            with DAG("s", schedule=None, start_date=datetime(2024, 1, 1),
                     on_failure_callback=send_slack_webhook_notification(slack_webhook_conn_id="ops", text="{{ dag.dag_id }} failed",
                                                                         blocks=[{"type": "divider"}], timeout=5)):
                EmptyOperator(task_id="t")
            """);
        var n = Assert.IsType<SlackWebhookNotifier>(Assert.Single(dag.DagCallbacks["on_failure_callback"]));
        Assert.Equal(("s__on_failure_callback", "ops", "{{ dag.dag_id }} failed", 5), (n.TaskId, n.SlackWebhookConnId, n.Text, n.Timeout));
        Assert.Equal("""[{"type":"divider"}]""", n.Blocks);

        var error = Support.Error("from airflow import DAG\nfrom airflow.providers.slack.notifications.slack_webhook import send_slack_webhook_notification\nn = send_slack_webhook_notification(text='x', proxy='http://p')\n");
        Assert.Contains("proxy is not supported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dict_return_annotation_infers_multiple_outputs_unless_the_decorator_says_otherwise()
    {
        var dag = Support.One("""
            import typing
            from datetime import datetime
            from typing import Dict
            from airflow import DAG
            from airflow.decorators import task

            with DAG("ann", schedule=None, start_date=datetime(2024, 1, 1)):
                @task
                def plain() -> dict:
                    return {}

                @task
                def generic() -> Dict[str, int]:
                    return {}

                @task
                def qualified() -> typing.Dict:
                    return {}

                @task
                def text() -> "dict[str, str]":
                    return {}

                @task(multiple_outputs=False)
                def refused() -> dict:
                    return {}

                @task
                def listing() -> list:
                    return []

                @task
                def bare():
                    return {}

                for f in [plain, generic, qualified, text, refused, listing, bare]:
                    f()
            """);
        var inferred = dag.Tasks.Cast<Kubernetes.PythonPodOperator>().Where(t => t.MultipleOutputs).Select(t => t.TaskId).Order(StringComparer.Ordinal);
        Assert.Equal(["generic", "plain", "qualified", "text"], inferred);
    }
}
