using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Storage;
using Sirocco.Templating;
using Sirocco.Variables;

namespace Sirocco.Fuzz;

/// <summary>
/// Generated templates rendered by the template engine (with its default limits) in an Airflow context with Variables
/// and Connections in a temp SQLite store, an XCom, params and a few plain values. Rules: output, or a
/// <see cref="TemplateException"/> with a reason, a position and the field's name, that is not an engine defect it
/// caught from itself (reason starting with "internal template error").
/// </summary>
internal sealed class TemplateTarget : IFuzzTarget
{
    private const string Field = "fuzz_field";

    /// <summary>How the engine labels an exception it caught from its own code (a defect, not a refusal).</summary>
    private const string InternalErrorPrefix = "internal template error";

    private readonly TemplateEngine _engine = new();
    private readonly TemplateGenerator _generator = new(SeedCorpus.Templates());
    private readonly string _home = FuzzFolders.Create("templates");
    private IMetadataStore? _store;
    private TemplateContext? _context;

    /// <inheritdoc/>
    public string Name => "template";

    /// <inheritdoc/>
    public TimeSpan CaseTimeLimit => TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        _context = BuildContext(_store, _home);
    }

    /// <inheritdoc/>
    public PreparedCase Prepare(Random random, int index)
    {
        var text = _generator.Generate(random);
        var native = random.Next(5) == 0;
        return new PreparedCase(native ? "[native] " + text : text, _ => Task.FromResult(Check(text, native)));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        FuzzFolders.Delete(_home);
    }

    /// <summary>Renders one template; throws <see cref="FuzzFailureException"/> when the outcome breaks a rule.</summary>
    public Verdict Check(string text, bool native = false)
    {
        try
        {
            var context = _context ?? throw new InvalidOperationException("not started");
            _ = native ? _engine.RenderNative(text, context, Field) : _engine.Render(text, context, Field);
            return Verdict.Accept;
        }
        catch (TemplateException e)
        {
            if (string.IsNullOrWhiteSpace(e.Reason))
            {
                throw new FuzzFailureException("a template error without a reason: " + e);
            }

            if (e.Reason.StartsWith(InternalErrorPrefix, StringComparison.Ordinal))
            {
                throw new FuzzFailureException("the engine failed on itself: " + e.InnerException);
            }

            if (e.Line < 1 || e.Column < 1 || !e.Message.Contains(Field, StringComparison.Ordinal))
            {
                throw new FuzzFailureException($"the error does not locate itself (line {e.Line}, column {e.Column}, field {e.Field}): {e.Message}");
            }

            return Verdict.Refuse(e.Message);
        }
    }

    /// <summary>
    /// The context of one task try, reading Variables and Connections from a real store: a Variable, a Variable and a
    /// Connection whose JSON repeats a key (as a row written by another tool may), a Connection in the environment.
    /// </summary>
    private static TemplateContext BuildContext(IMetadataStore store, string home)
    {
        var masker = new SecretMasker();
        store.SetVariable(new Variable("my_value", "hello"));
        store.SetVariable(new Variable("json_value", """{"a": [1, 2, {"b": null}]}"""));
        store.SetVariable(new Variable("dup_json", """{"a": 1, "a": {"b": 2, "b": 3}}"""));
        store.SetConnection(new Connection { ConnId = "my_conn", ConnType = "http", Host = "example.com", Login = "user", Password = "secret", Port = 443, Extra = """{"k": "v"}""" });
        store.SetConnection(new Connection { ConnId = "dup_conn", ConnType = "http", Extra = """{"k": "v", "k": "w"}""" });
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AIRFLOW_CONN_ENV_DUP"] = """{"conn_type": "http", "host": "h", "extra": {"k": 1, "k": 2}}""",
        };
        var services = new AirflowServices
        {
            Config = SiroccoConfig.Load(home, environment),
            Variables = new VariableAccessor(store, environment, masker),
            Connections = new ConnectionAccessor(store, environment, masker),
            XComs = new FixedXCom(),
        };
        var logical = new DateTimeOffset(2024, 3, 15, 6, 30, 0, TimeSpan.Zero);
        var input = new AirflowContextInput
        {
            DagId = "fuzz_dag",
            TaskId = "fuzz_task",
            RunId = "scheduled__2024-03-15T06:30:00+00:00",
            LogicalDate = logical,
            DataIntervalEnd = logical.AddDays(1),
            PrevLogicalDate = logical.AddDays(-1),
            Params = new Dictionary<string, object?> { ["x"] = 1L, ["name"] = "fuzz", ["list"] = new List<object?> { 1L, "two" } },
            DagRunConf = new Dictionary<string, object?> { ["key"] = "value" },
        };
        return AirflowContext.Build(input, services)
            .Set("n", 3L)
            .Set("s", "abc def")
            .Set("items", new List<object?> { 3L, "x", 1.5 })
            .Set("d", new Dictionary<string, object?> { ["a"] = 1L, ["b"] = new List<object?> { 1L, 2L } });
    }

    /// <summary>One XCom value for every task and key.</summary>
    private sealed class FixedXCom : IXComReader
    {
        public object? Pull(string dagId, string runId, string? taskId, string key) => taskId is null or "t" ? "pulled" : null;
    }
}
