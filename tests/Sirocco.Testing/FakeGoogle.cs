using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sirocco.Testing;

/// <summary>
/// Google's wire protocols on loopback for tests (no internet here): the OAuth2 token endpoint (JWT-bearer grant,
/// signature checked against the service account's key), the metadata server's token, the Kubernetes Engine API v1
/// (clusters get/create/delete, operations), the Cloud Storage JSON API (uploads, downloads, listing) and Secret
/// Manager's access call. Real client libraries are pointed at it the standard ways.
/// </summary>
public sealed partial class FakeGoogle : IAsyncDisposable
{
    private readonly RSA _key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private WebApplication? _app;

    /// <summary>The project the fake's service account belongs to.</summary>
    public const string Project = "sirocco-test-project";

    /// <summary>The service account of <see cref="KeyFileJson"/>.</summary>
    public const string ServiceAccount = "sirocco-tests@sirocco-test-project.iam.gserviceaccount.com";

    /// <summary>The fake's base URL, http://127.0.0.1:port/.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The metadata server's host:port, for GCE_METADATA_HOST.</summary>
    public string MetadataHost => $"{Url.Host}:{Url.Port}";

    /// <summary>The access token the fake issues (a cluster behind it is told to accept it).</summary>
    public string AccessToken { get; set; } = "ya29.fake-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The lifetime the fake gives its tokens.</summary>
    public int TokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>How many requests each route answered (token, metadata-token, cluster-get, …).</summary>
    public int Requests(string route) => _requests.GetValueOrDefault(route);

    /// <summary>Every request's Authorization header seen by the APIs (not the token endpoints): the issued token, or a JWT the service account signed.</summary>
    public ConcurrentQueue<string?> Authorizations { get; } = new();

