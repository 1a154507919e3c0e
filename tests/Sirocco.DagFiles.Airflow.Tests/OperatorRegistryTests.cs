using Sirocco.DagFiles.Airflow.Evaluation;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>One registry of operator classes: every module exports what it lists, and nothing falls back to another operator.</summary>
public sealed class OperatorRegistryTests
{
    public static TheoryData<string, string> ClassesByModule()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in OperatorRegistry.All)
        {
            foreach (var module in c.Modules)
            {
                data.Add(c.Name, module);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ClassesByModule))]
    public void Each_module_of_a_class_makes_an_operator_of_its_type(string className, string module)
    {
        var kind = OperatorRegistry.Get(className);
        var required = string.Concat(kind.Required.Select(r => r == "body" ? ", body={'name': 'x'}" : $", {r}='x'"));
        var dag = Support.One($$"""
            from datetime import datetime
            from airflow import DAG
            from {{module}} import {{className}}

            with DAG("registry", schedule=None, start_date=datetime(2024, 1, 1)):
                {{className}}(task_id="t"{{required}})
                partial = {{className}}.partial(task_id="m"{{required}})
            """);
        Assert.IsType(kind.Type, dag.GetTask("t"));
        Assert.Single(dag.Tasks);
    }

    [Fact]
    public void An_unknown_class_is_an_error_not_an_empty_operator()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OperatorRegistry.Get("SparkSubmitOperator"));
        Assert.Contains("'SparkSubmitOperator' is not registered", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => OperatorRegistry.Of(new UnregisteredOperator("x")));
    }

    [Fact]
    public void A_required_keyword_of_the_registry_is_checked_with_the_class_name()
    {
        var error = Support.Error("""
            from datetime import datetime
            from airflow import DAG
            from airflow.operators.bash import BashOperator

            with DAG("registry", schedule=None, start_date=datetime(2024, 1, 1)):
                BashOperator(task_id="t")
            """);
        Assert.Contains("BashOperator() missing required argument: 'bash_command'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Partial_is_only_an_operator_class_attribute()
    {
        var error = Support.Error("""
            from datetime import datetime
            from airflow import DAG
            from airflow.models import Variable

            with DAG("registry", schedule=None, start_date=datetime(2024, 1, 1)):
                Variable.get.partial(task_id="t")
            """);
        Assert.Contains("partial", error.Message, StringComparison.Ordinal);
    }

    private sealed class UnregisteredOperator(string taskId) : BaseOperator(taskId)
    {
        public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) => Task.FromResult<object?>(null);
    }
}
