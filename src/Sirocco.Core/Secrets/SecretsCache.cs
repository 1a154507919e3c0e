using System.Collections.Concurrent;

namespace Sirocco.Secrets;

/// <summary>
/// The answers of a secrets backend, found or not, kept for a lifetime (<c>[secrets] cache_ttl_seconds</c>) so that a
/// template reading the same Variable many times asks the backend once. Concurrent askers of one name share one
/// lookup; a lookup that failed is not kept.
/// </summary>
public sealed class SecretsCache
{
    private readonly ConcurrentDictionary<string, (Lazy<Task<string?>> Value, DateTimeOffset At)> _entries = new(StringComparer.Ordinal);
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;

    /// <summary>Creates a cache whose answers live for <paramref name="lifetime"/> (zero: nothing is kept).</summary>
    public SecretsCache(TimeSpan lifetime, TimeProvider? time = null)
    {
        _lifetime = lifetime;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The kept answer for <paramref name="name"/>, else what <paramref name="lookup"/> answers (then kept).</summary>
    public async Task<string?> GetAsync(string name, Func<string, Task<string?>> lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (_lifetime <= TimeSpan.Zero)
        {
            return await lookup(name).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        // Lazy: AddOrUpdate may call its factories more than once, but only the stored entry's lookup starts.
        var entry = _entries.AddOrUpdate(
            name,
            n => (new Lazy<Task<string?>>(() => lookup(n)), now),
            (n, old) => now - old.At > _lifetime || old.Value.Value.IsFaulted || old.Value.Value.IsCanceled ? (new Lazy<Task<string?>>(() => lookup(n)), now) : old);
        return await entry.Value.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
