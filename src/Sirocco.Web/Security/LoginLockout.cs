using System.Collections.Concurrent;

namespace Sirocco.Web.Security;

/// <summary>
/// Locks a user name for a while after too many failed passwords in a row (<c>[webserver] login_lockout_attempts</c>
/// and <c>login_lockout_seconds</c>). Unknown names are counted the same way, so a lock says nothing about whether a
/// user exists. Kept in memory per web server; a successful login clears the count.
/// </summary>
internal sealed class LoginLockout
{
    private const int MaxTracked = 100_000;

    private readonly int _attempts;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public LoginLockout(int attempts, TimeSpan duration, TimeProvider time)
    {
        _attempts = attempts;
        _duration = duration;
        _time = time;
    }

    /// <summary>How long the name stays locked, or null when it is not.</summary>
    public TimeSpan? LockedFor(string username)
    {
        if (_attempts <= 0 || !_entries.TryGetValue(Key(username), out var entry))
        {
            return null;
        }

        lock (entry)
        {
            var left = entry.LockedUntil - _time.GetUtcNow();
            return left > TimeSpan.Zero ? left : null;
        }
    }

    /// <summary>Counts a failed password; true when this failure locks the name.</summary>
    public bool Fail(string username)
    {
        if (_attempts <= 0)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (_entries.Count >= MaxTracked)
        {
            foreach (var (key, old) in _entries)
            {
                if (old.LastFailure + _duration < now)
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }

        var entry = _entries.GetOrAdd(Key(username), _ => new Entry());
        lock (entry)
        {
            // Failures long apart do not add up: the count restarts after a quiet lockout period.
            if (entry.LastFailure + _duration < now)
            {
                entry.Failures = 0;
            }

            entry.LastFailure = now;
            entry.Failures++;
            if (entry.Failures >= _attempts)
            {
                entry.Failures = 0;
                entry.LockedUntil = now + _duration;
                return true;
            }

            return false;
        }
    }

    /// <summary>A correct password: the name's count starts again.</summary>
    public void Succeed(string username) => _entries.TryRemove(Key(username), out _);

    private static string Key(string username) => username.Trim().ToUpperInvariant();

    private sealed class Entry
    {
        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset LockedUntil { get; set; }
    }
}
