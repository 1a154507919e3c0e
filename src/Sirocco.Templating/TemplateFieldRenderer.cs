using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;

namespace Sirocco.Templating;

/// <summary>How an operator's template fields are rendered.</summary>
public sealed record TemplateFieldOptions
{
    /// <summary>The folder template files are read from (the DAG file's folder); null allows no template files.</summary>
    public string? SearchPath { get; init; }

    /// <summary>
    /// Airflow's <c>template_ext</c>: a string value ending in one of these (for example <c>.sh</c>, <c>.json</c>,
    /// <c>.yaml</c>) names a template file relative to <see cref="SearchPath"/>, whose contents are rendered instead.
    /// </summary>
    public IReadOnlyCollection<string> TemplateExtensions { get; init; } = [];

    /// <summary>
    /// Airflow's <c>render_template_as_native_obj</c>: slots typed <see cref="object"/> receive native values (lists,
    /// numbers, dictionaries); slots typed <see cref="string"/> always receive text.
    /// </summary>
    public bool NativeObjects { get; init; }

    /// <summary>The largest template file read, in bytes (default 1 MiB).</summary>
    public int MaxTemplateFileBytes { get; init; } = 1 << 20;
}

/// <summary>
/// Renders template fields the way Airflow's <c>template_fields</c> are rendered: strings are templates; lists,
/// arrays and dictionary values are walked; other objects (such as Kubernetes model objects) are copied and their
/// public read/write properties walked. The input is never changed: every method returns rendered copies. The
/// reflection here is the host's; templates themselves can never reach it.
/// </summary>
public sealed class TemplateFieldRenderer
{
    private const int MaxDepth = 32;
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();
    private static readonly MethodInfo CloneMethod =
        typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!;

    private readonly TemplateEngine _engine;

    /// <summary>Creates a renderer over an engine.</summary>
    public TemplateFieldRenderer(TemplateEngine engine, TemplateFieldOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        Options = options ?? new TemplateFieldOptions();
    }

    /// <summary>The options in force.</summary>
    public TemplateFieldOptions Options { get; }