    /// <summary>Exceptions the fake's handlers threw (a test asserts there were none).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Starts on a free loopback port.</summary>
    public static async Task<FakeGoogle> StartAsync()
    {
        var fake = new FakeGoogle();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRequestDecompression();
        var app = builder.Build();

        // Google's clients gzip request bodies (Content-Encoding: gzip), as Google's servers accept.
        app.UseRequestDecompression();
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http);
            }
            catch (Exception e)
            {
                fake.Errors.Enqueue($"{http.Request.Method} {http.Request.Path}{http.Request.QueryString}: {e}");
                throw;
            }
        });
        fake.MapAuth(app);
        fake.MapContainer(app);
        fake.MapStorage(app);
        fake.MapSecretManager(app);
        await app.StartAsync();
        fake._app = app;
        fake.Url = new Uri(app.Urls.First().TrimEnd('/') + "/");
        return fake;
    }

    /// <summary>A service-account key file whose token_uri is this fake, as the Cloud console writes them.</summary>
    public string KeyFileJson(string? tokenUri = null) => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = Project,
        ["private_key_id"] = "fake-key-1",
        ["private_key"] = _key.ExportPkcs8PrivateKeyPem() + "\n",
        ["client_email"] = ServiceAccount,
        ["client_id"] = "100000000000000000001",
        ["auth_uri"] = "https://accounts.google.com/o/oauth2/auth",
        ["token_uri"] = tokenUri ?? new Uri(Url, "token").ToString(),
    }.ToJsonString();

    private void Count(string route) => _requests.AddOrUpdate(route, 1, (_, n) => n + 1);

    private object TokenBody() => new { access_token = AccessToken, expires_in = TokenLifetimeSeconds, token_type = "Bearer" };

    /// <summary>The tokens IAM Credentials' generateAccessToken issues, by impersonated service account.</summary>
    public ConcurrentDictionary<string, string> ImpersonatedTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>The bodies of generateAccessToken requests (target, delegates, scope).</summary>
    public ConcurrentQueue<string> ImpersonationRequests { get; } = new();

    private void MapAuth(WebApplication app)
    {
        app.MapPost("/v1/projects/-/serviceAccounts/{target}:generateAccessToken", async (HttpContext http, string target) =>
        {
            Count("generate-access-token");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            using var reader = new StreamReader(http.Request.Body);
            ImpersonationRequests.Enqueue(target + " " + await reader.ReadToEndAsync());
            return ImpersonatedTokens.TryGetValue(target, out var token)
                ? Results.Json(new { accessToken = token, expireTime = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) })
                : Error(403, "PERMISSION_DENIED", $"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
        });

        app.MapPost("/token", async (HttpContext http) =>
        {
            Count("token");
            var form = await http.Request.ReadFormAsync();
            if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                return Results.Json(new { error = "unsupported_grant_type", error_description = $"grant_type {form["grant_type"]}" }, statusCode: 400);
            }

            var problem = CheckAssertion(form["assertion"].ToString(), new Uri(Url, "token").ToString());
            return problem is null
                ? Results.Json(TokenBody())
                : Results.Json(new { error = "invalid_grant", error_description = problem }, statusCode: 400);
        });

        app.MapGet("/computeMetadata/v1/instance/service-accounts/default/token", (HttpContext http) =>
        {
            Count("metadata-token");
            return http.Request.Headers["Metadata-Flavor"] == "Google"
                ? Results.Json(TokenBody())
                : Results.Text("Missing Metadata-Flavor: Google header", statusCode: 403);
        });
        app.MapGet("/", (HttpContext http) =>
        {
            http.Response.Headers["Metadata-Flavor"] = "Google";
            return Results.Text("ok");
        });
    }

    /// <summary>Checks a JWT-bearer assertion: RS256 by the service account's key, for this token endpoint, not expired.</summary>
    private string? CheckAssertion(string assertion, string audience)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return "assertion is not a JWT";
        }

        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!_key.VerifyData(signed, Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return "Invalid JWT Signature.";
        }

        using var payload = JsonDocument.Parse(Base64Url(parts[1]));
        var claims = payload.RootElement;
        if (claims.GetProperty("iss").GetString() != ServiceAccount)
        {
            return "Invalid issuer";
        }

        // Google accepts its canonical token URL as the audience whichever token URI the key names.
        if (claims.GetProperty("aud").GetString() is not { } aud || (aud != audience && aud != "https://oauth2.googleapis.com/token"))
        {
            return $"Invalid JWT: audience {claims.GetProperty("aud").GetString()}";
        }

        if (!claims.TryGetProperty("scope", out var scope) || string.IsNullOrEmpty(scope.GetString()))
        {
            return "Invalid JWT: no scope";
        }

        return claims.GetProperty("exp").GetInt64() < DateTimeOffset.UtcNow.ToUnixTimeSeconds()
            ? "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
            : null;
    }

    /// <summary>Checks a self-signed JWT access token: RS256 by the service account's key, issued by it, not expired.</summary>
    private string? SelfSignedJwtProblem(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return "not a JWT";
        }

        try
        {
            if (!_key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return "bad signature";
            }

            using var payload = JsonDocument.Parse(Base64Url(parts[1]));
            var claims = payload.RootElement;
            return claims.GetProperty("iss").GetString() != ServiceAccount ? "bad issuer"
                : claims.GetProperty("exp").GetInt64() < DateTimeOffset.UtcNow.ToUnixTimeSeconds() ? "expired"
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return e.Message;
        }
    }

    private static byte[] Base64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    /// <summary>401 in Google's words unless the request carries the issued token.</summary>
    private IResult? Unauthorized(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        Authorizations.Enqueue(header);
        if (header == "Bearer " + AccessToken || ImpersonatedTokens.Values.Any(t => header == "Bearer " + t))
        {
            return null;
        }

        // Google's APIs also take a JWT the service account signs itself (the Cloud client libraries send one).
        if (header.StartsWith("Bearer ", StringComparison.Ordinal) && SelfSignedJwtProblem(header[7..]) is null)
        {
            Count("self-signed-jwt");
            return null;
        }

        return Error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    }

    private static IResult Error(int code, string status, string message) =>
        Results.Json(new { error = new { code, message, status } }, statusCode: code);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _key.Dispose();
    }
}
