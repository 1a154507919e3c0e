namespace Sirocco.Connections;

/// <summary>
/// Airflow's connection test for one kind of connection (the connection form's Test button and
/// <c>POST /api/v1/connections/test</c>), written by the assembly that owns that kind's access, so that the test
/// reaches exactly what tasks would reach.
/// </summary>
public interface IConnectionTester
{
    /// <summary>The connection types this tester can test (<c>kubernetes</c>, <c>google_cloud_platform</c>).</summary>
    IReadOnlyCollection<string> ConnectionTypes { get; }

    /// <summary>Tests the connection (bounded); the message says what was reached, or why not.</summary>
    Task<(bool Ok, string Message)> TestAsync(Connection connection, CancellationToken cancellationToken);
}
