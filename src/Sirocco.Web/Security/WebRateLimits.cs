using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sirocco.Configuration;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Ui;

namespace Sirocco.Web.Security;

/// <summary>
/// Rate limits of the sign-in endpoints with ASP.NET Core's rate limiter, per client address: <c>[webserver]
/// auth_rate_limited</c> and <c>auth_rate_limit</c> (Airflow's options and notation, e.g. <c>5 per 40 second</c>).
/// </summary>
internal static partial class WebRateLimits
{
    public static void Add(IServiceCollection services, SiroccoConfig config, WebState state)
    {
        var limited = config.GetBool("webserver", "auth_rate_limited");
        var text = config.Get("webserver", "auth_rate_limit", "5 per 40 second")!;
        var (permits, window) = Parse(text);
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(SiroccoWebServer.AuthRateLimitPolicy, context => limited
                ? RateLimitPartition.GetFixedWindowLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0, AutoReplenishment = true })
                : RateLimitPartition.GetNoLimiter("unlimited"));
            o.OnRejected = async (rejected, ct) =>
            {
                var http = rejected.HttpContext;
                TimeSpan? retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : null;
                if (retry is { } r)
                {
                    http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(r.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                state.Warn($"web server: sign-in attempts from {http.Connection.RemoteIpAddress} refused by [webserver] auth_rate_limit ({text})");
                var message = LoginMessages.RateLimited(text, retry);
                if (http.Request.Path.StartsWithSegments("/login", StringComparison.Ordinal))
                {
                    await UiPages.LoginPage(http, message, 429).ExecuteAsync(http).ConfigureAwait(false);
                }
                else
                {
                    await Problem.WriteAsync(http, 429, "Too Many Requests", message).ConfigureAwait(false);
                }
            };
        });
    }

    /// <summary>Reads <c>N per [M] second|minute|hour|day</c> or <c>N/second</c> (the notation Airflow's limiter takes).</summary>
    public static (int Permits, TimeSpan Window) Parse(string text)
    {
        var m = LimitRegex().Match(text.Trim());
        if (!m.Success || !int.TryParse(m.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new SiroccoException($"[webserver] auth_rate_limit '{text}' is not valid: expected e.g. '5 per 40 second' or '10/minute'");
        }

        var count = m.Groups["m"].Success ? int.Parse(m.Groups["m"].Value, NumberStyles.None, CultureInfo.InvariantCulture) : 1;
        var unit = m.Groups["unit"].Value.ToUpperInvariant().TrimEnd('S') switch
        {
            "SECOND" => TimeSpan.FromSeconds(1),
            "MINUTE" => TimeSpan.FromMinutes(1),
            "HOUR" => TimeSpan.FromHours(1),
            _ => TimeSpan.FromDays(1),
        };
        return count < 1
            ? throw new SiroccoException($"[webserver] auth_rate_limit '{text}' is not valid: the window must be at least 1 {m.Groups["unit"].Value}")
            : (n, unit * count);
    }

    [GeneratedRegex(@"^(?<n>\d+)\s*(?:per|/)\s*(?<m>\d+)?\s*(?<unit>seconds?|minutes?|hours?|days?)$", RegexOptions.IgnoreCase)]
    private static partial Regex LimitRegex();
}
