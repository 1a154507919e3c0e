using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sirocco.Web.Infrastructure;

namespace Sirocco.Web.Security;

/// <summary>
/// Checks credentials: passwords against the store's hashes (with a short-lived cache of verified credentials, since a
/// slow hash per API call would cap throughput), bearer tokens signed by this server, and the UI's session user.
/// </summary>
internal sealed class Authenticator
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private const int CacheLimit = 10_000;

    private readonly WebState _state;
    private readonly byte[] _key;
    private readonly ConcurrentDictionary<string, (string Hash, DateTimeOffset Until)> _verified = new(StringComparer.Ordinal);

    public Authenticator(WebState state)
    {
        _state = state;
        _key = state.Config.TryGet("webserver", "secret_key", out var secret) && secret.Length >= 16
            ? SHA256.HashData(Encoding.UTF8.GetBytes(secret))
            : RandomNumberGenerator.GetBytes(32);
    }

    /// <summary>The user for a name and password, or null (unknown, inactive, wrong password).</summary>
    public async Task<Principal?> CheckPasswordAsync(string username, string password, CancellationToken ct)
    {
        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false);
        if (user is null || !user.Active)
        {
            return null;
        }

        var cacheKey = Convert.ToHexString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(username + "\0" + password)));
        var now = _state.Time.GetUtcNow();
        if (_verified.TryGetValue(cacheKey, out var hit) && hit.Until > now && hit.Hash == user.PasswordHash)
        {
            return new Principal(user.Username, Roles.Parse(user.Role));
        }

        if (!PasswordHasher.Verify(password, user.PasswordHash))
        {
            return null;
        }

        if (_verified.Count >= CacheLimit)
        {
            _verified.Clear();
        }

        _verified[cacheKey] = (user.PasswordHash, now + CacheLifetime);
        return new Principal(user.Username, Roles.Parse(user.Role));
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
            return colon <= 0 ? null : await CheckPasswordAsync(decoded[..colon], decoded[(colon + 1)..], context.RequestAborted).ConfigureAwait(false);
        }

        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return ReadToken(header[7..].Trim()) is { } name ? await ActiveUserAsync(name, context.RequestAborted).ConfigureAwait(false) : null;
        }

        return null;
    }

    /// <summary>The current user of a UI session (re-read from the store, so role changes and deletions apply at once).</summary>
    public async Task<Principal?> AuthenticateSessionAsync(HttpContext context)
    {
        var name = context.User.Identity is { IsAuthenticated: true } id ? id.Name : null;
        return name is null ? null : await ActiveUserAsync(name, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A signed token naming the user, valid for <see cref="TokenLifetime"/>.</summary>
    public string IssueToken(string username)
    {
        var expires = (_state.Time.GetUtcNow() + TokenLifetime).ToUnixTimeSeconds();
        var payload = Encoding.UTF8.GetBytes(username + "|" + expires.ToString(CultureInfo.InvariantCulture));
        return Base64Url(payload) + "." + Base64Url(HMACSHA256.HashData(_key, payload));
    }

    private string? ReadToken(string token)
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

        var text = Encoding.UTF8.GetString(payload);
        var bar = text.LastIndexOf('|');
        return bar > 0 && long.TryParse(text[(bar + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            && exp > _state.Time.GetUtcNow().ToUnixTimeSeconds()
            ? text[..bar]
            : null;
    }

    private async Task<Principal?> ActiveUserAsync(string username, CancellationToken ct)
    {
        var user = await _state.Store.GetUserAsync(username, ct).ConfigureAwait(false);
        return user is { Active: true } ? new Principal(user.Username, Roles.Parse(user.Role)) : null;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
