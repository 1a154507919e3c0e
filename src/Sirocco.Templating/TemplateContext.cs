using Sirocco.Templating.Expressions;

namespace Sirocco.Templating;

/// <summary>
/// The names a template can read. Values are copied into the template's value model when set: text, numbers,
/// booleans, dates (<see cref="DateTimeOffset"/>), durations (<see cref="TimeSpan"/>), JSON, dictionaries and
/// sequences of those. Other .NET objects are refused, so a template can never reach into arbitrary objects.
/// </summary>
public sealed class TemplateContext
{
    internal TemplateContext(Dictionary<string, object?> values) => Values = values;

    /// <summary>Creates an empty context.</summary>
    public TemplateContext()
        : this(new Dictionary<string, object?>(StringComparer.Ordinal))
    {
    }

    internal Dictionary<string, object?> Values { get; }

    /// <summary>The names defined.</summary>
    public IReadOnlyCollection<string> Names => Values.Keys;

    /// <summary>Defines or replaces <paramref name="name"/>; returns this context for chaining.</summary>
    /// <exception cref="ArgumentException">The value is of a type templates cannot hold.</exception>
    public TemplateContext Set(string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            Values[name] = PyOps.FromDotNet(value);
        }
        catch (PyException e)
        {
            throw new ArgumentException(e.Message, nameof(value), e);
        }

        return this;
    }

    /// <summary>
    /// Defines a function templates may call: it receives the positional arguments and the keyword arguments as
    /// .NET values (see <see cref="Template.RenderNative(TemplateContext, string?)"/> for the mapping) and returns a value <see cref="Set"/> accepts.
    /// </summary>
    public TemplateContext SetFunction(string name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?> function)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(function);
        Values[name] = new PyFunction(name, args =>
        {
            var kwargs = (args.Keywords ?? []).ToDictionary(kv => kv.Key, kv => ValueConversion.ToDotNet(kv.Value), StringComparer.Ordinal);
            return PyOps.FromDotNet(function([.. args.Positional.Select(ValueConversion.ToDotNet)], kwargs));
        });
        return this;
    }

    /// <summary>A copy whose later changes do not affect this context.</summary>
    public TemplateContext Copy() => new(new Dictionary<string, object?>(Values, StringComparer.Ordinal));
}
