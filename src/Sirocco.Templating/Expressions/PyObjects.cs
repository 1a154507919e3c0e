using System.Collections;

namespace Sirocco.Templating.Expressions;

/// <summary>
/// An object a template may read attributes of. Only what an implementation answers is reachable: there is no
/// reflection from templates, so this interface is the whole sandbox boundary for objects.
/// </summary>
public interface IPyObject
{
    /// <summary>The Python-style type name used in error messages (<c>'dict object' has no attribute 'x'</c>).</summary>
    string TypeName { get; }

    /// <summary>Looks an attribute up; false when the object has none of that name.</summary>
    bool TryGetAttr(string name, out object? value);
}

/// <summary>An object that also answers <c>obj[key]</c>.</summary>
public interface IPyIndexable
{
    /// <summary>Looks an item up; false when there is none.</summary>
    bool TryGetItem(object? key, out object? value);
}

/// <summary>Arguments of a call: positional values and keyword values in source order.</summary>
public sealed class CallArgs
{
    /// <summary>No arguments.</summary>
    public static readonly CallArgs Empty = new([], null);

    /// <summary>Positional arguments, then keyword arguments in call order (null when none).</summary>
    public CallArgs(object?[] positional, List<KeyValuePair<string, object?>>? keywords)
    {
        Positional = positional;
        Keywords = keywords;
    }

    /// <summary>The positional arguments.</summary>
    public object?[] Positional { get; }

    /// <summary>The keyword arguments in call order, or null.</summary>
    public List<KeyValuePair<string, object?>>? Keywords { get; }

    /// <summary>The number of positional arguments.</summary>
    public int Count => Positional.Length;

    /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index >= 0 && index < Positional.Length)
        {
            return Positional[index];
        }

        if (Keywords is not null)
        {
            foreach (var kv in Keywords)
            {
                if (kv.Key == name)
                {
                    return kv.Value;
                }
            }
        }

        return fallback;
    }

    /// <summary>Whether the argument was given at all.</summary>
    public bool Has(int index, string name)
    {
        if (index >= 0 && index < Positional.Length)
        {
            return true;
        }

        return Keywords?.Exists(kv => kv.Key == name) == true;
    }

    /// <summary>A required argument; the error reads like Python's.</summary>
    public object? Required(int index, string name, string function) =>
        Has(index, name)
            ? Get(index, name)
            : throw new PyException($"{function}() missing required argument: '{name}'");

    /// <summary>Fails when more positional arguments were given than the function takes.</summary>
    internal void AtMost(int count, string function)
    {
        if (Positional.Length > count)
        {
            throw new PyException($"{function}() takes at most {count} positional argument{(count == 1 ? string.Empty : "s")} ({Positional.Length} given)");
        }
    }
}

/// <summary>Something a template may call.</summary>
public interface IPyCallable
{
    /// <summary>Calls the value with Python's positional and keyword arguments.</summary>
    object? Invoke(CallArgs args);
}

/// <summary>A function handed to templates.</summary>
public sealed class PyFunction : IPyObject, IPyCallable
{
    private readonly Func<CallArgs, object?> _body;

    /// <summary>A callable named <paramref name="name"/> whose body is <paramref name="body"/>.</summary>
    public PyFunction(string name, Func<CallArgs, object?> body)
    {
        Name = name;
        _body = body;
    }

    /// <summary>The function's name, as <c>__name__</c> gives it.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public string TypeName => "function";

    /// <inheritdoc />
    public object? Invoke(CallArgs args) => _body(args);

    /// <inheritdoc />
    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    /// <inheritdoc />
    public override string ToString() => $"<function {Name}>";
}

/// <summary>A Python tuple: an immutable sequence.</summary>
public sealed class PyTuple : IReadOnlyList<object?>
{
    /// <summary>The empty tuple.</summary>
    public static readonly PyTuple Empty = new([]);

    /// <summary>A tuple of <paramref name="items"/> (not copied).</summary>
    public PyTuple(object?[] items) => Items = items;

