using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sirocco.Testing;

/// <summary>
/// A registry token service on loopback, for the distribution registry's <c>auth: token</c>: checks a user name and
/// password (basic auth), and answers with a JWT (ES256, its certificate in <c>x5c</c>) granting the scope asked for,
/// as Docker Hub's and GCR's token services do. The registry trusts the certificate through its <c>rootcertbundle</c>.
/// </summary>
public sealed class RegistryTokenServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;

    private RegistryTokenServer(WebApplication app, ECDsa key, X509Certificate2 certificate, string url)
    {
        _app = app;
        _key = key;
        _certificate = certificate;
        Realm = url + "/token";
    }

    /// <summary>The token endpoint the registry's challenge names.</summary>
    public string Realm { get; }

    /// <summary>The service name tokens are issued for (the registry's <c>service</c>).</summary>
    public const string Service = "sirocco-test-registry";

    /// <summary>The issuer tokens name (the registry's <c>issuer</c>).</summary>
    public const string Issuer = "sirocco-test-token-service";

    /// <summary>Tokens issued so far.</summary>
    public int Issued => _issued;

    private int _issued;

    /// <summary>Starts the service; writes its certificate to <paramref name="certificateFile"/> for the registry.</summary>
    public static async Task<RegistryTokenServer> StartAsync(string user, string password, string certificateFile)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + Issuer, key, HashAlgorithmName.SHA256);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        await File.WriteAllTextAsync(certificateFile, certificate.ExportCertificatePem());

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        RegistryTokenServer? server = null;
        app.MapGet("/token", (HttpContext http) =>
        {
            var header = http.Request.Headers.Authorization.ToString();
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
            if (header != expected)
            {
                return Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "bad credentials" } } }, statusCode: 401);
            }

            var scopes = http.Request.Query["scope"].Select(s => s ?? "").Where(s => s.Length > 0).ToList();
            Interlocked.Increment(ref server!._issued);
            return Results.Json(new { token = server.Token(user, scopes), expires_in = 300 });
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new RegistryTokenServer(app, key, certificate, url);
        return server;
    }

    /// <summary>Stops the service.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
        _certificate.Dispose();
    }

    private string Token(string subject, List<string> scopes)
    {
        var access = new JsonArray();
        foreach (var scope in scopes)
        {
            // repository:NAME:ACTION,ACTION
            var parts = scope.Split(':');
            if (parts.Length >= 3)
            {
                access.Add(new JsonObject
                {
                    ["type"] = parts[0],
                    ["name"] = string.Join(':', parts[1..^1]),
                    ["actions"] = new JsonArray([.. parts[^1].Split(',').Select(a => (JsonNode)a)]),
                });
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject
        {
            ["typ"] = "JWT",
            ["alg"] = "ES256",
            ["x5c"] = new JsonArray(Convert.ToBase64String(_certificate.RawData)),
        };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var signed = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256);
        return signed + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
