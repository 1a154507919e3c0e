namespace Sirocco.Web.Tests;

/// <summary>The DAGs the tests run.</summary>
internal static class TestDags
{
    /// <summary>Releases the <c>gated</c> task of <c>live_log</c> (a try waits for it).</summary>
    public static readonly SemaphoreSlim Gate = new(0);

    public static IEnumerable<Dag> All()
    {
        var a = new EmptyOperator("extract");
        var b = new EmptyOperator("transform_a");
        var c = new EmptyOperator("transform_b");
        var d = new EmptyOperator("load");
        var example = new Dag("example_empty") { Schedule = Scheduling.Schedule.None, Description = "Four empty tasks", Tags = ["example"], FileLoc = "/dags/example_empty.cs" };
        example.Add(a);
        _ = a >> new[] { b, c };
        _ = new TaskList(b, c) >> d;
        yield return example;

        var templated = new Dag("templated") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/templated.cs" };
        templated.Add(new EchoOperator("echo_date") { Message = "date is {{ ds }}" });
        yield return templated;

        var validated = new Dag("validated_params")
        {
            Schedule = Scheduling.Schedule.None,
            FileLoc = "/dags/validated_params.cs",
            Params = new Dictionary<string, object?> { ["count"] = 3 },
            ParamSchemas = new Dictionary<string, System.Text.Json.Nodes.JsonObject> { ["count"] = new() { ["type"] = "integer", ["minimum"] = 1 } },
        };
        validated.Add(new EchoOperator("echo_count") { Message = "count is {{ params.count }}" });
        yield return validated;

        var grouped = new Dag("grouped") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/grouped.py" };
        var extract = new EmptyOperator("etl.extract") { TaskGroupId = "etl" };
        var load = new EmptyOperator("etl.load") { TaskGroupId = "etl" };
        var report = new EmptyOperator("report");
        grouped.Add(extract);
        grouped.Add(load);
        grouped.Add(report);
        _ = extract >> load >> report;
        yield return grouped;

        var mapped = new Dag("mapped") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/mapped.py" };
        mapped.Add(new EchoOperator("echo_each") { MapIndexTemplate = "say {{ task.message }}" }.Expand(e => e.Message, ["a{{ ti.map_index }}", "b{{ ti.map_index }}", "c{{ ti.map_index }}"]));
        mapped.Warnings.Add(new DagWarning(DagWarning.KubernetesModel, "/dags/mapped.py:4:9: task 'echo_each': tolerations: expected a list, got a str <b>'NoSchedule'</b>"));
        yield return mapped;

        var producer = new Dag("dataset_producer") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/datasets.py" };
        producer.Add(new EchoOperator("export") { Message = "exported", Outlets = ["s3://lake/web_orders"] });
        yield return producer;
        var consumer = new Dag("dataset_consumer") { Schedule = Scheduling.Schedule.OnDatasets(["s3://lake/web_orders"]), FileLoc = "/dags/datasets.py" };
        consumer.Add(new EchoOperator("report") { Message = "reported" });
        yield return consumer;

        var live = new Dag("live_log") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/live_log.cs" };
        live.Add(new GatedOperator("gated"));
        yield return live;

        for (var i = 0; i < 3; i++)
        {
            yield return new Dag($"paging_{i}") { Schedule = TimeSpan.FromDays(1), StartDate = DateTimeOffset.UtcNow.AddDays(-1), Catchup = false, FileLoc = $"/dags/paging_{i}.cs" };
        }
    }
}

/// <summary>A task with a template field: logs its rendered message.</summary>
internal sealed class EchoOperator(string taskId) : BaseOperator(taskId)
{
    public string Message { get; set; } = string.Empty;

    public override IReadOnlyList<string> TemplateFields => ["Message"];

    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        context.Log(Message);
        return Task.FromResult<object?>(Message);
    }
}

/// <summary>A task that logs, then waits for the test to open <see cref="TestDags.Gate"/>, then logs again.</summary>
internal sealed class GatedOperator(string taskId) : BaseOperator(taskId)
{
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        context.Log("first line before the gate");
        await TestDags.Gate.WaitAsync(cancellationToken);
        context.Log("second line after the gate");
        return null;
    }
}
