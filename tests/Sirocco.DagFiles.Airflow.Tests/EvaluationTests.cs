using Sirocco.Kubernetes;
using Sirocco.Variables;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>The statement and value semantics of the subset, checked through the DAGs they build.</summary>
public sealed class EvaluationTests
{
    private const string Head = "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        + "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\nimport datetime\n";

    private static KubernetesPodOperator Pod(string body, string taskId = "t")
    {
        var dag = Support.One(Head + body);
        return Assert.IsType<KubernetesPodOperator>(dag.GetTask(taskId));
    }

    [Fact]
    public void Strings_of_every_form_and_implicit_concatenation()
    {
        var op = Pod("with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', arguments=[\n"
            + "        'a' \"b\" '''c''' \"\"\"d\"\"\",  # comment\n"
            + "        r'\\n', '\\t\\x41\\u00e9',\n"
            + "        f'{1 + 1:03d}|{\"x\"!r}|{3.14159:.2f}|{{}}', 'line \\\n"
            + "continued',\n    ])\n");
        Assert.Equal(["abcd", "\\n", "\tAé", "002|'x'|3.14|{}", "line continued"], op.Arguments);
    }

    [Fact]
    public void Assignments_unpacking_augmented_and_mutation()
    {
        var op = Pod("a, (b, c), *rest = 1, (2, 3), 4, 5\nn = 10\nn += a\nn *= 2\nitems = []\nitems.append('x')\nitems += ['y']\n"
            + "items.extend(['z'])\nd = {'k': 1}\nd['j'] = 2\nd.update(m=3)\nd.setdefault('k', 99)\ns = 'v'\ns += str(len(d))\n"
            + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', arguments=[str(a + b + c), str(rest), str(n), ','.join(items), s, str(sorted(d))])\n");
        Assert.Equal(["6", "[4, 5]", "22", "x,y,z", "v3", "['j', 'k', 'm']"], op.Arguments);
    }

    [Fact]
    public void Loops_if_else_comprehensions_and_helpers()
    {
        var dag = Support.One(Head + "def task_name(prefix, i, sep='_'):\n    '''Docstring.'''\n    if i % 2 == 0:\n        return f'{prefix}{sep}even{i}'\n    return f'{prefix}{sep}odd{i}'\n"
            + "with DAG('d') as dag:\n    prev = None\n    for i in range(4):\n        if i == 3:\n            break\n        t = EmptyOperator(task_id=task_name('t', i))\n        if prev is not None:\n            prev >> t\n        prev = t\n    else:\n        EmptyOperator(task_id='not_reached')\n"
            + "    extra = {n: EmptyOperator(task_id=n) for n in ['x', 'y'] if n != 'z'}\n    [extra['x'], extra['y']] >> prev\n");
        Assert.Equal(["t_even0", "t_odd1", "t_even2", "x", "y"], dag.Tasks.Select(t => t.TaskId));
        Assert.Equal(["t_odd1", "x", "y"], dag.GetTask("t_even2").UpstreamTaskIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Shift_operators_return_their_right_side_and_lists_fan_out_and_in()
    {
        var dag = Support.One(Head + "with DAG('d'):\n    a, b, c, d, e = [EmptyOperator(task_id=x) for x in 'abcde']\n    x = a >> [b, c]\n    x >> d\n    e << d\n    b.set_downstream(e)\n");
        Assert.Equal(["b", "c"], dag.GetTask("a").DownstreamTaskIds.Order(StringComparer.Ordinal));
        Assert.Equal(["b", "c"], dag.GetTask("d").UpstreamTaskIds.Order(StringComparer.Ordinal));
        Assert.Equal(["b", "d"], dag.GetTask("e").UpstreamTaskIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Default_args_apply_as_in_Airflow_explicit_arguments_win()
    {
        var dag = Support.One(Head + "args = {'owner': 'team', 'retries': 2, 'retry_delay': datetime.timedelta(minutes=3), 'namespace': 'ns', 'image': 'img', "
            + "'start_date': datetime.datetime(2024, 5, 1), 'startup_timeout_seconds': 99, 'not_an_operator_argument': 1}\n"
            + "with DAG('d', default_args=args):\n    KubernetesPodOperator(task_id='t')\n    KubernetesPodOperator(task_id='u', image='own', retries=0, default_args={'namespace': 'task-ns', 'owner': 'me'})\n    EmptyOperator(task_id='e')\n");
        var t = (KubernetesPodOperator)dag.GetTask("t");
        Assert.Equal(("team", 2, TimeSpan.FromMinutes(3), "ns", "img", 99), (t.Owner, t.Retries, t.RetryDelay, t.Namespace, t.Image, t.StartupTimeoutSeconds));
        var u = (KubernetesPodOperator)dag.GetTask("u");
        Assert.Equal(("me", 0, "task-ns", "own"), (u.Owner, u.Retries, u.Namespace, u.Image));
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 0, 0, 0, TimeSpan.Zero), dag.StartDate);
        Assert.Equal(2, dag.GetTask("e").Retries);
    }

    [Fact]
    public void Schedules_dates_and_dag_arguments()
    {
        var r = Support.Parse(Head + "import pendulum\nfrom airflow.utils.dates import days_ago\n"
            + "a = DAG('cron', schedule_interval='*/5 * * * *', start_date=pendulum.datetime(2024, 1, 2, 3, tz='UTC'))\n"
            + "b = DAG('preset', schedule='@daily', catchup=True, tags=['x'], params={'p': [1, 2]}, max_active_runs=2, dagrun_timeout=datetime.timedelta(hours=1))\n"
            + "c = DAG('none', schedule=None, start_date=days_ago(2))\n"
            + "d = DAG('delta', schedule=datetime.timedelta(minutes=30), start_date=datetime.datetime(2024, 1, 1) + datetime.timedelta(days=1, hours=2))\n"
            + "unused = [DAG('not_registered')]\n");
        Assert.Empty(r.Errors);
        var dags = r.Dags.ToDictionary(d => d.DagId);
        Assert.Equal(["cron", "preset", "none", "delta"], r.Dags.Select(d => d.DagId));
        Assert.Equal("*/5 * * * *", dags["cron"].Schedule.Description);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 0, 0, TimeSpan.Zero), dags["cron"].StartDate);
        Assert.Equal("@daily", dags["preset"].Schedule.Description);
        Assert.True(dags["preset"].Catchup);
        Assert.Equal(["x"], dags["preset"].Tags);
        Assert.Equal(new List<object?> { 1L, 2L }, dags["preset"].Params["p"]);
        Assert.Equal(TimeSpan.FromHours(1), dags["preset"].DagrunTimeout);
        Assert.Same(Scheduling.Schedule.None, dags["none"].Schedule);
        Assert.Equal(DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(-2), dags["none"].StartDate!.Value.UtcDateTime);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 2, 0, 0, TimeSpan.Zero), dags["delta"].StartDate);
        Assert.Equal(Scheduling.Schedule.Every(TimeSpan.FromMinutes(30)).Description, dags["delta"].Schedule.Description);
    }

    private sealed class Store : IVariableStore
    {
        public Variable? GetVariable(string key) => key == "cfg" ? new Variable(key, "{\"image\": \"from-store\", \"n\": 3}") : null;

        public IReadOnlyList<Variable> ListVariables() => [];

        public void SetVariable(Variable variable)
        {
        }

        public bool DeleteVariable(string key) => false;
    }

    [Fact]
    public void Variables_at_parse_time_come_from_the_environment_then_the_store()
    {
        var parser = new AirflowDagFileParser(new AirflowDagFileParserOptions
        {
            Environment = new Dictionary<string, string> { ["AIRFLOW_VAR_TAG"] = "v9" },
            Variables = new Store(),
        });
        var r = parser.Parse("/dags/v.py", Head + "from airflow.models import Variable\ncfg = Variable.get('cfg', deserialize_json=True)\n"
            + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image=cfg['image'] + ':' + Variable.get('tag'), arguments=[str(cfg['n']), str(Variable.get('nope', default_var=None))])\n",
            null, TimeSpan.FromSeconds(5), CancellationToken.None);
        var op = (KubernetesPodOperator)Assert.Single(r.Dags).GetTask("t");
        Assert.Equal("from-store:v9", op.Image);
        Assert.Equal(["3", "None"], op.Arguments);
    }

    [Fact]
    public void Composers_deferrable_parameters_are_accepted_and_python_hooks_say_why_not()
    {
        var op = Pod("with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', deferrable=True, poll_interval=5, logging_interval=30, "
            + "trigger_kwargs={'x': 1}, container_name_log_prefix_enabled=False, log_formatter=None, progress_callback=None, callbacks=None)\n");
        Assert.True(op.Deferrable);
        Assert.Equal(5.0, op.PollInterval);
        Assert.Equal(30, op.LoggingInterval);
        Assert.Equal(1L, op.TriggerKwargs!["x"]);
        Assert.False(op.ContainerNameLogPrefixEnabled);
        Assert.Null(op.LogFormatter);

        var error = Support.Error(Head + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', callbacks={'on_pod_creation': None})\n");
        Assert.Contains("callbacks must be a KubernetesPodOperatorCallback subclass defined in the file, or a list of them, not dict", error.Message, StringComparison.Ordinal);
        error = Support.Error(Head + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', log_formatter='[{}] {}')\n");
        Assert.Contains("log_formatter must be a function or a lambda of the file, not", error.Message, StringComparison.Ordinal);
    }

    private const string CallbackClasses = """"
        from kubernetes.client import models as k8s
        from airflow.providers.cncf.kubernetes.callbacks import ExecutionMode, KubernetesPodOperatorCallback as Base

        TEAM = {"name": "data-eng"}

        def describe(pod):
            return f"{pod.metadata.name} {TEAM['name']}"

        class Audit(Base):
            """Reports the pod's life."""
            kind = "audit"

            @staticmethod
            def on_pod_creation(*, pod: k8s.V1Pod, client, mode, **kwargs) -> None:
                if mode == ExecutionMode.SYNC:
                    print("created", describe(pod))

            @staticmethod
            def progress_callback(*, line, client, mode, container_name, timestamp, **kwargs):
                return 1 // (len(line) - 4) + len(container_name) + timestamp.year

        class Cleanup(Audit):
            @staticmethod
            def on_pod_cleanup(*, pod, **kwargs):
                try:
                    print("cleaned", pod.metadata.name)
                except AttributeError:
                    raise

            def helper(self):
                pass

        """";

    [Fact]
    public void Callback_classes_are_shipped_with_what_they_use_and_their_progress_callback_runs_per_line()
    {
        var op = Pod(CallbackClasses + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', callbacks=[Audit, Cleanup])\n");

        var callbacks = op.Callbacks.Cast<PythonPodCallback>().ToList();
        Assert.Equal(["Audit", "Cleanup"], callbacks.Select(c => c.ClassName));
        Assert.Equal(["on_pod_creation"], callbacks[0].Methods);
        Assert.Equal(["on_pod_cleanup", "on_pod_creation"], callbacks[1].Methods.Order(StringComparer.Ordinal));
        var source = callbacks[1].Source;
        Assert.Contains(PythonPodCallback.StandIn("KubernetesPodOperatorCallback", "Base")!, source, StringComparison.Ordinal);
        Assert.Contains("class ExecutionMode:\n    SYNC = \"sync\"\n", source, StringComparison.Ordinal);
        Assert.True(source.IndexOf("class Base:", StringComparison.Ordinal) < source.IndexOf("class Audit(Base):", StringComparison.Ordinal));
        Assert.Contains("try:\n    from kubernetes.client import models as k8s\nexcept ImportError:\n    k8s = None\n", source, StringComparison.Ordinal);
        Assert.Contains("TEAM = _sirocco_json.loads(", source, StringComparison.Ordinal);
        Assert.Contains("def describe(pod):", source, StringComparison.Ordinal);
        Assert.True(source.IndexOf("class Audit(Base):", StringComparison.Ordinal) < source.IndexOf("class Cleanup(Audit):", StringComparison.Ordinal));
        Assert.EndsWith("    def helper(self):\n        pass\n", source, StringComparison.Ordinal);

        callbacks[0].OnProgress("hello", "base", DateTimeOffset.UtcNow); // 1 // 1
        var e = Assert.Throws<SiroccoException>(() => callbacks[1].OnProgress("four", "base", DateTimeOffset.UtcNow));
        Assert.Contains("Cleanup.progress_callback of task 't'", e.Message, StringComparison.Ordinal);
        Assert.Contains("division or modulo by zero", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_class_inside_a_task_function_is_left_to_python_with_the_whole_function()
    {
        var dag = Support.One(Head + "import json\nfrom airflow.operators.python import PythonOperator\n"
            + "def work():\n    class Row:\n        def dump(self):\n            raise ValueError(json.dumps({'a': 1}))\n    return Row().dump()\n"
            + "with DAG('d'):\n    PythonOperator(task_id='w', python_callable=work)\n");
        var op = Assert.IsType<PythonPodOperator>(dag.GetTask("w"));
        Assert.StartsWith("import json\n", op.PythonSource, StringComparison.Ordinal); // read inside the class: shipped
        Assert.Contains("    class Row:\n", op.PythonSource, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("class Plain:\n    pass\n", "callbacks=Plain", "callbacks: class Plain is not a subclass of KubernetesPodOperatorCallback")]
    [InlineData("", "callbacks=[print]", "callbacks: builtin_function_or_method is not a subclass")]
    [InlineData("class Slow(KubernetesPodOperatorCallback):\n    @staticmethod\n    def progress_callback(*, line, **kwargs):\n        while True:\n            pass\n", "callbacks=Slow",
        "callbacks: Slow.progress_callback runs on each log line on the file's reader, which cannot run it (while loops are not supported")]
    [InlineData("class Cm(KubernetesPodOperatorCallback):\n    @classmethod\n    def progress_callback(cls, *, line, **kwargs):\n        pass\n", "callbacks=Cm", "Cm.progress_callback must be a @staticmethod")]
    public void Callback_classes_that_cannot_work_are_import_errors_naming_why(string classes, string keyword, string expected)
    {
        var error = Support.Error(Head + "from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback\n" + classes
            + $"with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', {keyword})\n");
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_formatter_and_progress_callback_functions_run_on_the_file_s_evaluator_per_line()
    {
        var op = Pod("seen = []\n"
            + "def note(line):\n    seen.append(line)\n    return 1 // (len(line) - 4)\n"
            + "with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', "
            + "log_formatter=lambda container, message: f'{container.upper()} | {message[::-1]}', progress_callback=note)\n");
        Assert.Equal("BASE | olleh", op.LogFormatter!("base", "hello"));
        op.ProgressCallback!("one");
        var e = Assert.Throws<SiroccoException>(() => op.ProgressCallback!("boom"));
        Assert.Contains("progress_callback of task 't'", e.Message, StringComparison.Ordinal);
        Assert.Contains("by zero", e.Message, StringComparison.Ordinal); // "boom" has 4 characters

        var wrong = Pod("with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', log_formatter=lambda c, m: len(m))\n");
        Assert.Contains("must return a str", Assert.Throws<SiroccoException>(() => wrong.LogFormatter!("base", "x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Airflow_3_dags_from_the_sdk_have_no_schedule_and_no_catchup_unless_given()
    {
        var plain = Support.One("from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
            + "with DAG('af3', start_date=None):\n    EmptyOperator(task_id='a')\n");
        Assert.Equal(Sirocco.Scheduling.Schedule.None, plain.Schedule);
        Assert.False(plain.Catchup);
        var given = Support.One("from airflow.sdk import DAG\nimport datetime\n"
            + "with DAG('af3b', schedule='@daily', catchup=True, start_date=datetime.datetime(2024, 1, 1)):\n    pass\n");
        Assert.NotEqual(Sirocco.Scheduling.Schedule.None, given.Schedule);
        Assert.True(given.Catchup);
        var airflow2 = Support.One(Head + "with DAG('af2', start_date=datetime.datetime(2024, 1, 1)):\n    EmptyOperator(task_id='a')\n");
        Assert.NotEqual(Sirocco.Scheduling.Schedule.None, airflow2.Schedule);
        Assert.Null(airflow2.Catchup);
    }

    [Fact]
    public void Params_carry_their_json_schema_and_a_bad_default_is_an_import_error()
    {
        var dag = Support.One("from airflow import DAG\nfrom airflow.models.param import Param\n"
            + "with DAG('p', schedule=None, params={'n': Param(3, type='integer', minimum=1), 'env': Param('dev', enum=['dev', 'prod']), 'plain': 'x', 'needed': Param(type='string')}):\n    pass\n");
        Assert.Equal(3L, dag.Params["n"]);
        Assert.Equal("x", dag.Params["plain"]);
        Assert.False(dag.Params.ContainsKey("needed"));
        Assert.Equal("""{"type":"integer","minimum":1}""", dag.ParamSchemas["n"].ToJsonString());
        ParamValidation.Validate(dag, new System.Text.Json.Nodes.JsonObject { ["needed"] = "yes", ["env"] = "prod" });
        var bad = Assert.Throws<SiroccoException>(() => ParamValidation.Validate(dag, new System.Text.Json.Nodes.JsonObject { ["n"] = 0, ["env"] = "staging" }));
        Assert.Contains("param 'env': \"staging\" is invalid", bad.Message, StringComparison.Ordinal);
        Assert.Contains("param 'n': 0 is invalid", bad.Message, StringComparison.Ordinal);
        Assert.Contains("param 'needed': no value passed and it has no default", bad.Message, StringComparison.Ordinal);

        var error = Support.Error("from airflow import DAG\nfrom airflow.models.param import Param\nwith DAG('p', schedule=None, params={'n': Param(0, type='integer', minimum=1)}):\n    pass\n");
        Assert.Contains("Invalid params for DAG p: param 'n': 0 is invalid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tasks_made_in_a_task_group_know_their_group()
    {
        var dag = Support.One(Head + "from airflow.utils.task_group import TaskGroup\nwith DAG('g', schedule=None):\n"
            + "    with TaskGroup('outer'):\n        EmptyOperator(task_id='a')\n        with TaskGroup('inner'):\n            EmptyOperator(task_id='b')\n    EmptyOperator(task_id='c')\n");
        Assert.Equal("outer", dag.GetTask("outer.a").TaskGroupId);
        Assert.Equal("outer.inner", dag.GetTask("outer.inner.b").TaskGroupId);
        Assert.Null(dag.GetTask("c").TaskGroupId);
    }

    [Fact]
    public void Weight_rules_come_from_the_operator_default_args_and_airflows_enum()
    {
        var dag = Support.One(Head + "from airflow.utils.weight_rule import WeightRule\n"
            + "with DAG('d', default_args={'weight_rule': 'upstream'}):\n"
            + "    EmptyOperator(task_id='a')\n    EmptyOperator(task_id='b', weight_rule='absolute')\n    EmptyOperator(task_id='c', weight_rule=WeightRule.DOWNSTREAM)\n");
        Assert.Equal([WeightRule.Upstream, WeightRule.Absolute, WeightRule.Downstream], new[] { "a", "b", "c" }.Select(t => dag.GetTask(t).WeightRule));
        var error = Support.Error(Head + "with DAG('d'):\n    EmptyOperator(task_id='a', weight_rule='sideways')\n");
        Assert.Contains("unknown weight_rule 'sideways'; valid rules: downstream, upstream, absolute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provider_aliases_and_special_forms_map_onto_the_operator()
    {
        var op = Pod("with DAG('d'):\n    KubernetesPodOperator(task_id='t', image='i', is_delete_operator_pod=False, image_pull_secrets='a,b', skip_on_exit_code=100, "
            + "container_logs=True, node_selectors={'k': 'v'}, schedulername='custom', on_finish_action='delete_succeeded_pod' if False else 'keep_pod', "
            + "email_on_failure=True, trigger_rule='all_done', execution_timeout=datetime.timedelta(minutes=5), pod_template_dict={'spec': {'hostNetwork': True}})\n");
        Assert.Equal(OnFinishAction.KeepPod, op.OnFinishAction);
        Assert.Equal(["a", "b"], op.ImagePullSecrets.Select(s => s.Name));
        Assert.Equal([100], op.SkipOnExitCode);
        Assert.Equal(["*"], op.ContainerLogs);
        Assert.Equal("v", op.NodeSelector["k"]);
        Assert.Equal("custom", op.SchedulerName);
        Assert.Equal(TriggerRule.AllDone, op.TriggerRule);
        Assert.Equal(TimeSpan.FromMinutes(5), op.ExecutionTimeout);
        Assert.NotNull(op.PodTemplateDict);
    }

    [Fact]
    public void GKEStartPodOperator_takes_the_cluster_coordinates_and_every_pod_keyword()
    {
        var dag = Support.One("from airflow import DAG\nfrom airflow.providers.google.cloud.operators.kubernetes_engine import GKEStartPodOperator\n"
            + "with DAG('g'):\n    GKEStartPodOperator(task_id='g', project_id='p', location='europe-west1', cluster_name='c', use_internal_ip=True, "
            + "gcp_conn_id='gcp', impersonation_chain='sa@p.iam.gserviceaccount.com', image='perl', cmds=['perl'], dnspolicy='ClusterFirst')\n");
        var op = Assert.IsType<GKEStartPodOperator>(dag.GetTask("g"));
        Assert.Equal(("p", "europe-west1", "c", true, "gcp", "sa@p.iam.gserviceaccount.com"), (op.ProjectId, op.Location, op.ClusterName, op.UseInternalIp, op.GcpConnId, op.ImpersonationChain));
        Assert.Equal(("perl", "ClusterFirst"), (op.Image, op.DnsPolicy));
    }

    [Fact]
    public void Params_keep_their_default_values()
    {
        var dag = Support.One("from airflow import DAG\nfrom airflow.models.param import Param\nd = DAG('p', params={'n': Param(5, type='integer'), 's': Param('x'), 'plain': [1]})\n");
        Assert.Equal(5L, dag.Params["n"]);
        Assert.Equal("x", dag.Params["s"]);
        Assert.Equal(new List<object?> { 1L }, dag.Params["plain"]);
    }

    [Fact]
    public void Syntax_trees_are_cached_by_content_hash_but_each_parse_builds_new_dags()
    {
        var parser = Support.NewParser();
        var text = Head + "with DAG('d'):\n    EmptyOperator(task_id='t')\n";
        var first = parser.Parse("/dags/a.py", text, "hash-1", TimeSpan.FromSeconds(5), CancellationToken.None);
        var second = parser.Parse("/dags/a.py", text, "hash-1", TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotSame(Assert.Single(first.Dags), Assert.Single(second.Dags));
        Assert.Equal("t", Assert.Single(second.Dags[0].Tasks).TaskId);
    }
}
