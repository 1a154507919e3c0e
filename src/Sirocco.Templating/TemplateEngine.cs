using System.Collections.Concurrent;
using Sirocco.Templating.Expressions;
using Sirocco.Templating.Jinja;

namespace Sirocco.Templating;

/// <summary>Limits and cache size of a <see cref="TemplateEngine"/>.</summary>
public sealed record TemplateEngineOptions
{
    /// <summary>The most characters one render may produce (default 4 Mi).</summary>
    public long MaxOutputLength { get; init; } = 4L << 20;

    /// <summary>The most loop iterations one render may run, all loops counted together (default 100,000).</summary>
    public long MaxLoopIterations { get; init; } = 100_000;

    /// <summary>How many compiled templates are kept; the cache is emptied when it grows past this (default 10,000).</summary>
    public int MaxCachedTemplates { get; init; } = 10_000;
}

/// <summary>
/// A Jinja2-compatible template engine with Airflow's settings (StrictUndefined, no autoescape, a trailing newline
/// dropped). Templates are compiled once and cached by their text; rendering is thread-safe.
/// </summary>
public sealed class TemplateEngine
{
    private readonly ConcurrentDictionary<string, Template> _cache = new(StringComparer.Ordinal);
    private readonly ExprEnvironment _environment;

    /// <summary>Creates an engine.</summary>
    public TemplateEngine(TemplateEngineOptions? options = null)
    {
        Options = options ?? new TemplateEngineOptions();
        _environment = JinjaFilters.CreateEnvironment();
        RenderOptions = new RenderOptions(Options.MaxOutputLength, Options.MaxLoopIterations);
    }

    /// <summary>A shared engine with the default options.</summary>
    public static TemplateEngine Default { get; } = new();

    /// <summary>The options in force.</summary>
    public TemplateEngineOptions Options { get; }

    /// <summary>How many compiled templates the cache holds.</summary>
    public int CachedCount => _cache.Count;

    internal RenderOptions RenderOptions { get; }

    internal ExprEnvironment Environment => _environment;

    /// <summary>The compiled template for <paramref name="text"/>, from the cache when it was compiled before.</summary>
    /// <exception cref="TemplateException">The text is not a valid template.</exception>
    public Template Compile(string text, string? field = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_cache.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var template = Template.Create(this, text, field);
        if (_cache.Count >= Options.MaxCachedTemplates)
        {
            _cache.Clear();
        }

        return _cache.GetOrAdd(text, template);
    }

    /// <summary>Renders <paramref name="text"/> to a string.</summary>
    /// <param name="text">The template text.</param>
    /// <param name="context">The names the template can read.</param>
    /// <param name="field">The template field the text came from, for error messages.</param>
    /// <exception cref="TemplateException">Compiling or rendering failed.</exception>
    public string Render(string text, TemplateContext context, string? field = null) => Compile(text, field).Render(context, field);

    /// <summary>
    /// Renders as Airflow does with <c>render_template_as_native_obj</c>: a single expression gives its value; other
    /// output is joined and read as a Python literal when it is one (<c>"[1, 2]"</c> becomes a list), else kept as text.
    /// </summary>
    /// <exception cref="TemplateException">Compiling or rendering failed.</exception>
    public object? RenderNative(string text, TemplateContext context, string? field = null) => Compile(text, field).RenderNative(context, field);
}

/// <summary>A compiled template. Obtain one from <see cref="TemplateEngine.Compile"/>.</summary>
public sealed class Template
{
    private readonly TemplateEngine _engine;
    private readonly Node[] _nodes;
    private readonly string _normalized;

    private Template(TemplateEngine engine, string text, string normalized, Node[] nodes)
    {
        _engine = engine;
        Text = text;
        _normalized = normalized;
        _nodes = nodes;
    }

    /// <summary>The template text as given.</summary>
    public string Text { get; }

    internal static Template Create(TemplateEngine engine, string text, string? field)
    {
        var normalized = TemplateCompiler.Normalize(text);
        try
        {
            return new Template(engine, text, normalized, TemplateCompiler.Compile(normalized, engine.Environment, engine.RenderOptions));
        }
        catch (SyntaxErrorException e)
        {
            var (line, column) = Position(normalized, e.Offset);
            throw new TemplateException(e.Message, text, line, column, field, isSyntaxError: true, e);
        }
    }

