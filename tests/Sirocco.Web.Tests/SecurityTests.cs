using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sirocco.Web.Security;

namespace Sirocco.Web.Tests;

[Collection("web")]
public sealed partial class SecurityTests(WebFixture fixture)
{
    [Fact]
    public async Task Responses_carry_security_headers()
    {
        using var client = fixture.Client(null);
        foreach (var path in new[] { "/login", "/api/v1/health" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("Server"));
        }
    }

    [Fact]
    public async Task A_server_error_shows_no_internals()
    {
        using var client = fixture.Client("viewer");
        WebFixture.BreakDagProvider = true;
        try
        {
            using var api = await client.GetAsync("/api/v1/dags/example_empty/tasks");
            Assert.Equal(HttpStatusCode.InternalServerError, api.StatusCode);
            var body = await api.Content.ReadAsStringAsync();
            Assert.Contains("An unexpected error occurred", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret internal detail", body, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }
        finally
        {
            WebFixture.BreakDagProvider = false;
        }
    }

    [Fact]
    public async Task A_request_body_over_the_limit_is_413()
    {
        using var op = fixture.Client("op");
        var big = "{\"key\":\"big\",\"value\":\"" + new string('x', 300 * 1024) + "\"}";
        using var response = await op.PostAsync("/api/v1/variables", new StringContent(big, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Null(fixture.Store.GetVariable("big"));
    }

    [Fact]
    public async Task Ui_needs_login_and_forms_need_the_csrf_token()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        using var client = new HttpClient(handler) { BaseAddress = fixture.Address };
        using var anonymous = await client.GetAsync("/dags");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.StartsWith("/login?next=", anonymous.Headers.Location!.OriginalString, StringComparison.Ordinal);

        // A login form posted without its CSRF token is refused.
        using var forged = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "user", ["password"] = WebFixture.Password }));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        await LoginAsync(client, "user", "//evil.example/steal");
        using var dags = await client.GetAsync("/dags");
        Assert.Equal(HttpStatusCode.OK, dags.StatusCode);
        var html = await dags.Content.ReadAsStringAsync();
        Assert.Contains("example_empty", html, StringComparison.Ordinal);

        // Signed in, but the pause form without the token: 400 and nothing changes.
        var before = (await fixture.Store.GetDagAsync("paging_0"))!.IsPaused;
        using var noToken = await client.PostAsync("/dags/paging_0/pause", new FormUrlEncodedContent(new Dictionary<string, string> { ["is_paused"] = before ? "false" : "true" }));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        Assert.Contains("CSRF", await noToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, (await fixture.Store.GetDagAsync("paging_0"))!.IsPaused);

        // With the token from the page, the same form works.
        var token = CsrfToken(html);
        using var withToken = await client.PostAsync("/dags/paging_0/pause", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = token, ["is_paused"] = before ? "false" : "true", ["next"] = "/dags" }));
        Assert.Equal(HttpStatusCode.Redirect, withToken.StatusCode);
        Assert.Equal(!before, (await fixture.Store.GetDagAsync("paging_0"))!.IsPaused);
        await fixture.Store.SetDagPausedAsync("paging_0", before);

        // A User may not open Admin pages.
        using var admin = await client.GetAsync("/admin/variables");
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
    }

    [Fact]
    public async Task Login_with_a_wrong_password_fails_and_next_never_leaves_the_site()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var client = new HttpClient(handler) { BaseAddress = fixture.Address };
        var page = await client.GetStringAsync("/login");
        using var wrong = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = CsrfToken(page), ["username"] = "admin", ["password"] = "nope" }));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("Invalid login", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var location = await LoginAsync(client, "viewer", "https://evil.example/");
        Assert.Equal("/dags", location);
    }

    [Fact]
    public void Password_hashes_verify_and_read_the_cli_format()
    {
        // ASP.NET Core Identity's format v3: marker 0x01, PRF 2 (HMAC-SHA512), 210,000 iterations, big-endian.
        var hash = PasswordHasher.Create("s3cret-pass");
        var raw = Convert.FromBase64String(hash);
        Assert.Equal(1, raw[0]);
        Assert.Equal(2u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(1)));
        Assert.Equal(210_000u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(5)));
        Assert.True(PasswordHasher.Verify("s3cret-pass", hash));
        Assert.False(PasswordHasher.Verify("s3cret-pasS", hash));
        Assert.NotEqual(hash, PasswordHasher.Create("s3cret-pass"));

        // The format earlier versions wrote (PBKDF2-SHA256, any iteration count) still verifies.
        var salt = RandomNumberGenerator.GetBytes(16);
        var cli = $"pbkdf2-sha256$1000${Convert.ToBase64String(salt)}${Convert.ToBase64String(Rfc2898DeriveBytes.Pbkdf2("admin-pw", salt, 1000, HashAlgorithmName.SHA256, 32))}";
        Assert.True(PasswordHasher.Verify("admin-pw", cli));
        foreach (var malformed in new[] { "", "plain", "md5$1$a$b", "pbkdf2-sha256$x$a$b", "pbkdf2-sha256$10$!!$??", "pbkdf2-sha256$10$AAAA$" })
        {
            Assert.False(PasswordHasher.Verify("admin-pw", malformed));
        }
    }

    internal static string CsrfToken(string html) => CsrfRegex().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new InvalidOperationException("no CSRF field in the page");

    private async Task<string> LoginAsync(HttpClient client, string user, string next)
    {
        var page = await client.GetStringAsync("/login");
        using var response = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = CsrfToken(page), ["username"] = user, ["password"] = WebFixture.Password, ["next"] = next }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.StartsWith("/", location, StringComparison.Ordinal);
        Assert.False(location.StartsWith("//", StringComparison.Ordinal));
        return location;
    }

    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfRegex();
}
