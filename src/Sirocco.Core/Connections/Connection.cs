using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Connections;

/// <summary>
/// A Connection as Airflow defines it: an id, a type and the usual fields, with type-specific settings in
/// <see cref="Extra"/> (a JSON object). For <c>kubernetes</c> connections the extras are <c>kube_config_path</c>,
/// <c>kube_config</c> (inline), <c>namespace</c>, <c>cluster_context</c>, <c>in_cluster</c>, <c>disable_verify_ssl</c>
/// and <c>xcom_sidecar_container_image</c>.
/// </summary>
public sealed record Connection
{
    /// <summary>The connection id, e.g. <c>kubernetes_default</c>.</summary>
    public required string ConnId { get; init; }

    /// <summary>The connection type, e.g. <c>kubernetes</c>.</summary>
    public required string ConnType { get; init; }

    /// <summary>An optional description.</summary>
    public string? Description { get; init; }

    /// <summary>Host name.</summary>
    public string? Host { get; init; }

    /// <summary>Login (user name).</summary>
    public string? Login { get; init; }

    /// <summary>Password; always masked when shown.</summary>
    public string? Password { get; init; }

    /// <summary>Schema (database name for database connections).</summary>
    public string? Schema { get; init; }

    /// <summary>Port.</summary>
    public int? Port { get; init; }

    /// <summary>
    /// How a connection's JSON is read: a key given twice is an error naming the connection. Read leniently, the object
    /// would throw an ArgumentException the first time it is enumerated (when its secrets are registered, say).
    /// </summary>
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    /// <summary>Extra settings as JSON text (an object), or null.</summary>
    public string? Extra { get; init; }

    /// <summary>The extras parsed as a JSON object (empty when there are none); Airflow's <c>extra_dejson</c>.</summary>
    public JsonObject ExtraDejson()
    {
        if (string.IsNullOrWhiteSpace(Extra))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(Extra, documentOptions: StrictJson) as JsonObject
                ?? throw new SiroccoException($"connection '{ConnId}': extra must be a JSON object, got: {Extra}");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
        {
            throw new SiroccoException($"connection '{ConnId}': extra is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The extras with the values of sensitive keys replaced by <c>***</c> (empty when there are none).</summary>
    public JsonObject MaskedExtraDejson()
    {
        var extras = ExtraDejson();
        foreach (var key in extras.Select(kv => kv.Key).Where(IsSensitiveExtra).ToList())
        {
            extras[key] = Masking.SecretMasker.Mask;
        }

        return extras;
    }

    /// <summary>The JSON form <see cref="FromJson"/> reads (what <c>connections export</c> writes): real values.</summary>
    public JsonObject ToJson() => new()
    {
        ["conn_type"] = ConnType,
        ["description"] = Description,
        ["host"] = Host,
        ["login"] = Login,
        ["password"] = Password,
        ["schema"] = Schema,
        ["port"] = Port,
        ["extra"] = Extra,
    };

    /// <summary>Whether an extra field holds a secret (sensitive words, and an inline kube config).</summary>
    public static bool IsSensitiveExtra(string name) =>
        Masking.SecretMasker.IsSensitiveName(name) || name.EndsWith("kube_config", StringComparison.Ordinal)
        || name.EndsWith("keyfile_dict", StringComparison.Ordinal);

    /// <summary>
    /// Parses Airflow's URI form <c>type://login:password@host:port/schema?key=value</c>; query parameters become the
    /// extras, or <c>__extra__=JSON</c> gives them whole.
    /// </summary>
    public static Connection FromUri(string connId, string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new SiroccoException($"invalid connection URI '{uri}' for '{connId}': expected TYPE://[LOGIN:PASSWORD@]HOST[:PORT][/SCHEMA][?EXTRA]");
        }

        var scheme = uri[..schemeEnd];
        if (!scheme.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '.'))
        {
            throw new SiroccoException($"invalid connection URI '{uri}' for '{connId}': bad connection type '{scheme}'");
        }

        var rest = uri[(schemeEnd + 3)..];
        string? query = null;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        string? schema = null;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            schema = Unquote(rest[(slash + 1)..]);
            rest = rest[..slash];
        }

        string? login = null, password = null;
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            login = Unquote(colon >= 0 ? userInfo[..colon] : userInfo);
            password = colon >= 0 ? Unquote(userInfo[(colon + 1)..]) : null;
        }

