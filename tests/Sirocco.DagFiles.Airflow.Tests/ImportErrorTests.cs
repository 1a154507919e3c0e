namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>Files outside the subset: one import error naming file:line:column and the construct, and no DAG.</summary>
public sealed class ImportErrorTests
{
    private const string Head = "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n";

    public static TheoryData<string, int, int, string> Cases() => new()
    {
        { "import subprocess\nsubprocess.run(['ls'])\n", 4, 12, "'import subprocess' is outside the DAG-file subset: it cannot be used while the file is read" },
        { "from os import system\n", 3, 16, "cannot import name 'system' from 'os'" },
        { "import os\nos.system('rm -rf /')\n", 4, 4, "os.system is not allowed" },
        { "x = open('/etc/passwd')\n", 3, 5, "open() is not allowed" },
        { "x = __import__('os')\n", 3, 5, "__import__() is not allowed" },
        { "x = exec('1')\n", 3, 5, "exec() is not allowed" },
        { "@decorate\nclass A:\n    pass\n", 4, 1, "decorated class definitions are not supported" },
        { "class A:\n    pass\nA()\n", 5, 1, "A(): objects of classes defined in the file cannot be made" },
        { "class A(metaclass=type):\n    pass\n", 3, 9, "keyword or unpacked arguments in a class statement" },
        { "while True:\n    pass\n", 3, 1, "while loops are not supported" },
        { "f = lambda x: x\ny = f()\n", 4, 5, "<lambda>() missing required argument: 'x'" },
        { "from airflow.decorators import task\n@task.docker\ndef f():\n    pass\n", 4, 7, "@task.docker is not supported yet" },
        { "x = 'abc'.__class__\n", 3, 11, "'__class__' is not allowed" },
        { "x = (1,\n", 3, 5, "'(' was never closed" },
        { "x = [1, 2)\n", 3, 10, "closing parenthesis ')' does not match opening parenthesis '['" },
        { "if True:\nx = 1\n", 4, 1, "expected an indented block" },
        { "x = 1\n  y = 2\n", 4, 3, "unexpected indent" },
        { "x = 'abc\n", 3, 5, "unterminated string literal" },
        { "x = b'abc'\n", 3, 5, "bytes literals are not supported" },
        { "x = 1 +\n", 3, 8, "invalid syntax" },
        { "t = EmptyOperator(task_id='t', colour='red')\n", 3, 32, "EmptyOperator.__init__() got an unexpected keyword argument 'colour'" },
        { "t = EmptyOperator('t')\n", 3, 5, "keyword arguments only" },
        { "d = DAG('x', schedule=1)\n", 3, 14, "schedule must be None, a cron or preset string, a timedelta or a list of datasets" },
        { "d = DAG('x', on_failure_callback=print)\n", 3, 14, "on_failure_callback must be a function defined in the file, a notifier" },
        { "d = DAG('bad id!')\n", 3, 5, "invalid dag_id 'bad id!'" },
        { "a = EmptyOperator(task_id='a')\nb = EmptyOperator(task_id='b')\n[a] >> [b]\n", 5, 5, "unsupported operand type(s) for >>: 'list' and 'list'" },
        { "from airflow.models.baseoperator import chain\na, b, c = [EmptyOperator(task_id=x) for x in 'abc']\nchain([a, b], [c])\n", 5, 1, "Chain not supported for different length Iterable. Got 2 and 1." },
        { "def f(n):\n    return f(n + 1)\nf(0)\n", 4, 12, "function calls nested more than" },
        { "for i in range(10):\n    for j in range(100000):\n        pass\n", 4, 5, "more than 1000000 steps" },
        { "x = range(10 ** 9)\n", 3, 5, "more than a DAG file may build" },
        { "keep = []\nfor i in range(100000):\n    keep.append('x' * 4000000)\n", 5, 21, "it builds too much data" },
        { "from airflow.models import Variable\nv = Variable.get('missing')\n", 4, 14, "Variable missing does not exist" },
        { "x = {}['k']\n", 3, 7, "KeyError: 'k'" },
        { "x = [1][5]\n", 3, 8, "list index out of range" },
        { "x = 1 / 0\n", 3, 7, "division by zero" },
        { "x = 'a' + 1\n", 3, 9, "can only concatenate str" },
        { "a, b = [1, 2, 3]\n", 3, 1, "too many values to unpack (expected 2)" },
        { "try:\n    import foo\nexcept ValueError:\n    pass\n", 5, 1, "only 'except ImportError' is supported" },
        { "with open('x') as f:\n    pass\n", 3, 6, "open() is not allowed" },
        { "from kubernetes.client import models as k8s\nv = k8s.V1LocalObjectReference('a', 'b')\n", 4, 9, "V1LocalObjectReference() takes at most 1 positional arguments (2 given)" },
        { "from kubernetes.client import models as k8s\nv = k8s.V1EnvVar('A', name='B')\n", 4, 23, "V1EnvVar() got multiple values for argument 'name'" },
        { "from kubernetes.client import models as k8s\nv = k8s.V1Volume(nmae='x')\n", 4, 18, "V1Volume() got an unexpected keyword argument 'nmae'" },
        { "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as K\nwith DAG('d'):\n    K(task_id='k', image='i', affinity={'node_affinity': {}})\n", 5, 31, "V1Affinity has no field 'node_affinity' (write the Kubernetes JSON name 'nodeAffinity' in a dict)" },
        { "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as K\nwith DAG('d'):\n    K(task_id='k', image='i', env_vars={'A': 1})\n", 5, 31, "env_vars must map str to str" },
        { "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as K\nwith DAG('d'):\n    K(task_id='k', startup_timeout_seconds='300')\n", 5, 20, "startup_timeout_seconds must be an int" },
        { "from airflow.kubernetes.secret import Secret\ns = Secret('file', '/x', 'name')\n", 4, 5, "deploy_type must be env or volume" },
        { "x = f'{1 +}'\n", 3, 11, "invalid syntax" },
        { "x = f'{}'\n", 3, 7, "f-string: empty expression not allowed" },
        { "x = []\nx.append(x)\ny = x == [x]\n", 5, 5, "nested more than 64 deep (or containing themselves)" },
        { "x = []\nfor i in range(5000):\n    x = [x]\ny = {x: 1} if False else sorted([x, x])\n", 6, 26, "nested more than 64 deep" },
        { "x = []\nx.append(x)\ny = str(x)\n", 5, 5, "maximum recursion depth" },
        { "from airflow.utils.task_group import TaskGroup\ng = TaskGroup('g')\n", 4, 5, "TaskGroup can only be used inside a DAG" },
        { "with DAG('d'):\n    with EmptyOperator(task_id='t'):\n        pass\n", 4, 10, "'with' is supported only for DAG(...) and TaskGroup(...)" },
        { "d = DAG('x', schedule='every day')\n", 3, 14, "every day" },
        { "import pendulum\nd = DAG('x', start_date=pendulum.datetime(2024, 1, 1, tz='Mars/Olympus'))\n", 4, 34, "Invalid timezone 'Mars/Olympus'" },
        { "t = EmptyOperator(task_id='t', trigger_rule='sometimes')\n", 3, 32, "sometimes" },
        { "from kubernetes.client import models as k8s\nt = k8s.V1Toleration(toleration_seconds='soon')\n", 4, 9, "not a valid V1Toleration" },
        { "import datetime\nx = datetime.datetime(2024, 13, 1)\n", 4, 14, "out of range" },
        { "x = int('abc')\n", 3, 5, "invalid literal for int() with base 10: 'abc'" },
        { "x = undefined_name\n", 3, 5, "name 'undefined_name' is not defined" },
        { "x = 'a'.nope()\n", 3, 9, "'str' object has no attribute 'nope'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Construct_outside_the_subset_is_a_located_import_error(string body, int line, int column, string fragment)
    {
        var error = Support.Error(Head + body);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line!.Value, error.Column!.Value));
        Assert.StartsWith($"/dags/test_dag.py:{line}:{column}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_after_a_complete_dag_still_yields_no_dag()
    {
        var r = Support.Parse(Head + "with DAG('complete') as dag:\n    EmptyOperator(task_id='a')\nimport socket\nsocket.gethostname()\n");
        Assert.Empty(r.Dags);
        Assert.Contains("'import socket' is outside the DAG-file subset", Assert.Single(r.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_mentioning_neither_airflow_nor_dag_is_a_helper_module_and_is_skipped()
    {
        var r = Support.Parse("import subprocess\nsubprocess.run(['true'])\n");
        Assert.Empty(r.Dags);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Slow_file_times_out_as_an_import_error()
    {
        var parser = new AirflowDagFileParser(new AirflowDagFileParserOptions { Environment = new Dictionary<string, string>(), MaxSteps = long.MaxValue });
        var text = Head + "for i in range(100000):\n    for j in range(100000):\n        x = [k for k in range(100)]\n";
        var r = parser.Parse("/dags/slow.py", text, null, TimeSpan.FromMilliseconds(300), CancellationToken.None);
        Assert.Empty(r.Dags);
        Assert.Equal("DAG file /dags/slow.py timed out after 0.3 s", Assert.Single(r.Errors).Message);
    }

    [Fact]
    public void Deeply_nested_expressions_are_an_error_not_a_stack_overflow()
    {
        var error = Support.Error(Head + "x = " + new string('(', 150) + "1" + new string(')', 150) + "\n");
        Assert.Contains("nested more than", error.Message, StringComparison.Ordinal);
        var deepList = Support.Error(Head + "x = " + string.Concat(Enumerable.Repeat("-", 5000)) + "1\n");
        Assert.Contains("nested more than", deepList.Message, StringComparison.Ordinal);
    }
}
