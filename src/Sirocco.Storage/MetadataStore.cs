using Sirocco.Masking;

namespace Sirocco.Storage;

/// <summary>Opens the metadata store named by <c>[database] sql_conn</c>.</summary>
public static class MetadataStore
{
    /// <summary>
    /// Opens a store from a connection URL: <c>sqlite:///ABSOLUTE/PATH.db</c> (<c>sqlite:///:memory:</c> is refused,
    /// since every command opens new connections), or PostgreSQL as SQLAlchemy writes it,
    /// <c>postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require</c> (also <c>postgres://</c>,
    /// <c>postgresql+psycopg2://</c> and <c>postgresql+psycopg://</c>; a missing port is 5432). Errors name the URL with
    /// its password masked. With <paramref name="fernet"/> (the keys of <c>[core] fernet_key</c>), Variable values and
    /// connection passwords and extras are stored encrypted. <paramref name="options"/> size a server database's
    /// connection pool (Airflow's defaults when left out).
    /// </summary>
    public static IMetadataStore Open(string sqlConn, Fernet? fernet = null, MetadataStoreOptions? options = null)
    {
        options ??= new MetadataStoreOptions();
        options.Validate();
        var store = OpenStore(sqlConn, options);
        store.Cipher = fernet;
        return store;
    }

    /// <summary>Opens the SQLite store at <paramref name="path"/>; <paramref name="fernet"/> as in <see cref="Open"/>.</summary>
    public static IMetadataStore OpenSqlite(string path, Fernet? fernet = null) => new SqliteMetadataStore(path) { Cipher = fernet };

    private static SqlMetadataStore OpenStore(string sqlConn, MetadataStoreOptions options)
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

        if (PostgresUrl.Matches(sqlConn))
        {
            return new PostgresMetadataStore(PostgresUrl.ToConnectionString(sqlConn), PostgresUrl.Redact(sqlConn), options);
        }

        throw new SiroccoException($"[database] sql_conn '{RedactUrl(sqlConn)}' is not supported: use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE");
    }

    /// <summary>
    /// A connection URL fit to show: the password (<c>USER:PASSWORD@</c>, or a <c>password=</c> parameter) is
    /// replaced by <c>***</c>. Text that is not a URL is returned as it is.
    /// </summary>
    public static string RedactUrl(string sqlConn)
    {
        ArgumentNullException.ThrowIfNull(sqlConn);
        return PostgresUrl.Redact(sqlConn);
    }
}
