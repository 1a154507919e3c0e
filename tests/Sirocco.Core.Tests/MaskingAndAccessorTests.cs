using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Core.Tests;

public class MaskingAndAccessorTests
{
    private sealed class MemoryVariables : IVariableStore
    {
        public Dictionary<string, Variable> Items { get; } = [];

        public Variable? GetVariable(string key) => Items.GetValueOrDefault(key);

        public IReadOnlyList<Variable> ListVariables() => [.. Items.Values];

        public void SetVariable(Variable variable) => Items[variable.Key] = variable;

        public bool DeleteVariable(string key) => Items.Remove(key);
    }

    private sealed class MemoryConnections : IConnectionStore
    {
        public Dictionary<string, Connection> Items { get; } = [];

        public Connection? GetConnection(string connId) => Items.GetValueOrDefault(connId);

        public IReadOnlyList<Connection> ListConnections() => [.. Items.Values];

        public void SetConnection(Connection connection) => Items[connection.ConnId] = connection;

        public bool DeleteConnection(string connId) => Items.Remove(connId);
    }

    [Theory]
    [InlineData("db_password", true)]
    [InlineData("MY_API_KEY", true)]
    [InlineData("github_token", true)]
    [InlineData("aws_credential_file", true)]
    [InlineData("private_key_pem", true)]
    [InlineData("my_value", false)]
    [InlineData("kube_config", false)]
    public void Sensitive_names_follow_airflows_word_list(string name, bool sensitive) =>
        Assert.Equal(sensitive, SecretMasker.IsSensitiveName(name));

    [Fact]
    public void Registered_secrets_are_masked_longest_first_and_short_ones_are_ignored()
    {
        var masker = new SecretMasker();
        masker.Add("hunter2-long");
        masker.Add("hunter2-long-and-longer");
        masker.Add("abc"); // shorter than 5: masking it would mangle ordinary text
        Assert.Equal("pw=*** and *** abc", masker.Redact("pw=hunter2-long-and-longer and hunter2-long abc"));
    }

    [Fact]
    public void Each_line_of_a_multiline_secret_is_masked()
    {
        var masker = new SecretMasker();
        masker.Add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----");
        Assert.Equal("line: ***", masker.Redact("line: AAAABBBBCCCC"));
    }

    [Fact]
    public void Environment_overrides_stored_variables_and_sensitive_values_get_registered()
    {
        var store = new MemoryVariables();
        store.SetVariable(new Variable("my_value", "stored"));
        store.SetVariable(new Variable("api_key", "s3cr3t-value"));
        var masker = new SecretMasker();
        var vars = new VariableAccessor(store, new Dictionary<string, string> { ["AIRFLOW_VAR_MY_VALUE"] = "from-airflow-env" }, masker);
        Assert.Equal("from-airflow-env", vars.Get("my_value"));

        var both = new VariableAccessor(store, new Dictionary<string, string> { ["AIRFLOW_VAR_MY_VALUE"] = "a", ["SIROCCO_VAR_MY_VALUE"] = "s" }, masker);
        Assert.Equal("s", both.Get("my_value"));

        Assert.Equal("s3cr3t-value", vars.Get("api_key"));
        Assert.Equal("token=***", masker.Redact("token=s3cr3t-value"));

        var e = Assert.Throws<VariableNotFoundException>(() => vars.Get("missing"));
        Assert.Equal("Variable missing does not exist", e.Message);
    }

    [Fact]
    public void Connection_uri_round_trips_with_escapes_port_schema_and_extras()
    {
        var c = Connection.FromUri("pg", "postgres-sql://user%40corp:p%40ss%3Aword@db.example:5432/warehouse?sslmode=require&application_name=sirocco");
        Assert.Equal("postgres_sql", c.ConnType);
        Assert.Equal("user@corp", c.Login);
        Assert.Equal("p@ss:word", c.Password);
        Assert.Equal("db.example", c.Host);
        Assert.Equal(5432, c.Port);
        Assert.Equal("warehouse", c.Schema);
        Assert.Equal("require", c.ExtraDejson()["sslmode"]!.ToString());

        var again = Connection.FromUri("pg", c.ToUri());
        Assert.Equal(c, again);
        Assert.DoesNotContain("p%40ss", c.ToUri(maskSecrets: true), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_form_round_trips_and_masking_hides_only_sensitive_extras()
    {
        var c = Connection.FromUri("db", "postgres://me:pw-secret@db:5432/app?__extra__=%7B%22kube_config%22%3A%22token-abc%22%2C%22namespace%22%3A%22ns%22%7D");
        Assert.Equal(c, Connection.FromJson("db", c.ToJson().ToJsonString()));
        var masked = c.MaskedExtraDejson();
        Assert.Equal("***", masked["kube_config"]!.ToString());
        Assert.Equal("ns", masked["namespace"]!.ToString());
        Assert.Equal("token-abc", c.ExtraDejson()["kube_config"]!.ToString()); // the connection itself is unchanged
    }

    [Fact]
    public void Kubernetes_uri_with_json_extra_keeps_nested_types()
    {
        var c = Connection.FromUri("k8s", "kubernetes://?__extra__=%7B%22in_cluster%22%3A%20false%2C%20%22namespace%22%3A%20%22team%22%7D");
        Assert.Equal("kubernetes", c.ConnType);
        Assert.Null(c.Host);
        Assert.False((bool)c.ExtraDejson()["in_cluster"]!);
        Assert.Equal("team", c.ExtraDejson()["namespace"]!.ToString());
        Assert.Equal(c.ExtraDejson().ToJsonString(), Connection.FromUri("k8s", c.ToUri()).ExtraDejson().ToJsonString());
    }

    [Theory]
    [InlineData("no-scheme-here", "expected TYPE://")]
    [InlineData("http://host:notaport", "bad port 'notaport'")]
    [InlineData("kubernetes://?__extra__=%7Bbroken", "invalid JSON in extra")]
    public void Malformed_uris_are_named_in_the_error(string uri, string message)
    {
        var e = Assert.Throws<SiroccoException>(() => Connection.FromUri("x", uri));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connections_come_from_env_as_uri_or_json_and_register_their_secrets()
    {
        var store = new MemoryConnections();
        var masker = new SecretMasker();
        var env = new Dictionary<string, string>
        {
            ["AIRFLOW_CONN_MY_DB"] = "mysql://root:rootpassword@localhost:3306/app",
            ["SIROCCO_CONN_KUBE"] = """{"conn_type": "kubernetes", "extra": {"namespace": "ns", "kube_config": "apiVersion: v1-with-token-xyz"}}""",
        };
        var conns = new ConnectionAccessor(store, env, masker);
        Assert.Equal("rootpassword", conns.Get("my_db").Password);
        Assert.Equal("ns", conns.Get("kube").ExtraDejson()["namespace"]!.ToString());
        Assert.Equal("*** and ***", masker.Redact("rootpassword and apiVersion: v1-with-token-xyz"));
        var e = Assert.Throws<ConnectionNotFoundException>(() => conns.Get("nope"));
        Assert.Equal("The conn_id `nope` isn't defined", e.Message);
    }
}
