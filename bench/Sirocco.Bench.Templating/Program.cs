// Templating benchmark: the seed's template fields (ex-kube-templates) rendered for 10,000 task instances, and the
// throughput of single fields on one core. Run: dotnet run -c Release --project bench/Sirocco.Bench.Templating
using System.Diagnostics;
using System.Globalization;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Templating;
using Sirocco.Variables;

var masker = new SecretMasker();
var variables = new MemoryVariables();
variables.SetVariable(new Variable("my_value", "example_value"));
var services = new AirflowServices
{
    Config = SiroccoConfig.Load(Path.Combine(Path.GetTempPath(), "sirocco-bench-templating"), new Dictionary<string, string>
    {
        ["SIROCCO__CORE__KUBE_CONFIG"] = "/home/airflow/composer_kube_config",
    }),
    Variables = new VariableAccessor(variables, new Dictionary<string, string>(), masker),
    Connections = new ConnectionAccessor(new MemoryConnections(), new Dictionary<string, string>(), masker),
};

var start = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
AirflowContextInput Input(int i) => new()
{
    DagId = "composer_sample_kubernetes_pod",
    TaskId = "ex-kube-templates",
    RunId = "scheduled__" + start.AddDays(i).ToString("yyyy-MM-ddTHH:mm:ss+00:00", CultureInfo.InvariantCulture),
    LogicalDate = start.AddDays(i),
    DataIntervalStart = start.AddDays(i),
    DataIntervalEnd = start.AddDays(i + 1),
};

var engine = new TemplateEngine();
var renderer = new TemplateFieldRenderer(engine);
var op = new SeedOperator
{
    Arguments = ["{{ ds }}"],
    EnvVars = new Dictionary<string, string> { ["MY_VALUE"] = "{{ var.value.my_value }}" },
    ConfigFile = "{{ conf.get('core', 'kube_config') }}",
};
string[] fields = ["Arguments", "EnvVars", "ConfigFile"];

Console.WriteLine($"Sirocco.Templating benchmark, {Environment.ProcessorCount} cores visible, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

// Warm up (JIT, tiering, caches).
for (var i = 0; i < 20_000; i++)
{
    var ctx = AirflowContext.Build(Input(i % 100), services);
    renderer.RenderFields(op, fields, ctx);
}

// 1. Single fields, context built once, templates compiled once and cached by text (one core, this thread).
var context = AirflowContext.Build(Input(0), services);
foreach (var (label, text) in new[]
{
    ("{{ ds }}", "{{ ds }}"),
    ("{{ var.value.my_value }}", "{{ var.value.my_value }}"),
    ("{{ conf.get('core', 'kube_config') }}", "{{ conf.get('core', 'kube_config') }}"),
    ("mixed field", "gs://bucket/{{ dag.dag_id }}/{{ ds_nodash }}/part-{{ ti.try_number }}.csv"),
})
{
    const int n = 200_000;
    for (var i = 0; i < 300_000; i++)
    {
        engine.Render(text, context);
    }

    var times = Rounds(7, () =>
    {
        for (var i = 0; i < n; i++)
        {
            engine.Render(text, context);
        }
    });
    Console.WriteLine($"render {label,-42} best {n / times[0] * 1000,12:N0} renders/s ({times[0] * 1000 / n:F3} µs), median {n / times[3] * 1000,12:N0}/s");
}

// 2. The seed's ex-kube-templates fields for 10,000 task instances: build each context, render the three fields.
//    The machine is shared, so each measurement runs 7 times; the best and the median are reported.
var tiTimes = Rounds(7, () =>
{
    for (var i = 0; i < 10_000; i++)
    {
        var ctx = AirflowContext.Build(Input(i), services);
        var rendered = renderer.RenderFields(op, fields, ctx);
        if (rendered.ConfigFile is null)
        {
            throw new InvalidOperationException("not rendered");
        }
    }
});
Console.WriteLine($"10,000 task instances (context + 3 seed fields): best {tiTimes[0]:F0} ms = {10_000 / tiTimes[0] * 1000:N0} TIs/s = {30_000 / tiTimes[0] * 1000:N0} fields/s; median {tiTimes[3]:F0} ms");

// 2b. Where the time of 2 goes: building contexts alone.
var buildTimes = Rounds(7, () =>
{
    for (var i = 0; i < 10_000; i++)
    {
        AirflowContext.Build(Input(i), services);
    }
});
Console.WriteLine($"10,000 contexts built (no rendering): best {buildTimes[0]:F0} ms, median {buildTimes[3]:F0} ms");

// 3. For comparison: compiling the text every time (no cache).
{
    const int n = 100_000;
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < n; i++)
    {
        new TemplateEngine().Render("{{ conf.get('core', 'kube_config') }}", context);
    }

    sw.Stop();
    Console.WriteLine($"compile + render each time (no cache)             {n / sw.Elapsed.TotalSeconds,12:N0} renders/s");
}

static double[] Rounds(int count, Action body)
{
    var times = new double[count];
    for (var r = 0; r < count; r++)
    {
        var sw = Stopwatch.StartNew();
        body();
        times[r] = sw.Elapsed.TotalMilliseconds;
    }

    Array.Sort(times);
    return times;
}

internal sealed class SeedOperator
{
    public List<string>? Arguments { get; set; }

    public Dictionary<string, string>? EnvVars { get; set; }

    public string? ConfigFile { get; set; }
}

internal sealed class MemoryVariables : IVariableStore
{
    private readonly Dictionary<string, Variable> _items = new(StringComparer.Ordinal);

    public Variable? GetVariable(string key) => _items.GetValueOrDefault(key);

    public IReadOnlyList<Variable> ListVariables() => [.. _items.Values];

    public void SetVariable(Variable variable) => _items[variable.Key] = variable;

    public bool DeleteVariable(string key) => _items.Remove(key);
}

internal sealed class MemoryConnections : IConnectionStore
{
    public Connection? GetConnection(string connId) => null;

    public IReadOnlyList<Connection> ListConnections() => [];

    public void SetConnection(Connection connection)
    {
    }

    public bool DeleteConnection(string connId) => false;
}
