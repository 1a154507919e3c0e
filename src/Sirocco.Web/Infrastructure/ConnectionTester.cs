using Sirocco.Connections;

namespace Sirocco.Web.Infrastructure;

/// <summary>Airflow's connection test: whether it is enabled, its button, and the dispatch to the tester of a connection's type.</summary>
internal static class ConnectionTester
{
    /// <summary><c>[core] test_connection</c>: Disabled (the default, as in Airflow), Enabled or Hidden.</summary>
    public static string Mode(Configuration.SiroccoConfig config) =>
        config.Get("core", "test_connection", "Disabled")!.Trim().ToUpperInvariant() switch
        {
            "ENABLED" => "Enabled",
            "HIDDEN" => "Hidden",
            _ => "Disabled",
        };

    /// <summary>Refuses a test unless <c>[core] test_connection = Enabled</c>: a test reaches out from the server.</summary>
    public static void RequireEnabled(Configuration.SiroccoConfig config)
    {
        if (Mode(config) != "Enabled")
        {
            throw new ApiException(403, "Forbidden", "Testing connections is disabled: it makes the server reach whatever address a connection names. Set [core] test_connection = Enabled to allow it.");
        }
    }

    /// <summary>The connection form's Test button: active, disabled with the reason, or absent.</summary>
    public static string Button(Configuration.SiroccoConfig config) => Mode(config) switch
    {
        "Enabled" => "<button type=\"submit\" formaction=\"/admin/connections/test\" id=\"test-connection\">Test</button>",
        "Hidden" => string.Empty,
        _ => "<button type=\"button\" id=\"test-connection\" disabled title=\"Set [core] test_connection = Enabled to test connections\">Test</button>",
    };

    /// <summary>
    /// Tests a connection with the tester of its type that the host gave (<see cref="WebServerOptions.ConnectionTesters"/>):
    /// the Kubernetes and Google code that tasks use, so the test reaches what a task would.
    /// </summary>
    public static async Task<(bool Ok, string Message)> TestAsync(WebState state, Connection connection, CancellationToken ct)
    {
        var testers = state.Options.ConnectionTesters;
        var tester = testers.FirstOrDefault(t => t.ConnectionTypes.Contains(connection.ConnType, StringComparer.OrdinalIgnoreCase));
        if (tester is null)
        {
            var types = testers.SelectMany(t => t.ConnectionTypes).Order(StringComparer.Ordinal).ToList();
            return (false, $"Testing connections of type '{connection.ConnType}' is not supported; {(types.Count == 0 ? "no connection type can be tested here" : "testable types: " + string.Join(", ", types))}");
        }

        try
        {
            return await tester.TestAsync(connection, ct).ConfigureAwait(false);
        }
        catch (SiroccoException e)
        {
            return (false, e.Message);
        }
    }
}