    /// <summary>Renders to a string.</summary>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public string Render(TemplateContext context, string? field = null) => Render(context, field, loader: null);

    /// <summary>Renders with a loader for <c>{% include %}</c> (name to compiled template, or null when missing).</summary>
    internal string Render(TemplateContext context, string? field, Func<string, Template?>? loader)
    {
        ArgumentNullException.ThrowIfNull(context);
        var output = Run(context, field, native: false, loader);
        return output.Text.ToString();
    }

    /// <summary>
    /// Renders to a native value: null, bool, long, double, string, <see cref="List{T}"/> of object, object[] (tuple),
    /// <see cref="Dictionary{TKey, TValue}"/> with string keys, <see cref="DateTimeOffset"/> or <see cref="TimeSpan"/>.
    /// </summary>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public object? RenderNative(TemplateContext context, string? field = null) => RenderNative(context, field, loader: null);

    /// <summary>Native rendering with a loader for <c>{% include %}</c>.</summary>
    internal object? RenderNative(TemplateContext context, string? field, Func<string, Template?>? loader)
    {
        ArgumentNullException.ThrowIfNull(context);
        var chunks = Run(context, field, native: true, loader).Native!;
        try
        {
            if (chunks.Count == 0)
            {
                return null;
            }

            object? raw;
            if (chunks.Count == 1 && chunks[0] is not string)
            {
                raw = chunks[0];
            }
            else
            {
                var text = string.Concat(chunks.Select(PyOps.Str));
                raw = ValueConversion.TryLiteralEval(text, out var literal) ? literal : text;
            }

            return ValueConversion.ToDotNet(raw);
        }
        catch (PyException e)
        {
            throw Fail(e, field);
        }
    }

    /// <summary>The compiled statements, for <c>{% include %}</c>.</summary>
    internal Node[] Nodes => _nodes;

    /// <summary>The text positions refer to (newlines normalised).</summary>
    internal string Normalized => _normalized;

    private RenderOutput Run(TemplateContext context, string? field, bool native, Func<string, Template?>? loader)
    {
        var options = _engine.RenderOptions;
        var output = new RenderOutput(options.MaxOutputLength, native);
        var scope = new Scope(context.Values, _engine.Environment, new Budget(options.MaxLoopIterations) { Loader = loader });
        try
        {
            using var active = scope.Budget.Activate();
            Node.RenderAll(_nodes, output, scope);
            return output;
        }
        catch (PyException e)
        {
            throw Fail(e, field);
        }
        catch (SiroccoException e) when (e is not TemplateException)
        {
            throw Fail(new PyException(e.Message, e), field);
        }
        catch (Exception e) when (e is InvalidCastException or ArgumentException or IndexOutOfRangeException or FormatException
            or OverflowException or KeyNotFoundException or InvalidOperationException or NullReferenceException)
        {
            // A defect of ours must not take the scheduler down: it fails this render, clearly labelled.
            throw Fail(new PyException(InternalErrorPrefix + e.Message, e), field);
        }
    }

    /// <summary>How the reason of a render that hit a defect of the engine begins.</summary>
    internal const string InternalErrorPrefix = "internal template error: ";

    private TemplateException Fail(PyException e, string? field)
    {
        if (e is IncludedTemplateException included)
        {
            // Point at the included file, where the problem is.
            var inner = included.InnerException is PyException { InnerException: SiroccoException si } ? si : (Exception)included;
            return new TemplateException(included.Message, included.Text, included.Line, included.Column, $"{field ?? "template"} (include '{included.Name}')", isSyntaxError: false, inner);
        }

        var (line, column) = Position(_normalized, e.Offset ?? 0);
        var cause = e.InnerException is SiroccoException s ? s : (Exception)e;
        var reason = e.Message.Replace(PyException.LineMarker, line.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return new TemplateException(reason, Text, line, column, field, isSyntaxError: false, cause);
    }

    /// <summary>1-based line and column of <paramref name="offset"/> in <paramref name="text"/>.</summary>
    internal static (int Line, int Column) Position(string text, int offset)
    {
        offset = Math.Clamp(offset, 0, text.Length);
        var before = text.AsSpan(0, offset);
        return (before.Count('\n') + 1, offset - (before.LastIndexOf('\n') + 1) + 1);
    }
}
