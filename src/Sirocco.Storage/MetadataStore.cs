namespace Sirocco.Storage;

/// <summary>Opens the metadata store named by <c>[database] sql_conn</c>.</summary>
public static class MetadataStore
{
    /// <summary>
    /// Opens a store from a connection URL: <c>sqlite:///ABSOLUTE/PATH.db</c> (or <c>sqlite:///:memory:</c> is refused,
    /// since every command opens new connections). The error names the URL.
    /// </summary>
    public static IMetadataStore Open(string sqlConn)
    {
        ArgumentNullException.ThrowIfNull(sqlConn);
        const string sqlite = "sqlite:///";
        if (sqlConn.StartsWith(sqlite, StringComparison.OrdinalIgnoreCase))
        {
            var path = sqlConn[sqlite.Length..];
            if (path.Length == 0 || path == ":memory:")
            {
                throw new SiroccoException($"[database] sql_conn '{sqlConn}': give a file path, e.g. sqlite:////home/me/.sirocco/sirocco.db");
            }

            // sqlite:////abs/path (four slashes) and sqlite:///relative both work, as in SQLAlchemy.
            return new SqliteMetadataStore(path);
        }

        throw new SiroccoException($"[database] sql_conn '{sqlConn}' is not supported: use sqlite:///PATH");
    }

    /// <summary>Opens the SQLite store at <paramref name="path"/>.</summary>
    public static IMetadataStore OpenSqlite(string path) => new SqliteMetadataStore(path);
}
