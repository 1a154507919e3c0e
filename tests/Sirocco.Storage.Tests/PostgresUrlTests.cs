using Npgsql;

namespace Sirocco.Storage.Tests;

/// <summary>PostgreSQL URLs as Airflow and SQLAlchemy write them, read without a server.</summary>
public sealed class PostgresUrlTests
{
    private static NpgsqlConnectionStringBuilder Parse(string url) => new(PostgresUrl.ToConnectionString(url));

    [Theory]
    [InlineData("postgresql://airflow:pw@db.example.com:6543/airflow")]
    [InlineData("postgres://airflow:pw@db.example.com:6543/airflow")]
    [InlineData("postgresql+psycopg2://airflow:pw@db.example.com:6543/airflow")]
    [InlineData("postgresql+psycopg://airflow:pw@db.example.com:6543/airflow")]
    [InlineData("POSTGRESQL+PSYCOPG2://airflow:pw@db.example.com:6543/airflow")]
    public void Every_scheme_spelling_gives_the_same_connection(string url)
    {
        Assert.True(PostgresUrl.Matches(url));
        var b = Parse(url);
        Assert.Equal(("db.example.com", 6543, "airflow", "pw", "airflow"), (b.Host, b.Port, b.Username, b.Password, b.Database));
    }

    [Fact]
    public void A_missing_port_is_5432_and_ipv6_literals_work()
    {
        Assert.Equal(5432, Parse("postgresql://u:p@localhost/db").Port);
        var v6 = Parse("postgresql://u:p@[::1]:5433/db");
        Assert.Equal(("::1", 5433), (v6.Host, v6.Port));
    }

    [Fact]
    public void User_password_and_database_are_percent_decoded()
    {
        var b = Parse("postgresql+psycopg2://us%40er:p%40ss%3Aw%2Frd%25@h/my%20db");
        Assert.Equal(("us@er", "p@ss:w/rd%", "my db"), (b.Username, b.Password, b.Database));

        // An unencoded '@' or '/' in the password still parses: the user part ends at the last '@'.
        var raw = Parse("postgresql://u:p@ss/w@h:5433/db");
        Assert.Equal(("u", "p@ss/w", "h", 5433, "db"), (raw.Username, raw.Password, raw.Host, raw.Port, raw.Database));
    }

    [Fact]
    public void Query_parameters_set_ssl_and_the_rest()
    {
        var b = Parse("postgresql://u:p@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=7&application_name=sirocco");
        Assert.Equal(SslMode.VerifyFull, b.SslMode);
        Assert.Equal("/etc/ca.pem", b.RootCertificate);
        Assert.Equal(7, b.Timeout);
        Assert.Equal("sirocco", b.ApplicationName);
        Assert.Equal(SslMode.Require, Parse("postgresql://u:p@h/db?sslmode=require").SslMode);
        Assert.Equal(("/var/run/postgresql", 5432), (Parse("postgresql://u@/db?host=/var/run/postgresql").Host, 5432));
    }

    [Theory]
    [InlineData("postgresql://u:s3cret-pw@h:99999/db", "port must be a number")]
    [InlineData("postgresql://u:s3cret-pw@h/db?sslmode=sometimes", "sslmode 'sometimes'")]
    [InlineData("postgresql://u:s3cret-pw@h/db?keepalive=1", "unknown parameter 'keepalive'")]
    [InlineData("postgresql://u:s3cret-pw@/db", "no host given")]
    public void A_bad_url_is_named_with_the_password_masked(string url, string problem)
    {
        var e = Assert.Throws<SiroccoException>(() => MetadataStore.Open(url));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains("postgresql://u:***@", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_url_is_named_with_the_password_masked()
    {
        var e = Assert.Throws<SiroccoException>(() => MetadataStore.Open("mysql://u:s3cret-pw@h/db"));
        Assert.Contains("'mysql://u:***@h/db' is not supported", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgresql://u:s3cret@h/db", "postgresql://u:***@h/db")]
    [InlineData("postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require")]
    [InlineData("postgresql://u@h/db?password=s3cret&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require")]
    [InlineData("postgresql://h/db", "postgresql://h/db")]
    [InlineData("sqlite:////home/me/sirocco.db", "sqlite:////home/me/sirocco.db")]
    [InlineData("not a url", "not a url")]
    public void Urls_are_shown_without_their_password(string url, string shown) =>
        Assert.Equal(shown, MetadataStore.RedactUrl(url));
}
