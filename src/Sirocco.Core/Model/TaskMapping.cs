using System.Text.Json;

namespace Sirocco;

/// <summary>Where the values of a mapped argument come from (Airflow's dynamic task mapping).</summary>
public abstract record MapSource
{
    private protected MapSource()
    {
    }

    /// <summary>A transformation of each item before it is used (Airflow's <c>XComArg.map</c>), or null.</summary>
    public Func<JsonElement, JsonElement>? Transform { get; init; }

    /// <summary>A description for logs and errors.</summary>
    public abstract string Describe();
}

/// <summary>Values written in the DAG file: a JSON array, or an object whose items are mapped as <c>[key, value]</c> pairs.</summary>
/// <param name="Values">The array or object.</param>
public sealed record LiteralMapSource(JsonElement Values) : MapSource
{
    /// <inheritdoc/>
    public override string Describe() => Values.ValueKind == JsonValueKind.Object ? "a dict" : "a list";
}

/// <summary>
/// The XCom an upstream task pushed (its <c>return_value</c> by default): a list, or a dict mapped as <c>[key, value]</c>
/// pairs. From a mapped upstream task, the list of its instances' values in map index order.
/// </summary>
/// <param name="TaskId">The upstream task.</param>
/// <param name="Key">The XCom key.</param>
public sealed record XComMapSource(string TaskId, string Key = XComEntry.ReturnValueKey) : MapSource
{
    /// <inheritdoc/>
    public override string Describe() => Key == XComEntry.ReturnValueKey ? $"the output of {TaskId}" : $"XCom '{Key}' of {TaskId}";
}

/// <summary>
/// Several sources side by side (Airflow's <c>XComArg.zip</c>): item i is the list of each source's item i; the
/// shortest source ends it, or with <see cref="FillValue"/> the longest (missing items take the fill value).
/// </summary>
/// <param name="Sources">The sources zipped, first the one <c>zip</c> was called on.</param>
/// <param name="FillValue">The fill value, when one was given.</param>
public sealed record ZipMapSource(IReadOnlyList<MapSource> Sources, JsonElement? FillValue = null) : MapSource
{
    /// <inheritdoc/>
    public override string Describe() => "zip(" + string.Join(", ", Sources.Select(s => s.Describe())) + ")";

    /// <summary>Zips each source's items (already resolved) into lists.</summary>
    public JsonElement Combine(IReadOnlyList<IReadOnlyList<JsonElement>> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var length = items.Count == 0 ? 0 : FillValue is null ? items.Min(i => i.Count) : items.Max(i => i.Count);
        var fill = FillValue ?? default;
        return JsonSerializer.SerializeToElement(Enumerable.Range(0, length).Select(i => items.Select(list => i < list.Count ? list[i] : fill).ToList()).ToList());
    }
}

/// <summary>
/// How a task is mapped into one instance per item: Airflow's <c>expand</c> (the cross product of its arguments' values,
/// the last argument varying fastest) or <c>expand_kwargs</c> (one instance per dict of arguments).
/// </summary>
public sealed class TaskMapping
{
    private readonly List<KeyValuePair<string, MapSource>> _arguments = [];

    /// <summary>The arguments of <c>expand</c>: property name and source, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, MapSource>> Arguments => _arguments;

    /// <summary>The source of <c>expand_kwargs</c> (each item a dict of keyword to value), or null.</summary>
    public MapSource? Kwargs { get; internal set; }

    /// <summary>The upstream tasks whose XComs the mapping reads.</summary>
    public IEnumerable<string> UpstreamTaskIds =>
        _arguments.Select(a => a.Value).Append(Kwargs).SelectMany(Flatten).OfType<XComMapSource>().Select(s => s.TaskId).Distinct(StringComparer.Ordinal);

    internal void Add(string property, MapSource source) => _arguments.Add(new(property, source));

    private static IEnumerable<MapSource?> Flatten(MapSource? source) =>
        source is ZipMapSource zip ? zip.Sources.SelectMany(Flatten) : [source];

    /// <summary>
    /// The arguments of one mapped instance, given each source's items (resolved by the scheduler): for <c>expand</c>
    /// the cross product's <paramref name="mapIndex"/>-th combination, for <c>expand_kwargs</c> the item's keys.
    /// </summary>
    /// <param name="items">Each source's items, in the order of <see cref="Arguments"/> (or the one <see cref="Kwargs"/> source).</param>
    /// <param name="mapIndex">The instance's index.</param>
    public IReadOnlyList<KeyValuePair<string, JsonElement>> ArgumentsAt(IReadOnlyList<IReadOnlyList<JsonElement>> items, int mapIndex)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (Kwargs is not null)
        {
            var item = items[0][mapIndex];
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new SiroccoException($"expand_kwargs: item {mapIndex} of {Kwargs.Describe()} is {Kind(item)}, not a dict of arguments");
            }

            return [.. item.EnumerateObject().Select(p => new KeyValuePair<string, JsonElement>(p.Name, p.Value))];
        }

        var result = new KeyValuePair<string, JsonElement>[_arguments.Count];
        var rest = mapIndex;
        for (var i = _arguments.Count - 1; i >= 0; i--)
        {
            var list = items[i];
            result[i] = new(_arguments[i].Key, list[rest % list.Count]);
            rest /= list.Count;
        }

        return result;
    }

    /// <summary>How many instances the items make: the product of the lengths (one list for <c>expand_kwargs</c>).</summary>
    public static long Length(IReadOnlyList<IReadOnlyList<JsonElement>> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        long n = 1;
        foreach (var list in items)
        {
            n *= list.Count;
        }

        return n;
    }

    /// <summary>
    /// The items of a mapped value as Airflow iterates them: a list's elements, a dict's <c>[key, value]</c> pairs;
    /// anything else is an error naming where it came from.
    /// </summary>
    public static IReadOnlyList<JsonElement> Items(JsonElement value, MapSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        IReadOnlyList<JsonElement> items = value.ValueKind switch
        {
            JsonValueKind.Array => [.. value.EnumerateArray()],
            JsonValueKind.Object => [.. value.EnumerateObject().Select(p => JsonSerializer.SerializeToElement(new object[] { p.Name, p.Value }))],
            _ => throw new SiroccoException($"cannot map over {source.Describe()}: it is {Kind(value)}, and only a list or a dict can be mapped over"),
        };
        return source.Transform is { } f ? [.. items.Select(f)] : items;
    }

    internal static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"a str ({Short(value)})",
        JsonValueKind.Number => $"a number ({Short(value)})",
        JsonValueKind.True or JsonValueKind.False => $"a bool ({Short(value)})",
        JsonValueKind.Null or JsonValueKind.Undefined => "None",
        JsonValueKind.Array => "a list",
        _ => "a dict",
    };

    private static string Short(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length > 60 ? text[..60] + "…" : text;
    }
}
