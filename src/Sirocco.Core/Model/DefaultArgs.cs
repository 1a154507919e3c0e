using System.Globalization;

namespace Sirocco;

/// <summary>
/// A DAG's <c>default_args</c>: values applied to every task that does not set them itself, keyed by Airflow's
/// parameter names (<c>owner</c>, <c>retries</c>, <c>retry_delay</c>, <c>start_date</c>, <c>namespace</c>, ...), exactly
/// as Airflow applies them. Durations may be <see cref="TimeSpan"/> or a number of seconds.
/// </summary>
public sealed class DefaultArgs : Dictionary<string, object?>
{
    /// <summary>Creates an empty set of default arguments.</summary>
    public DefaultArgs()
        : base(StringComparer.Ordinal)
    {
    }

    /// <summary>The value for <paramref name="key"/> converted to <typeparamref name="T"/>, or null when absent.</summary>
    public T? Get<T>(string key)
        where T : struct
    {
        if (!TryGetValue(key, out var value) || value is null)
        {
            return null;
        }

        return Convert<T>(key, value);
    }

    /// <summary>The text value for <paramref name="key"/>, or null when absent.</summary>
    public string? GetString(string key) => TryGetValue(key, out var value) ? value?.ToString() : null;

    private static T Convert<T>(string key, object value)
        where T : struct
    {
        object? result = (typeof(T).Name, value) switch
        {
            (_, T t) => t,
            (nameof(TimeSpan), double d) => TimeSpan.FromSeconds(d),
            (nameof(TimeSpan), int i) => TimeSpan.FromSeconds(i),
            (nameof(TimeSpan), long l) => TimeSpan.FromSeconds(l),
            (nameof(Int32), long l) when l is >= int.MinValue and <= int.MaxValue => (int)l,
            (nameof(Int32), string s) when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => i,
            (nameof(Boolean), string s) when bool.TryParse(s, out var b) => b,
            (nameof(DateTimeOffset), DateTime dt) => new DateTimeOffset(DateTime.SpecifyKind(dt, dt.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : dt.Kind)),
            (nameof(DateTimeOffset), string s) => AirflowTime.Parse(s),
            (nameof(TriggerRule), string s) => TriggerRuleNames.Parse(s),
            (nameof(WeightRule), string s) => WeightRuleNames.Parse(s),
            _ => null,
        };
        return result is T typed
            ? typed
            : throw new SiroccoException($"default_args['{key}'] must be {typeof(T).Name}, got {value.GetType().Name} '{value}'");
    }
}
