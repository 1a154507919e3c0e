using System.Text.Json;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Templating.Tests;

/// <summary>In-memory stores and the Airflow context described by the fixture's "airflow" section.</summary>
internal sealed class TestWorld
{
    public TestWorld(JsonElement airflow, JsonElement? globals = null)
    {
        Masker = new SecretMasker();
        foreach (var v in airflow.GetProperty("variables").EnumerateObject())
        {
            Variables.SetVariable(new Variable(v.Name, v.Value.GetString()!));
        }

        foreach (var c in airflow.GetProperty("connections").EnumerateObject())
        {
            Connections.SetConnection(new Connection
            {
                ConnId = c.Name,
                ConnType = c.Value.GetProperty("conn_type").GetString()!,
                Host = c.Value.GetProperty("host").GetString(),
                Login = c.Value.GetProperty("login").GetString(),
                Password = c.Value.GetProperty("password").GetString(),
                Port = c.Value.GetProperty("port").GetInt32(),
                Schema = c.Value.GetProperty("schema").GetString(),
                Extra = c.Value.GetProperty("extra").GetString(),
            });
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var section in airflow.GetProperty("config").EnumerateObject())
        {
            foreach (var key in section.Value.EnumerateObject())
            {
                env[$"SIROCCO__{section.Name.ToUpperInvariant()}__{key.Name.ToUpperInvariant()}"] = key.Value.GetString()!;
            }
        }

        foreach (var task in airflow.GetProperty("xcoms").EnumerateObject())
        {
            foreach (var key in task.Value.EnumerateObject())
            {
                XComs.Values[(task.Name, key.Name)] = key.Value.Clone();
            }
        }

        var home = Path.Combine(Path.GetTempPath(), "sirocco-templating-tests-" + Environment.ProcessId);
        Services = new AirflowServices
        {
            Config = SiroccoConfig.Load(home, env),
            Variables = new VariableAccessor(Variables, new Dictionary<string, string>(), Masker),
            Connections = new ConnectionAccessor(Connections, new Dictionary<string, string>(), Masker),
            XComs = XComs,
        };

        Input = new AirflowContextInput
        {
            DagId = airflow.GetProperty("dag_id").GetString()!,
            TaskId = airflow.GetProperty("task_id").GetString()!,
            RunId = airflow.GetProperty("run_id").GetString()!,
            RunType = airflow.GetProperty("run_type").GetString()!,
            LogicalDate = DateTimeOffset.Parse(airflow.GetProperty("logical_date").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            DataIntervalEnd = DateTimeOffset.Parse(airflow.GetProperty("data_interval_end").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            PrevLogicalDate = DateTimeOffset.Parse(airflow.GetProperty("prev_logical_date").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            NextLogicalDate = DateTimeOffset.Parse(airflow.GetProperty("next_logical_date").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            PrevStartDateSuccess = DateTimeOffset.Parse(airflow.GetProperty("prev_start_date_success").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            TryNumber = airflow.GetProperty("try_number").GetInt32(),
            Params = ToDictionary(airflow.GetProperty("params")),
            DagRunConf = ToDictionary(airflow.GetProperty("dag_run_conf")),
        };

        Context = AirflowContext.Build(Input, Services);
        if (globals is { } g)
        {
            foreach (var p in g.EnumerateObject())
            {
                Context.Set(p.Name, p.Value.Clone());
            }
        }
    }

    public SecretMasker Masker { get; }

    public MemoryVariables Variables { get; } = new();

    public MemoryConnections Connections { get; } = new();

    public MemoryXComs XComs { get; } = new();

    public AirflowServices Services { get; }

    public AirflowContextInput Input { get; }

    public TemplateContext Context { get; }

    public static TestWorld FromFixture() => new(Fixture.Root.GetProperty("airflow"), Fixture.Root.GetProperty("globals"));

    private static Dictionary<string, object?> ToDictionary(JsonElement e) =>
        e.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone(), StringComparer.Ordinal);
}

internal static class Fixture
{
    private static readonly Lazy<JsonElement> Loaded = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "conformance.json")));
        return doc.RootElement.Clone();
    });

    private static readonly Lazy<JsonElement> SamplesLoaded = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "samples.json")));
        return doc.RootElement.Clone();
    });

    public static JsonElement Root => Loaded.Value;

    /// <summary>The bulk samples (numbers, strings, random templates and expressions), also rendered by Jinja2.</summary>
    public static JsonElement Samples => SamplesLoaded.Value;
}

internal sealed class MemoryVariables : IVariableStore
{
    private readonly Dictionary<string, Variable> _items = new(StringComparer.Ordinal);

    public Variable? GetVariable(string key) => _items.GetValueOrDefault(key);

    public IReadOnlyList<Variable> ListVariables() => [.. _items.Values.OrderBy(v => v.Key, StringComparer.Ordinal)];

    public void SetVariable(Variable variable) => _items[variable.Key] = variable;

    public bool DeleteVariable(string key) => _items.Remove(key);
}

internal sealed class MemoryConnections : IConnectionStore
{
    private readonly Dictionary<string, Connection> _items = new(StringComparer.Ordinal);

    public Connection? GetConnection(string connId) => _items.GetValueOrDefault(connId);

    public IReadOnlyList<Connection> ListConnections() => [.. _items.Values.OrderBy(c => c.ConnId, StringComparer.Ordinal)];

    public void SetConnection(Connection connection) => _items[connection.ConnId] = connection;

    public bool DeleteConnection(string connId) => _items.Remove(connId);
}

internal sealed class MemoryXComs : IXComReader
{
    public Dictionary<(string Task, string Key), object?> Values { get; } = [];

    public List<(string DagId, string RunId, string? TaskId, string Key)> Calls { get; } = [];

    public object? Pull(string dagId, string runId, string? taskId, string key)
    {
        Calls.Add((dagId, runId, taskId, key));
        return taskId is null
            ? Values.Where(kv => kv.Key.Key == key).Select(kv => kv.Value).FirstOrDefault()
            : Values.GetValueOrDefault((taskId, key));
    }
}