        int? port = null;
        var portSep = rest.LastIndexOf(':');
        if (portSep >= 0 && !rest.EndsWith(']'))
        {
            var portText = rest[(portSep + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
            {
                throw new SiroccoException($"invalid connection URI '{uri}' for '{connId}': bad port '{portText}'");
            }

            port = p;
            rest = rest[..portSep];
        }

        return new Connection
        {
            ConnId = connId,
            ConnType = scheme.Replace('-', '_'),
            Host = EmptyToNull(Unquote(rest)),
            Login = EmptyToNull(login),
            Password = EmptyToNull(password),
            Schema = EmptyToNull(schema),
            Port = port,
            Extra = query is null ? null : ExtraFromQuery(connId, uri, query),
        };
    }

    /// <summary>
    /// Parses the JSON form Airflow accepts in <c>AIRFLOW_CONN_*</c>: <c>{"conn_type": ..., "host": ..., "login": ...,
    /// "password": ..., "schema": ..., "port": ..., "extra": {...}}</c>.
    /// </summary>
    public static Connection FromJson(string connId, string json)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json, documentOptions: StrictJson) as JsonObject ?? throw new SiroccoException($"connection '{connId}': JSON must be an object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
        {
            throw new SiroccoException($"connection '{connId}': invalid JSON: {e.Message}", e);
        }

        string? Str(string name) => obj[name] is JsonValue v ? v.ToString() : null;
        var type = Str("conn_type") ?? throw new SiroccoException($"connection '{connId}': JSON has no \"conn_type\"");
        int? port = null;
        if (Str("port") is { } portText)
        {
            port = int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p)
                ? p
                : throw new SiroccoException($"connection '{connId}': bad port '{portText}'");
        }

        var extra = obj["extra"] switch
        {
            null => null,
            JsonObject o => o.ToJsonString(),
            JsonValue v when v.GetValueKind() == JsonValueKind.String => ValidateExtra(connId, v.ToString()),
            var other => throw new SiroccoException($"connection '{connId}': \"extra\" must be an object or a JSON string, got {other.ToJsonString()}"),
        };
        return new Connection
        {
            ConnId = connId,
            ConnType = type,
            Description = Str("description"),
            Host = Str("host"),
            Login = Str("login"),
            Password = Str("password"),
            Schema = Str("schema"),
            Port = port,
            Extra = extra,
        };
    }

    /// <summary>Checks that <paramref name="extra"/> is a JSON object and returns it; the error names the connection.</summary>
    public static string ValidateExtra(string connId, string extra)
    {
        try
        {
            if (JsonNode.Parse(extra, documentOptions: StrictJson) is JsonObject o)
            {
                return o.ToJsonString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
        {
            throw new SiroccoException($"connection '{connId}': invalid JSON in extra: {e.Message}", e);
        }

        throw new SiroccoException($"connection '{connId}': extra must be a JSON object, got: {extra}");
    }

    /// <summary>The Airflow URI of this connection; with <paramref name="maskSecrets"/> the password and sensitive extras read <c>***</c>.</summary>
    public string ToUri(bool maskSecrets = false)
    {
        var sb = new StringBuilder();
        sb.Append(ConnType.Replace('_', '-')).Append("://");
        if (Login is not null || Password is not null)
        {
            sb.Append(Quote(Login ?? string.Empty));
            if (Password is not null)
            {
                sb.Append(':').Append(maskSecrets ? Masking.SecretMasker.Mask : Quote(Password));
            }

            sb.Append('@');
        }

        sb.Append(Quote(Host ?? string.Empty));
        if (Port is { } port)
        {
            sb.Append(':').Append(port.ToString(CultureInfo.InvariantCulture));
        }

        if (Schema is not null)
        {
            sb.Append('/').Append(Quote(Schema));
        }

        var extras = maskSecrets ? MaskedExtraDejson() : ExtraDejson();
        if (extras.Count > 0)
        {
            sb.Append('?');
            if (extras.All(kv => kv.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String))
            {
                sb.Append(string.Join('&', extras.Select(kv => Quote(kv.Key) + "=" + Quote(kv.Value!.ToString()))));
            }
            else
            {
                sb.Append("__extra__=").Append(Quote(extras.ToJsonString()));
            }
        }

        return sb.ToString();
    }

    private static string ExtraFromQuery(string connId, string uri, string query)
    {
        var extras = new JsonObject();
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Unquote(eq >= 0 ? pair[..eq] : pair);
            var value = eq >= 0 ? Unquote(pair[(eq + 1)..]) : string.Empty;
            if (key == "__extra__")
            {
                try
                {
                    return ValidateExtra(connId, value);
                }
                catch (SiroccoException e)
                {
                    throw new SiroccoException($"invalid connection URI '{uri}': {e.Message}", e);
                }
            }

            extras[key] = value;
        }

        return extras.ToJsonString();
    }

    private static string Quote(string s) => Uri.EscapeDataString(s);

    private static string Unquote(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    private static string? EmptyToNull(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
