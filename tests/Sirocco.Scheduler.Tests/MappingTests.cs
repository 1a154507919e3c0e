using System.Text.Json;
using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

/// <summary>Dynamic task mapping through the scheduler: expansion, cross products, XCom sources, zero items, bad sources, re-expansion, limits.</summary>
public sealed class MappingTests
{
    private static DateTimeOffset Utc(int y, int m, int d, int h = 0) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Expand_over_two_literal_lists_runs_the_cross_product_with_the_last_argument_fastest()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var each = new Echo("each").Expand(e => e.Text, ["a", "b"]).Expand(e => e.Items, [["1"], ["2"], ["3"]]);
        var dag = Daily("cross", each);
        await f.Create(dag).StepAsync();

        var run = Assert.Single(await f.RunsAsync("cross"));
        Assert.Equal(DagRunState.Success, run.State);
        var tis = await f.Store.ListTaskInstancesAsync("cross", run.RunId);
        Assert.Equal([0, 1, 2, 3, 4, 5], tis.Select(t => t.MapIndex).Order());
        Assert.All(tis, t => Assert.Equal(TaskInstanceState.Success, t.State));
        var values = (await f.Store.ListXComsAsync("cross", run.RunId, "each")).OrderBy(x => x.MapIndex).Select(x => x.Value.GetString()).ToList();
        Assert.Equal(["a:1", "a:2", "a:3", "b:1", "b:2", "b:3"], values);
    }

    [Fact]
    public async Task Expand_over_an_upstream_list_and_a_mapped_upstream_and_the_downstream_pulls_every_value()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var make = ScriptedOperator.Ok("make", new[] { "x", "y", "z" });
        var first = new Echo("first").Expand(e => e.Text, make);
        var second = new Echo("second").Expand(e => e.Text, first);
        JsonElement? collected = null;
        var total = new ScriptedOperator("total", async (ctx, ct) => { collected = await ctx.Recorder.PullXComAsync("second", XComEntry.ReturnValueKey, ct); return null; });
        _ = second >> total;
        var dag = Daily("chain", make, first, second, total);
        await f.Create(dag).StepAsync();

        var run = Assert.Single(await f.RunsAsync("chain"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(["x:", "y:", "z:"], await ValuesAsync(f, run, "first"));
        Assert.Equal(3, (await f.Store.ListTaskInstancesAsync("chain", run.RunId)).Count(t => t.TaskId == "second"));
        Assert.Equal("[\"x::\",\"y::\",\"z::\"]", collected?.GetRawText());
    }

    [Fact]
    public async Task A_dict_is_mapped_as_key_value_pairs_and_expand_kwargs_sets_each_items_arguments()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var pairs = ScriptedOperator.Ok("pairs", new Dictionary<string, int> { ["k1"] = 1, ["k2"] = 2 });
        var fromDict = new Echo("from_dict").Expand(e => e.Items, pairs);
        var kwargs = new Echo("kwargs");
        kwargs.ExpandKwargs(new LiteralMapSource(JsonSerializer.SerializeToElement(new object[] { new { text = "p", items = new[] { "q" } }, new { text = "r" } })));
        var dag = Daily("dicts", pairs, fromDict, kwargs);
        await f.Create(dag).StepAsync();

        var run = Assert.Single(await f.RunsAsync("dicts"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal([":k1,1", ":k2,2"], await ValuesAsync(f, run, "from_dict"));
        Assert.Equal(["p:q", "r:"], await ValuesAsync(f, run, "kwargs"));
    }

    [Fact]
    public async Task Zipped_outputs_map_side_by_side_to_the_shortest_or_with_a_fill_value_to_the_longest()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var numbers = ScriptedOperator.Ok("numbers", new[] { 1, 2, 3 });
        var letters = ScriptedOperator.Ok("letters", new[] { "x", "y" });
        var shortest = new Echo("shortest");
        shortest.ExpandArgument("items", new ZipMapSource([new XComMapSource("numbers"), new XComMapSource("letters")]));
        var longest = new Echo("longest");
        longest.ExpandArgument("items", new ZipMapSource([new XComMapSource("numbers"), new XComMapSource("letters")], JsonSerializer.SerializeToElement("-")));
        _ = new TaskList(numbers, letters) >> shortest;
        _ = new TaskList(numbers, letters) >> longest;
        await f.Create(Daily("zipped", numbers, letters, shortest, longest)).StepAsync();

        var run = Assert.Single(await f.RunsAsync("zipped"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal([":1,x", ":2,y"], await ValuesAsync(f, run, "shortest"));
        Assert.Equal([":1,x", ":2,y", ":3,-"], await ValuesAsync(f, run, "longest"));
    }

    [Fact]
    public async Task Nothing_to_map_over_skips_the_task_and_its_all_success_downstream()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var none = ScriptedOperator.Ok("none", Array.Empty<string>());
        var each = new Echo("each").Expand(e => e.Text, none);
        var after = ScriptedOperator.Ok("after");
        _ = each >> after;
        await f.Create(Daily("empty", none, each, after)).StepAsync();

        var run = Assert.Single(await f.RunsAsync("empty"));
        var tis = await f.TisAsync(run);
        Assert.Equal(-1, tis["each"].MapIndex);
        Assert.Equal(TaskInstanceState.Skipped, tis["each"].State);
        Assert.Equal(TaskInstanceState.Skipped, tis["after"].State);
        Assert.Equal(0, after.Executions);
    }

    [Fact]
    public async Task An_upstream_value_that_is_not_a_list_fails_the_mapped_task_with_the_reason_in_its_log()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var scalar = ScriptedOperator.Ok("scalar", "just text");
        var each = new Echo("each").Expand(e => e.Text, scalar);
        var tooMany = new Echo("too_many").Expand(e => e.Text, Enumerable.Range(0, 5).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        f.Options = f.Options with { MaxMapLength = 4 };
        await f.Create(Daily("bad", scalar, each, tooMany)).StepAsync();

        var run = Assert.Single(await f.RunsAsync("bad"));
        Assert.Equal(DagRunState.Failed, run.State);
        var tis = await f.TisAsync(run);
        Assert.Equal(TaskInstanceState.Failed, tis["each"].State);
        Assert.Equal(TaskInstanceState.Failed, tis["too_many"].State);
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "bad", "each", run.LogicalDate, 1, -1));
        Assert.Contains("cannot map over the output of scalar: it is a str (\"just text\"), and only a list or a dict can be mapped over", log, StringComparison.Ordinal);
        var tooManyLog = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "bad", "too_many", run.LogicalDate, 1, -1));
        Assert.Contains("5 instances, more than [core] max_map_length (4)", tooManyLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clearing_expands_again_and_instances_beyond_the_new_length_are_removed()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var count = 3;
        var make = new ScriptedOperator("make", (_, _) => Task.FromResult<object?>(Enumerable.Range(0, count).ToArray()));
        var each = new Echo("each").Expand(e => e.Text, make);
        var scheduler = f.Create(Daily("again", make, each));
        await scheduler.StepAsync();
        var run = Assert.Single(await f.RunsAsync("again"));
        Assert.Equal(3, (await f.Store.ListTaskInstancesAsync("again", run.RunId)).Count(t => t.TaskId == "each"));

        count = 2;
        await f.Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "again", RunIds = [run.RunId], Actor = new StateActor("admin", "test") }, f.Time.GetUtcNow());
        await scheduler.StepAsync();
        await scheduler.StepAsync();

        var tis = (await f.Store.ListTaskInstancesAsync("again", run.RunId)).Where(t => t.TaskId == "each").OrderBy(t => t.MapIndex).ToList();
        Assert.Equal([TaskInstanceState.Success, TaskInstanceState.Success, TaskInstanceState.Removed], tis.Select(t => t.State));
        Assert.Equal(DagRunState.Success, (await f.Store.GetDagRunAsync("again", run.RunId))!.State);
    }

    [Fact]
    public async Task Max_active_tis_per_dag_bounds_how_many_mapped_instances_run_at_once()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var running = 0;
        var peak = 0;
        var each = new Echo("each")
        {
            MaxActiveTisPerDag = 2,
            Body = async ct =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref peak, now);
                await Task.Delay(30, ct);
                Interlocked.Decrement(ref running);
            },
        }.Expand(e => e.Text, Enumerable.Range(0, 8).Select(i => $"i{i}"));
        await f.Create(Daily("limited", each)).StepAsync();

        var run = Assert.Single(await f.RunsAsync("limited"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(8, (await f.Store.ListTaskInstancesAsync("limited", run.RunId)).Count(t => t.State == TaskInstanceState.Success));
        Assert.Equal(2, peak);
    }

    [Fact]
    public void Literal_items_of_the_wrong_type_are_refused_when_the_task_is_defined()
    {
        var e = Assert.Throws<SiroccoException>(() => new Echo("bad").ExpandArgument("items", new LiteralMapSource(JsonSerializer.SerializeToElement(new object[] { new[] { "ok" }, "not a list" }))));
        Assert.Contains("mapped argument 'items' cannot take a str (\"not a list\")", e.Message, StringComparison.Ordinal);
        var retries = Assert.Throws<SiroccoException>(() => new Echo("base").ExpandArgument("retries", new LiteralMapSource(JsonSerializer.SerializeToElement(new[] { 1 }))));
        Assert.Contains("'retries' is an argument of every task and cannot be mapped", retries.Message, StringComparison.Ordinal);
    }

    private static Dag Daily(string id, params BaseOperator[] tasks)
    {
        var dag = new Dag(id) { Schedule = "@daily", StartDate = Utc(2024, 1, 1) };
        foreach (var t in tasks)
        {
            if (t.Dag is null)
            {
                dag.Add(t);
            }
        }

        return dag;
    }

    private static async Task<List<string?>> ValuesAsync(Fixture f, DagRun run, string taskId) =>
        [.. (await f.Store.ListXComsAsync(run.DagId, run.RunId, taskId)).OrderBy(x => x.MapIndex).Select(x => x.Value.GetString())];

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Returns <c>Text:Items joined by ','</c>, so each instance's arguments show in its XCom.</summary>
    private sealed class Echo(string taskId) : BaseOperator(taskId)
    {
        public string? Text { get; set; }

        public IList<string> Items { get; set; } = [];

        public Func<CancellationToken, Task>? Body { get; init; }

        public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
        {
            if (Body is not null)
            {
                await Body(cancellationToken);
            }

            return $"{Text}:{string.Join(',', Items)}";
        }
    }
}
