namespace Sirocco.Storage;

/// <summary>
/// How a store shares its database server, with Airflow's <c>[database]</c> names. Only a server database
/// (PostgreSQL) has a pool to size; SQLite ignores these.
/// </summary>
public sealed record MetadataStoreOptions
{
    /// <summary>Connections the pool keeps for reuse (<c>[database] sql_alchemy_pool_size</c>, 5 as in Airflow).</summary>
    public int PoolSize { get; init; } = 5;

    /// <summary>
    /// Connections opened beyond <see cref="PoolSize"/> under load and closed when idle
    /// (<c>[database] sql_alchemy_max_overflow</c>, 10 as in Airflow). A process never holds more than
    /// <see cref="PoolSize"/> + <see cref="MaxOverflow"/> connections, plus one kept for its heartbeat, so several
    /// schedulers and web servers fit in the server's <c>max_connections</c>; when all are busy a caller waits for one, up to the connection timeout
    /// (<c>connect_timeout</c> in the URL, 15 s by default), and then fails with an error naming these options.
    /// </summary>
    public int MaxOverflow { get; init; } = 10;

    /// <summary>Whether connections are pooled at all (<c>[database] sql_alchemy_pool_enabled</c>, on by default).</summary>
    public bool PoolEnabled { get; init; } = true;

    /// <summary>The most connections one process opens.</summary>
    internal int MaxConnections => PoolSize + MaxOverflow;

    internal void Validate()
    {
        if (PoolSize < 1)
        {
            throw new SiroccoException($"[database] sql_alchemy_pool_size must be 1 or more, got {PoolSize}");
        }

        if (MaxOverflow < 0)
        {
            throw new SiroccoException($"[database] sql_alchemy_max_overflow must be 0 or more, got {MaxOverflow}");
        }

        if (MaxConnections > 1024)
        {
            throw new SiroccoException(
                $"[database] sql_alchemy_pool_size + sql_alchemy_max_overflow must be at most 1024 connections, got {PoolSize} + {MaxOverflow}");
        }
    }
}
