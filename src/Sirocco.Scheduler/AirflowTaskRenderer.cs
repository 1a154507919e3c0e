using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Storage;
using Sirocco.Templating;

namespace Sirocco.Scheduler;

/// <summary>
/// Renders a task's template fields with the Jinja-compatible engine and Airflow's template context (<c>ds</c>,
/// <c>var</c>, <c>conn</c>, <c>conf</c>, <c>ti</c>, <c>params</c>, <c>macros</c>...).
/// </summary>
public sealed class AirflowTaskRenderer : ITaskRenderer
{
    private static readonly JsonSerializerOptions Compact = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly TemplateEngine _engine;

    /// <summary>Creates a renderer over an engine (templates are compiled once and cached by text).</summary>
    public AirflowTaskRenderer(TemplateEngine? engine = null) => _engine = engine ?? TemplateEngine.Default;

    /// <inheritdoc/>
    public RenderedTask Render(BaseOperator task, RenderRequest request)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(request);
        if (task.TemplateFields.Count == 0)
        {
            return new RenderedTask(task, []);
        }

        var context = AirflowContext.Build(BuildInput(task, request), new AirflowServices
        {
            Config = request.Services.Config,
            Variables = request.Services.Variables,
            Connections = request.Services.Connections,
            XComs = new StoreXComReader(request.Store, request.Dag),
            Time = request.Time,
        });
        var renderer = new TemplateFieldRenderer(_engine, new TemplateFieldOptions
        {
            SearchPath = request.Dag.FileLoc is { } f ? Path.GetDirectoryName(f) : null,
            TemplateExtensions = [.. task.TemplateExtensions],
            NativeObjects = request.Dag.RenderTemplateAsNativeObj,
        });
        var rendered = renderer.RenderFields(task, task.TemplateFields, context);
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var name in task.TemplateFields)
        {
            var value = rendered.GetType().GetProperty(name)?.GetValue(rendered);
            fields.Add(new(name, Describe(value)));
        }

        return new RenderedTask(rendered, fields) { MapIndexName = RenderMapIndex(rendered, request) };
    }

    /// <summary>
    /// A mapped instance's name from <c>map_index_template</c>, rendered with the try's context in which <c>task</c>
    /// carries the rendered template fields (<c>{{ task.arguments[0] }}</c>).
    /// </summary>
    private string? RenderMapIndex(BaseOperator rendered, RenderRequest request)
    {
        if (rendered.MapIndexTemplate is not { Length: > 0 } template || request.TaskInstance.MapIndex < 0)
        {
            return null;
        }

        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var name in rendered.TemplateFields)
        {
            if (rendered.GetType().GetProperty(name)?.GetValue(rendered) is { } value)
            {
                attributes[Snake(name)] = ToPlain(JsonSerializer.SerializeToNode(value, value.GetType()));
            }
        }

        var context = AirflowContext.Build(BuildInput(rendered, request) with { TaskAttributes = attributes }, new AirflowServices
        {
            Config = request.Services.Config,
            Variables = request.Services.Variables,
            Connections = request.Services.Connections,
            XComs = new StoreXComReader(request.Store, request.Dag),
            Time = request.Time,
        });
        return _engine.Render(template, context, "map_index_template");
    }

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>The Airflow context inputs of a try.</summary>
    internal static AirflowContextInput BuildInput(BaseOperator task, RenderRequest request)
    {
        var run = request.DagRun;
        var conf = ToPlain(run.Conf) as IReadOnlyDictionary<string, object?>;
        var parameters = new Dictionary<string, object?>(request.Dag.Params, StringComparer.Ordinal);
        if (conf is not null)
        {
            foreach (var (k, v) in conf)
            {
                parameters[k] = v; // [core] dag_run_conf_overrides_params, on by default in Airflow 2
            }
        }

        var next = request.Dag.Schedule.Next(run.DataInterval, request.Dag.StartDate, null, catchup: true, now: DateTimeOffset.MaxValue);
        return new AirflowContextInput
        {
            DagId = run.DagId,
            // The task instance's id: a callback's context is its task's (ti.task_id in a notifier's subject).
            TaskId = request.TaskInstance.TaskId,
            RunId = run.RunId,
            RunType = run.RunType.ToName(),
            LogicalDate = run.LogicalDate,
            DataIntervalStart = run.DataInterval.Start,
            DataIntervalEnd = run.DataInterval.End,
            NextLogicalDate = next?.LogicalDate,
            DagRunStartDate = run.StartDate,
            TryNumber = Math.Max(1, request.TaskInstance.TryNumber),
            MapIndex = request.TaskInstance.MapIndex,
            State = request.TaskInstance.State is TaskInstanceState.Success or TaskInstanceState.Failed or TaskInstanceState.UpForRetry or TaskInstanceState.Skipped
                ? request.TaskInstance.State.ToName()
                : "running",
            ExternalTrigger = run.ExternalTrigger,
            TestMode = request.TestMode,
            Params = parameters,
            DagRunConf = conf ?? new Dictionary<string, object?>(),
            OperatorName = task.OperatorName,
            Owner = task.Owner,
            Extra = request.Extra,
        };
    }

    private static object? ToPlain(JsonNode? node) => PlainJson.From(node);

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string s => s,
        IEnumerable e when value is not IDictionary && e.Cast<object?>().All(x => x is string or null) => "[" + string.Join(", ", e.Cast<object?>().Select(x => x is null ? "None" : $"'{x}'")) + "]",
        _ => SafeJson(value),
    };

    private static string SafeJson(object value)
    {
        try
        {
            return JsonSerializer.Serialize(value, value.GetType(), Compact);
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            return value.ToString() ?? string.Empty;
        }
    }

    private sealed class StoreXComReader(IMetadataStore store, Dag dag) : IXComReader
    {
        public object? Pull(string dagId, string runId, string? taskId, string key) => taskId is null
            ? store.ListXComsAsync(dagId, runId).GetAwaiter().GetResult().Where(x => x.Key == key).MaxBy(x => x.Timestamp)?.Value
            : dagId == dag.DagId
                ? MapExpansion.PullAsync(store, dag, runId, taskId, key, CancellationToken.None).GetAwaiter().GetResult()
                : store.GetXComAsync(dagId, taskId, runId, key).GetAwaiter().GetResult()?.Value;
    }
}
