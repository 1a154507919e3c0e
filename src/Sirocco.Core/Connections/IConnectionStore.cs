namespace Sirocco.Connections;

/// <summary>Where Connections are kept (the metadata store implements it).</summary>
public interface IConnectionStore
{
    /// <summary>The stored connection, or null.</summary>
    Connection? GetConnection(string connId);

    /// <summary>
    /// The stored connection, or null, without holding a thread while the database answers (what a running task
    /// uses: thousands of tries looking their connection up at once must not each block a thread).
    /// </summary>
    Task<Connection?> GetConnectionAsync(string connId, CancellationToken cancellationToken = default) =>
        Task.FromResult(GetConnection(connId));

    /// <summary>Every stored connection, ordered by id.</summary>
    IReadOnlyList<Connection> ListConnections();

    /// <summary>Creates or replaces a connection.</summary>
    void SetConnection(Connection connection);

    /// <summary>Deletes a connection; false when it did not exist.</summary>
    bool DeleteConnection(string connId);
}
