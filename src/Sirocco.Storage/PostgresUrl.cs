using System.Globalization;
using Npgsql;

namespace Sirocco.Storage;

/// <summary>
/// Reads PostgreSQL URLs as Airflow writes them (SQLAlchemy's form):
/// <c>postgresql[+psycopg2|+psycopg]://USER:PASSWORD@HOST[:PORT]/DATABASE[?sslmode=...&amp;...]</c>, also
/// <c>postgres://</c>. User and password may be percent-encoded; a missing port is 5432. Every error names the URL
/// with its password replaced by <c>***</c>.
/// </summary>
internal static class PostgresUrl
{
    private const int DefaultPort = 5432;
    private const string Masked = "***";

    private static readonly string[] Schemes = ["postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"];

    private static readonly string[] QueryOptions =
    [
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout", "application_name", "options",
        "target_session_attrs", "host", "port", "user", "password", "dbname",
    ];

    /// <summary>Whether the URL's scheme is one of PostgreSQL's.</summary>
    public static bool Matches(string url)
    {
        var end = url.IndexOf("://", StringComparison.Ordinal);
        return end > 0 && Schemes.Contains(url[..end].ToLowerInvariant());
    }

    /// <summary>The URL with the password (in the user part or a <c>password=</c> parameter) replaced by <c>***</c>.</summary>
    public static string Redact(string url)
    {
        var parts = Split(url);
        if (parts is null)
        {
            return url;
        }

        var (prefix, userInfo, hostAndPath, query) = parts.Value;
        var colon = userInfo?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        var safeUser = userInfo is null ? string.Empty : (colon >= 0 ? userInfo[..(colon + 1)] + Masked : userInfo) + "@";
        var safeQuery = query is null
            ? string.Empty
            : "?" + string.Join('&', query.Split('&').Select(p => p.StartsWith("password=", StringComparison.OrdinalIgnoreCase) || p.StartsWith("sslpassword=", StringComparison.OrdinalIgnoreCase) ? p[..(p.IndexOf('=', StringComparison.Ordinal) + 1)] + Masked : p));
        return prefix + safeUser + hostAndPath + safeQuery;
    }

    /// <summary>The Npgsql connection string for a PostgreSQL URL; a <see cref="SiroccoException"/> names what is wrong.</summary>
    public static string ToConnectionString(string url)
    {
        var parts = Split(url) ?? throw Bad(url, "expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE");
        var (_, userInfo, hostAndPath, query) = parts;
        var b = new NpgsqlConnectionStringBuilder { Port = DefaultPort };
        if (userInfo is not null)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            b.Username = Decode(colon >= 0 ? userInfo[..colon] : userInfo);
            if (colon >= 0)
            {
                b.Password = Decode(userInfo[(colon + 1)..]);
            }
        }

        var slash = hostAndPath.IndexOf('/', StringComparison.Ordinal);
        var hostPort = slash >= 0 ? hostAndPath[..slash] : hostAndPath;
        var database = slash >= 0 ? Decode(hostAndPath[(slash + 1)..]) : string.Empty;
        if (database.Length > 0)
        {
            b.Database = database;
        }

        string host, port;
        if (hostPort.StartsWith('['))
        {
            // An IPv6 literal: [::1]:5432.
            var close = hostPort.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Bad(url, "unclosed '[' in the host");
            }

            host = hostPort[1..close];
            port = hostPort[(close + 1)..].TrimStart(':');
        }
        else
        {
            var colon = hostPort.LastIndexOf(':');
            host = colon >= 0 ? hostPort[..colon] : hostPort;
            port = colon >= 0 ? hostPort[(colon + 1)..] : string.Empty;
        }

        if (host.Length > 0)
        {
            b.Host = Decode(host);
        }

        if (port.Length > 0)
        {
            b.Port = ParsePort(url, port);
        }

        foreach (var pair in query?.Split('&', StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(eq >= 0 ? pair[..eq] : pair).ToLowerInvariant();
            var value = eq >= 0 ? Decode(pair[(eq + 1)..]) : string.Empty;
            Apply(url, b, name, value);
        }

        if (string.IsNullOrEmpty(b.Host))
        {
            throw Bad(url, "no host given");
        }

        return b.ConnectionString;
    }

    private static void Apply(string url, NpgsqlConnectionStringBuilder b, string name, string value)
    {
        switch (name)
        {
            case "sslmode":
                b.SslMode = Enum.TryParse<SslMode>(value.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var mode)
                    ? mode
                    : throw Bad(url, $"sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full");
                break;
            case "sslrootcert":
                b.RootCertificate = value;
                break;
            case "sslcert":
                b.SslCertificate = value;
                break;
            case "sslkey":
                b.SslKey = value;
                break;
            case "sslpassword":
                b.SslPassword = value;
                break;
            case "connect_timeout":
                b.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? seconds
                    : throw Bad(url, $"connect_timeout '{value}' is not a number of seconds");
                break;
            case "application_name":
                b.ApplicationName = value;
                break;
            case "options":
                b.Options = value;
                break;
            case "target_session_attrs":
                b.TargetSessionAttributes = value;
                break;
            case "host":
                b.Host = value;
                break;
            case "port":
                b.Port = ParsePort(url, value);
                break;
            case "user":
                b.Username = value;
                break;
            case "password":
                b.Password = value;
                break;
            case "dbname":
                b.Database = value;
                break;
            default:
                throw Bad(url, $"unknown parameter '{name}'; known: {string.Join(", ", QueryOptions)}");
        }
    }

    /// <summary>
    /// Splits a URL into scheme prefix (with <c>://</c>), user info (null when absent), host and path, and query.
    /// The user info ends at the last '@' before the query, so an unencoded '@' or '/' in a password still parses.
    /// </summary>
    private static (string Prefix, string? UserInfo, string HostAndPath, string? Query)? Split(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            return null;
        }

        var prefix = url[..(schemeEnd + 3)];
        var rest = url[(schemeEnd + 3)..];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var beforeQuery = question >= 0 ? rest[..question] : rest;
        var query = question >= 0 ? rest[(question + 1)..] : null;
        var at = beforeQuery.LastIndexOf('@');
        return at >= 0
            ? (prefix, beforeQuery[..at], beforeQuery[(at + 1)..], query)
            : (prefix, null, beforeQuery, query);
    }

    private static int ParsePort(string url, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw Bad(url, "the port must be a number from 1 to 65535");

    // Uri.UnescapeDataString leaves a malformed escape as it is, as SQLAlchemy's unquote does.
    private static string Decode(string text) => Uri.UnescapeDataString(text);

    private static SiroccoException Bad(string url, string problem) =>
        new($"[database] sql_conn '{Redact(url)}': {problem}");
}
