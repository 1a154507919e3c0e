using Sirocco.Connections;

namespace Sirocco.Google;

/// <summary>
/// Tests a <c>google_cloud_platform</c> connection by getting an access token with its credentials (the key's
/// token endpoint, or the metadata server for application default credentials), as every Google call would.
/// </summary>
public sealed class GoogleConnectionTester : IConnectionTester
{
    private readonly GoogleCloud _google;

    /// <summary>Creates the tester over the process's Google access.</summary>
    public GoogleConnectionTester(GoogleCloud google) => _google = google;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ConnectionTypes { get; } = ["google_cloud_platform", "gcpcloudsql"];

    /// <inheritdoc/>
    public async Task<(bool Ok, string Message)> TestAsync(Connection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        try
        {
            var credential = _google.Credentials.FromExtras($"connection '{connection.ConnId}'", connection.ExtraDejson());
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(10));
            await credential.AccessTokenAsync(bound.Token).ConfigureAwait(false);
            return (true, $"Connection successfully tested: an access token from {credential.Source}{(credential.Project is null ? string.Empty : $", project {credential.Project}")}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, "No access token within 10 s");
        }
        catch (SiroccoException e)
        {
            return (false, e.Message);
        }
    }
}