    /// <summary>
    /// A copy of <paramref name="target"/> whose named properties (its template fields, by C# property name) are
    /// rendered. Errors name the field path, e.g. <c>EnvVars[MY_VALUE]</c>.
    /// </summary>
    /// <exception cref="TemplateException">A field failed to render.</exception>
    /// <exception cref="ArgumentException">A name is not a public read/write property of the target.</exception>
    public T RenderFields<T>(T target, IEnumerable<string> fieldNames, TemplateContext context)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(fieldNames);
        ArgumentNullException.ThrowIfNull(context);
        var copy = (T)CloneMethod.Invoke(target, null)!;
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var name in fieldNames)
        {
            var property = target.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
            if (property is null || !property.CanRead || property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                throw new ArgumentException($"'{name}' is not a public read/write property of {target.GetType().Name}", nameof(fieldNames));
            }

            property.SetValue(copy, Walk(property.GetValue(target), property.PropertyType, name, context, visited, 0));
        }

        return copy;
    }

    /// <summary>Renders one value (a string, a collection or an object) and returns the rendered copy.</summary>
    /// <param name="value">The value of the field.</param>
    /// <param name="context">The template context.</param>
    /// <param name="field">The field's name, used in error messages.</param>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public object? RenderValue(object? value, TemplateContext context, string field)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Walk(value, typeof(object), field, context, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
    }

    /// <summary>Renders one string template field (with the template-file rule) to text.</summary>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public string RenderString(string value, TemplateContext context, string field)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(context);
        var (text, isFile) = Resolve(value, field);
        var name = isFile ? $"{field} ({value})" : field;
        return _engine.Compile(text, name).Render(context, name, Include);
    }

    /// <summary>The loader behind <c>{% include %}</c>: files under the search path only.</summary>
    private Template? Include(string name) =>
        TryRead(name, out var text) ? _engine.Compile(text, name) : null;

    private object? Walk(object? value, Type slot, string path, TemplateContext context, HashSet<object> visited, int depth)
    {
        if (value is null)
        {
            return null;
        }

        if (depth > MaxDepth)
        {
            throw new ArgumentException($"template field '{path}' is nested more than {MaxDepth} levels deep");
        }

        if (value is string s)
        {
            if (Options.NativeObjects && slot != typeof(string))
            {
                var (text, isFile) = Resolve(s, path);
                var name = isFile ? $"{path} ({s})" : path;
                return _engine.Compile(text, name).RenderNative(context, name, Include);
            }

            return RenderString(s, context, path);
        }

        var type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || type.IsValueType || value is decimal)
        {
            return value;
        }

        if (!visited.Add(value))
        {
            return value;
        }

        try
        {
            switch (value)
            {
                case Array array:
                    var element = type.GetElementType()!;
                    var newArray = Array.CreateInstance(element, array.Length);
                    for (var i = 0; i < array.Length; i++)
                    {
                        newArray.SetValue(Walk(array.GetValue(i), element, $"{path}[{i}]", context, visited, depth + 1), i);
                    }

                    return newArray;
                case IDictionary dict when TryCreate(type, out var created, dict) && created is IDictionary newDict:
                    var valueType = type.IsGenericType && type.GetGenericArguments() is { Length: 2 } ga ? ga[1] : typeof(object);
                    foreach (DictionaryEntry e in dict)
                    {
                        newDict[e.Key] = Walk(e.Value, valueType, $"{path}[{Convert.ToString(e.Key, CultureInfo.InvariantCulture)}]", context, visited, depth + 1);
                    }

                    return newDict;
                case IList list when TryCreate(type, out var created, null) && created is IList newList:
                    var itemType = type.IsGenericType && type.GetGenericArguments() is { Length: 1 } la ? la[0] : typeof(object);
                    for (var i = 0; i < list.Count; i++)
                    {
                        newList.Add(Walk(list[i], itemType, $"{path}[{i}]", context, visited, depth + 1));
                    }

                    return newList;
                case IEnumerable:
                    // A collection we cannot rebuild (read-only or without a parameterless constructor): left as is.
                    return value;
            }

            var properties = Properties.GetOrAdd(type, static t => [.. t
                .GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetMethod is { IsPublic: true } && p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)]);
            if (properties.Length == 0)
            {
                return RenderStringLike(value, type, path, context);
            }

            var copy = CloneMethod.Invoke(value, null)!;
            foreach (var p in properties)
            {
                var current = p.GetValue(value);
                var rendered = Walk(current, p.PropertyType, $"{path}.{p.Name}", context, visited, depth + 1);
                if (!ReferenceEquals(rendered, current))
                {
                    p.SetValue(copy, rendered);
                }
            }

            return copy;
        }
        finally
        {
            visited.Remove(value);
        }
    }

    /// <summary>A value type built from text (such as a resource quantity): its text is rendered and parsed back.</summary>
    private object RenderStringLike(object value, Type type, string path, TemplateContext context)
    {
        var ctor = type.GetConstructor([typeof(string)]);
        var text = value.ToString();
        if (ctor is null || text is null || !(text.Contains("{{", StringComparison.Ordinal) || text.Contains("{%", StringComparison.Ordinal)))
        {
            return value;
        }

        return ctor.Invoke([RenderString(text, context, path)]);
    }

    /// <summary>An empty collection of the same type; a dictionary keeps its key comparer.</summary>
    private static bool TryCreate(Type type, out object? instance, IDictionary? like)
    {
        instance = null;
        if (like is not null && type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>)
            && type.GetProperty("Comparer")?.GetValue(like) is { } comparer)
        {
            instance = Activator.CreateInstance(type, comparer);
            return instance is not null;
        }

        if (type.GetConstructor(Type.EmptyTypes) is null)
        {
            return false;
        }

        instance = Activator.CreateInstance(type);
        return instance is not null && !(instance is IList { IsReadOnly: true } || instance is IDictionary { IsReadOnly: true });
    }

    /// <summary>The template text: the value itself, or the contents of the template file it names.</summary>
    private (string Text, bool IsFile) Resolve(string value, string field)
    {
        var ext = Options.TemplateExtensions.FirstOrDefault(e => value.EndsWith(e, StringComparison.Ordinal));
        if (ext is null)
        {
            return (value, false);
        }

        return TryRead(value, out var text) ? (text, true) : throw NotFound(value, field);
    }

    /// <summary>Reads a template file under the search path; rooted names and <c>..</c> never leave it.</summary>
    private bool TryRead(string name, out string text)
    {
        text = string.Empty;
        if (Options.SearchPath is null || name.Length == 0 || Path.IsPathRooted(name) || name.Split('/', '\\').Any(part => part == ".."))
        {
            return false;
        }

        var root = Path.GetFullPath(Options.SearchPath);
        var full = Path.GetFullPath(Path.Combine(root, name));
        if (!full.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(full))
        {
            return false;
        }

        if (new FileInfo(full).Length > Options.MaxTemplateFileBytes)
        {
            throw new TemplateException($"template file {name} is larger than {Options.MaxTemplateFileBytes} bytes", name, 1, 1, null, isSyntaxError: false);
        }

        text = File.ReadAllText(full);
        return true;
    }

    private TemplateException NotFound(string value, string field) =>
        new($"TemplateNotFound: {value} (searched in {Options.SearchPath ?? "no template folder"})", value, 1, 1, field, isSyntaxError: false);
}
