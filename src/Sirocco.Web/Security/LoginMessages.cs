using System.Globalization;

namespace Sirocco.Web.Security;

/// <summary>What a refused sign-in says (the same for known and unknown names).</summary>
internal static class LoginMessages
{
    public static string Locked(TimeSpan left) => string.Create(
        CultureInfo.InvariantCulture,
        $"Too many failed logins for this user name: try again in {Math.Max(1, (int)Math.Ceiling(left.TotalSeconds))} s ([webserver] login_lockout_attempts, login_lockout_seconds)");

    public static string RateLimited(string limit, TimeSpan? retryAfter) => string.Create(
        CultureInfo.InvariantCulture,
        $"Too many sign-in attempts from this address: [webserver] auth_rate_limit allows {limit}{(retryAfter is { } r ? $"; retry in {Math.Max(1, (int)Math.Ceiling(r.TotalSeconds))} s" : string.Empty)}");
}
