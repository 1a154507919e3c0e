using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;

namespace Sirocco.Web.Security;

/// <summary>The result of a password check: the user, or why not (a locked name says for how long).</summary>
internal sealed record LoginOutcome(Principal? User, TimeSpan? LockedFor = null);

/// <summary>
/// Checks credentials: passwords against the store's hashes (with a short-lived cache of verified credentials, since a
/// slow hash per API call would cap throughput), bearer tokens signed by this server, and the UI's session user.
/// Sessions and tokens carry the time they were issued and a stamp of the password hash: a logout (which moves the
/// user's <see cref="User.SessionsValidAfter"/>) or a password change ends every one of them.
/// </summary>
internal sealed class Authenticator
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);
    public const string StampClaim = "sirocco:stamp";
    public const string IssuedClaim = "sirocco:iat";
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private const int CacheLimit = 10_000;

    /// <summary>A hash no password matches, checked for unknown users so that they cost what known ones cost.</summary>
    private static readonly Lazy<string> DecoyHash = new(() => PasswordHasher.Create(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))));

    private readonly WebState _state;
    private readonly byte[] _key;
    private readonly LoginLockout _lockout;
    private readonly ConcurrentDictionary<string, (string Hash, DateTimeOffset Until)> _verified = new(StringComparer.Ordinal);

    public Authenticator(WebState state)
    {
        _state = state;
        _key = state.Config.TryGet("webserver", "secret_key", out var secret) && secret.Length >= 16
            ? SHA256.HashData(Encoding.UTF8.GetBytes(secret))
            : RandomNumberGenerator.GetBytes(32);
        _lockout = new LoginLockout(
            state.Config.GetInt("webserver", "login_lockout_attempts"),
            TimeSpan.FromSeconds(state.Config.GetInt("webserver", "login_lockout_seconds")),
            state.Time);
    }

    /// <summary>Checks a name and password: the user, or null with the lock's remaining time when the name is locked.</summary>
    public async Task<LoginOutcome> CheckPasswordAsync(string username, string password, CancellationToken ct)
    {
        if (_lockout.LockedFor(username) is { } locked)
        {
            return new LoginOutcome(null, locked);
        }

        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false);
        var cacheKey = Convert.ToHexString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(username + "\0" + password)));
        var now = _state.Time.GetUtcNow();
        if (user is { Active: true } && _verified.TryGetValue(cacheKey, out var hit) && hit.Until > now && hit.Hash == user.PasswordHash)
        {
            return new LoginOutcome(new Principal(user.Username, Roles.Parse(user.Role)));
        }

        // Always one full hash check, whether the user exists, is inactive or not.
        var check = PasswordHasher.Check(password, user?.PasswordHash ?? DecoyHash.Value);
        if (user is not { Active: true } || check == PasswordVerificationResult.Failed)
        {
            return new LoginOutcome(null, _lockout.Fail(username) ? _lockout.LockedFor(username) : null);
        }

        _lockout.Succeed(username);
        if (check == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user = user with { PasswordHash = PasswordHasher.Create(password) };
            await _state.Store.UpsertUserAsync(user, ct).ConfigureAwait(false);
        }

        if (_verified.Count >= CacheLimit)
        {
            _verified.Clear();
        }

        _verified[cacheKey] = (user.PasswordHash, now + CacheLifetime);
        return new LoginOutcome(new Principal(user.Username, Roles.Parse(user.Role)));
    }

    /// <summary>The API caller from <c>Authorization: Basic</c> or <c>Bearer</c>, or null.</summary>
    public async Task<Principal?> AuthenticateApiAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            }
            catch (FormatException)
            {
                return null;
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon <= 0 ? null : (await CheckPasswordAsync(decoded[..colon], decoded[(colon + 1)..], context.RequestAborted).ConfigureAwait(false)).User;
        }

        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return ReadToken(header[7..].Trim()) is { } token
                ? await ValidUserAsync(token.Name, token.Stamp, token.IssuedMs, context.RequestAborted).ConfigureAwait(false)
                : null;
        }

        return null;
    }

    /// <summary>
    /// The current user of a UI session, re-read from the store: role changes, deactivation, deletion, logout elsewhere
    /// and a password change apply at once.
    /// </summary>
    public async Task<Principal?> AuthenticateSessionAsync(HttpContext context)
    {
        if (context.User.Identity is not { IsAuthenticated: true, Name: { } name })
        {
            return null;
        }

        var stamp = context.User.FindFirst(StampClaim)?.Value;
        var issued = long.TryParse(context.User.FindFirst(IssuedClaim)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? ms : -1;
        return stamp is null ? null : await ValidUserAsync(name, stamp, issued, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The claims of a new UI session for a user who just signed in.</summary>
    public async Task<ClaimsPrincipal> SessionAsync(string username, string scheme, CancellationToken ct)
    {
        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false) ?? throw new InvalidOperationException("the user vanished while signing in");
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, user.Username),
                new Claim(StampClaim, Stamp(user.PasswordHash)),
                new Claim(IssuedClaim, _state.Time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
            ],
            scheme);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>A signed token naming the user, valid for <see cref="TokenLifetime"/>, until logout or a password change.</summary>
    public async Task<string> IssueTokenAsync(string username, CancellationToken ct)
    {
        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false) ?? throw new InvalidOperationException("the user vanished while signing in");
        var now = _state.Time.GetUtcNow();
        var payload = Encoding.UTF8.GetBytes(string.Join(
            '|', user.Username, (now + TokenLifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), Stamp(user.PasswordHash)));
        return Base64Url(payload) + "." + Base64Url(HMACSHA256.HashData(_key, payload));
    }

    /// <summary>Ends every session and token of the user issued until now (a logout).</summary>
    public async Task RevokeAsync(string username, CancellationToken ct)
    {
        if (await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false) is { } user)
        {
            await _state.Store.UpsertUserAsync(user with { SessionsValidAfter = _state.Time.GetUtcNow() }, ct).ConfigureAwait(false);
        }
    }

    private (string Name, long IssuedMs, string Stamp)? ReadToken(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return null;
        }

        byte[] payload, mac;
        try
        {
            payload = FromBase64Url(token[..dot]);
            mac = FromBase64Url(token[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(_key, payload)))
        {
            return null;
        }

        // name|expires (s)|issued (ms)|stamp; a name may contain '|', so the fields are read from the end.
        var parts = Encoding.UTF8.GetString(payload).Split('|');
        if (parts.Length < 4
            || !long.TryParse(parts[^3], NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            || !long.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var issued)
            || exp <= _state.Time.GetUtcNow().ToUnixTimeSeconds())
        {
            return null;
        }

        return (string.Join('|', parts[..^3]), issued, parts[^1]);
    }

    private async Task<Principal?> ValidUserAsync(string username, string stamp, long issuedMs, CancellationToken ct)
    {
        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false);
        if (user is not { Active: true }
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stamp), Encoding.ASCII.GetBytes(Stamp(user.PasswordHash)))
            || (user.SessionsValidAfter is { } after && issuedMs < after.ToUnixTimeMilliseconds()))
        {
            return null;
        }

        return new Principal(user.Username, Roles.Parse(user.Role));
    }

    /// <summary>A short keyed digest of the password hash: it changes when the password does.</summary>
    private string Stamp(string passwordHash) => Base64Url(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("stamp\0" + passwordHash)))[..22];

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
