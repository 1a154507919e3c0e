using System.Text.Json;
using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>Dynamic task mapping as the reader builds it from <c>.partial(...).expand(...)</c>.</summary>
public sealed class MappingTests
{
    private const string Head = """
        from datetime import datetime
        from airflow import DAG
        from airflow.models.xcom_arg import XComArg
        from airflow.operators.bash import BashOperator
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from kubernetes.client import models as k8s

        """;

    [Fact]
    public void Partial_and_expand_make_one_mapped_task_with_literal_and_upstream_sources()
    {
        var r = Support.Parse(Head + """
            def double(x):
                return [x, x]

            with DAG("m", start_date=datetime(2024, 1, 1), schedule=None) as dag:
                make = KubernetesPodOperator(task_id="make", image="busybox", do_xcom_push=True)
                each = KubernetesPodOperator.partial(task_id="each", image="busybox", max_active_tis_per_dag=4).expand(
                    arguments=make.output.map(double),
                    env_vars=[{"A": "1"}, [k8s.V1EnvVar(name="B", value="2")]],
                )
                keyed = BashOperator.partial(task_id="keyed").expand(bash_command=XComArg(make, key="commands"))
                pairs = BashOperator.partial(task_id="pairs", env={"X": "y"}).expand_kwargs([{"bash_command": "echo 1"}, {"bash_command": "echo 2", "env": {"Z": "1"}}])
                sub = BashOperator.partial(task_id="sub").expand(bash_command=make.output["cmds"])
                prefix = "run "
                zipped = BashOperator.partial(task_id="zipped").expand(bash_command=make.output.zip(keyed.output, fillvalue="").map(lambda pair: pair[0] + pair[1]))
                lam = BashOperator.partial(task_id="lam").expand(bash_command=make.output.map(lambda x, suffix="!": prefix + str(x) + suffix))
            """);
        Assert.True(r.Errors.Count == 0, r.Errors.Count == 0 ? string.Empty : r.Errors[0].Message);
        var dag = Assert.Single(r.Dags);
        var each = (KubernetesPodOperator)dag.GetTask("each");
        Assert.True(each.IsMapped);
        Assert.Equal(4, each.MaxActiveTisPerDag);
        Assert.Equal(["make"], each.UpstreamTaskIds);
        Assert.Equal([nameof(KubernetesPodOperator.Arguments), nameof(KubernetesPodOperator.EnvVars)], each.Mapping!.Arguments.Select(a => a.Key));
        var source = Assert.IsType<XComMapSource>(each.Mapping.Arguments[0].Value);
        Assert.Equal(("make", "return_value"), (source.TaskId, source.Key));
        Assert.Equal("[\"a\",\"a\"]", source.Transform!(JsonSerializer.SerializeToElement("a")).GetRawText());

        // The instance's copy gets its arguments: a dict of env vars, or a list of V1EnvVar.
        var copy = (KubernetesPodOperator)each.CloneForTry();
        copy.ApplyMappedArguments(each.Mapping.ArgumentsAt([[JsonSerializer.SerializeToElement(new[] { "x" })], TaskMapping.Items(((LiteralMapSource)each.Mapping.Arguments[1].Value).Values, each.Mapping.Arguments[1].Value)], 1));
        Assert.Equal(["x"], copy.Arguments);
        Assert.Equal(("B", "2"), (copy.EnvVarList.Single().Name, copy.EnvVarList.Single().Value));
        Assert.Empty(each.Arguments); // the DAG's own task is unchanged

        Assert.Equal("commands", Assert.IsType<XComMapSource>(dag.GetTask("keyed").Mapping!.Arguments.Single().Value).Key);
        Assert.Equal("cmds", Assert.IsType<XComMapSource>(dag.GetTask("sub").Mapping!.Arguments.Single().Value).Key);
        var zip = Assert.IsType<ZipMapSource>(dag.GetTask("zipped").Mapping!.Arguments.Single().Value);
        Assert.Equal(["make", "keyed"], zip.Sources.Select(x => ((XComMapSource)x).TaskId));
        Assert.Equal("\"\"", zip.FillValue!.Value.GetRawText());
        Assert.Equal("\"ab\"", zip.Transform!(JsonSerializer.SerializeToElement(new[] { "a", "b" })).GetRawText());
        Assert.Equal(["keyed", "make"], dag.GetTask("zipped").UpstreamTaskIds.Order(StringComparer.Ordinal));
        var lambdaSource = Assert.IsType<XComMapSource>(dag.GetTask("lam").Mapping!.Arguments.Single().Value);
        Assert.Equal("\"run 7!\"", lambdaSource.Transform!(JsonSerializer.SerializeToElement(7)).GetRawText());
        var pairs = (BashOperator)dag.GetTask("pairs");
        Assert.IsType<LiteralMapSource>(pairs.Mapping!.Kwargs);
        var second = (BashOperator)pairs.CloneForTry();
        second.ApplyMappedArguments(pairs.Mapping.ArgumentsAt([TaskMapping.Items(((LiteralMapSource)pairs.Mapping.Kwargs!).Values, pairs.Mapping.Kwargs)], 1));
        Assert.Equal("echo 2", second.BashCommand);
        Assert.Equal("1", second.Env!["Z"]);
    }

    public static TheoryData<string, int, int, string> Errors() => new()
    {
        { "t = KubernetesPodOperator.partial(task_id='t', image='i').expand(arguments=[1, 2])\n", 7, 66, "mapped argument 'arguments' cannot take a number (1)" },
        { "t = KubernetesPodOperator.partial(task_id='t', image='i').expand(nope=[1])\n", 7, 66, "unexpected keyword argument 'nope'" },
        { "t = KubernetesPodOperator.partial(task_id='t', image='i').expand(image=['a'])\n", 7, 66, "'image' is given to both partial() and expand()" },
        { "t = KubernetesPodOperator.partial(task_id='t', image='i').expand(retries=[1])\n", 7, 66, "'retries' is an argument of every task and cannot be mapped; give it to partial()" },
        { "t = KubernetesPodOperator.partial(task_id='t', image='i').expand(arguments='abc')\n", 7, 66, "cannot map over a str ('abc')" },
        { "t = BashOperator.partial(task_id='t').expand_kwargs([{'bash_command': 'x'}, 'y'])\n", 7, 39, "expand_kwargs: item 1 is a str (\"y\"), not a dict of arguments" },
        { "t = BashOperator.partial(task_id='t').expand()\n", 7, 39, "at least one" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void A_bad_mapping_is_an_import_error_at_its_keyword(string body, int line, int column, string fragment)
    {
        var error = Support.Error(Head + body);
        Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal), error.Message);
        Assert.Equal((line, column), (error.Line!.Value, error.Column!.Value));
    }
}
