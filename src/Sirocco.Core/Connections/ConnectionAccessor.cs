using Sirocco.Masking;

namespace Sirocco.Connections;

/// <summary>A connection that is neither stored nor in the environment: <c>The conn_id `X` isn't defined</c>.</summary>
public sealed class ConnectionNotFoundException : SiroccoException
{
    /// <summary>Creates the exception for <paramref name="connId"/>.</summary>
    public ConnectionNotFoundException(string connId)
        : base($"The conn_id `{connId}` isn't defined") => ConnId = connId;

    /// <summary>The missing connection id.</summary>
    public string ConnId { get; }
}

/// <summary>
/// Reads Connections as Airflow does: <c>SIROCCO_CONN_ID</c> (or <c>AIRFLOW_CONN_ID</c>; a URI or JSON) wins over the
/// stored connection, and a secrets backend (<c>[secrets] backend</c>) wins over both. The password and sensitive
/// extras are registered with the masker when read.
/// </summary>
public sealed class ConnectionAccessor
{
    private readonly IConnectionStore _store;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly SecretMasker _masker;
    private readonly Secrets.ISecretsBackend? _secrets;

    /// <summary>Creates an accessor over a store, the process environment and, when configured, a secrets backend.</summary>
    public ConnectionAccessor(IConnectionStore store, IReadOnlyDictionary<string, string> environment, SecretMasker masker, Secrets.ISecretsBackend? secrets = null)
    {
        _store = store;
        _environment = environment;
        _masker = masker;
        _secrets = secrets;
    }

    /// <summary>The connection; throws <see cref="ConnectionNotFoundException"/> when missing.</summary>
    public Connection Get(string connId) =>
        TryGet(connId, out var c) ? c : throw new ConnectionNotFoundException(connId);

    /// <summary>Looks a connection up in the environment, then in the store.</summary>
    public bool TryGet(string connId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Connection? connection)
    {
        ArgumentNullException.ThrowIfNull(connId);
        connection = FromText(connId, _secrets?.GetConnectionAsync(connId, CancellationToken.None).GetAwaiter().GetResult())
            ?? FromEnvironment(connId)
            ?? _store.GetConnection(connId);
        if (connection is null)
        {
            return false;
        }

        Register(_masker, connection);
        return true;
    }

    /// <summary>
    /// Looks a connection up in the environment, then in the store, without blocking a thread on the database; null
    /// when it is in neither.
    /// </summary>
    public async Task<Connection?> FindAsync(string connId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connId);
        var connection = (_secrets is null ? null : FromText(connId, await _secrets.GetConnectionAsync(connId, cancellationToken).ConfigureAwait(false)))
            ?? FromEnvironment(connId)
            ?? await _store.GetConnectionAsync(connId, cancellationToken).ConfigureAwait(false);
        if (connection is not null)
        {
            Register(_masker, connection);
        }

        return connection;
    }

    /// <summary>Registers a connection's secrets with a masker.</summary>
    public static void Register(SecretMasker masker, Connection connection)
    {
        ArgumentNullException.ThrowIfNull(masker);
        ArgumentNullException.ThrowIfNull(connection);
        masker.Add(connection.Password);
        foreach (var (key, value) in connection.ExtraDejson())
        {
            if (Connection.IsSensitiveExtra(key) && value is not null)
            {
                masker.Add(value is System.Text.Json.Nodes.JsonValue v ? v.ToString() : value.ToJsonString());
            }
        }
    }

    private Connection? FromEnvironment(string connId)
    {
        var upper = connId.ToUpperInvariant();
        if (!_environment.TryGetValue("SIROCCO_CONN_" + upper, out var text)
            && !_environment.TryGetValue("AIRFLOW_CONN_" + upper, out text))
        {
            return null;
        }

        return FromText(connId, text);
    }

    /// <summary>A connection from its URI or JSON text (environment variables and secrets backends hold either).</summary>
    private static Connection? FromText(string connId, string? text)
    {
        if (text is null)
        {
            return null;
        }

        text = text.Trim();
        return text.StartsWith('{') ? Connection.FromJson(connId, text) : Connection.FromUri(connId, text);
    }
}