    /// <summary>The tuple's items.</summary>
    public object?[] Items { get; }

    /// <inheritdoc />
    public int Count => Items.Length;

    /// <inheritdoc />
    public object? this[int index] => Items[index];

    /// <inheritdoc />
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>A Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
public sealed class PyDict : Dictionary<object, object?>
{
    /// <summary>An empty dict with Python's key equality (<c>1 == 1.0 == True</c>).</summary>
    public PyDict()
        : base(PyEqualityComparer.Instance)
    {
    }

    /// <summary>An empty dict with room for <paramref name="capacity"/> keys.</summary>
    public PyDict(int capacity)
        : base(capacity, PyEqualityComparer.Instance)
    {
    }
}

/// <summary>Python's <c>None</c> as a dictionary key (dictionaries cannot hold a null key).</summary>
public sealed class NoneKey
{
    internal static readonly NoneKey Instance = new();

    private NoneKey()
    {
    }
}

/// <summary>Python equality and hashing for dictionary keys.</summary>
public sealed class PyEqualityComparer : IEqualityComparer<object>
{
    /// <summary>The one comparer.</summary>
    public static readonly PyEqualityComparer Instance = new();

    /// <inheritdoc />
    public new bool Equals(object? x, object? y) => PyOps.Eq(Unkey(x), Unkey(y));

    /// <inheritdoc />
    public int GetHashCode(object obj)
    {
        return obj switch
        {
            string s => s.GetHashCode(StringComparison.Ordinal),
            bool b => b ? 1 : 0,
            long l => l.GetHashCode(),
            double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => ((long)d).GetHashCode(),
            double d => d.GetHashCode(),
            PyTuple t => t.Items.Aggregate(17, (h, i) => (h * 31) + (i is null ? 0 : GetHashCode(i))),
            _ => obj.GetHashCode(),
        };
    }

    /// <summary>The dictionary key for a value (None has a stand-in, since .NET keys cannot be null).</summary>
    public static object Key(object? value) => value ?? NoneKey.Instance;

    /// <summary>The value of a dictionary key (the stand-in back to None).</summary>
    public static object? Unkey(object? key) => key is NoneKey ? null : key;
}

/// <summary>An error raised while evaluating: the message reads as Python's or Jinja2's would.</summary>
public class PyException : Exception
{
    /// <summary>Stands for the line number in a message until the source text is known.</summary>
    internal const string LineMarker = "\u0001";

    /// <summary>Where in the source the error happened, once known.</summary>
    public int? Offset { get; set; }

    /// <summary>A Python error with Python's message.</summary>
    public PyException(string message)
        : base(message)
    {
    }

    /// <summary>A Python error caused by <paramref name="inner"/>.</summary>
    public PyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A use of an undefined value under Airflow's StrictUndefined.</summary>
internal sealed class UndefinedException : PyException
{
    public UndefinedException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The value of a missing name, attribute or item. Under StrictUndefined any use except <c>is defined</c> and the
/// <c>default</c> filter fails with <see cref="Message"/>.
/// </summary>
internal sealed class Undefined
{
    public Undefined(string message) => Message = message;

    public string Message { get; }

    /// <summary>
    /// Jinja2's plain (not strict) Undefined, which <c>a if b</c> without <c>else</c> yields even under
    /// StrictUndefined: it prints as nothing, is false and iterates as empty; other uses still fail.
    /// </summary>
    public bool IsLenient { get; init; }

    /// <summary>Where the undefined value was produced, or -1.</summary>
    public int Offset { get; set; } = -1;

    public static Undefined Name(string name, int offset) => new($"'{name}' is undefined") { Offset = offset };

    public static Undefined Attribute(object? owner, object? name) =>
        name is string s
            ? new($"'{PyOps.ObjectTypeRepr(owner)}' has no attribute '{s}'")
            : new($"{PyOps.ObjectTypeRepr(owner)} has no element {PyOps.Repr(name)}");

    public UndefinedException Fail() => new(Message) { Offset = Offset >= 0 ? Offset : null };
}
