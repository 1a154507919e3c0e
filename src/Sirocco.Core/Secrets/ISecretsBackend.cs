namespace Sirocco.Secrets;

/// <summary>
/// A secrets backend (<c>[secrets] backend</c>), asked for Variables and Connections before the environment and the
/// metadata database, as Airflow asks its alternative backends. Values are the text stored there: a Variable's value,
/// a Connection's URI or JSON. Null means "not in this backend" (the next source is asked).
/// </summary>
public interface ISecretsBackend
{
    /// <summary>The backend's name for messages (its Airflow class path).</summary>
    string Name { get; }

    /// <summary>A Variable's value, or null.</summary>
    Task<string?> GetVariableAsync(string key, CancellationToken cancellationToken);

    /// <summary>A Connection's URI or JSON, or null.</summary>
    Task<string?> GetConnectionAsync(string connId, CancellationToken cancellationToken);
}
