using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Sirocco.Configuration;
using Sirocco.Storage;
using Sirocco.Web.Security;

namespace Sirocco.Web.Tests;

/// <summary>
/// Sign-in hardening on servers of their own (each with its own database and settings): rate limit, lockout, equal
/// cost for unknown users, revocation on logout and password change, rehash on login, TLS, the audit log, and the
/// connection test being off by default.
/// </summary>
public sealed class WebHardeningTests : IAsyncLifetime
{
    private const string Password = "correct-horse-battery";
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-webhard-").FullName;
    private readonly List<SiroccoWebServer> _servers = [];
    private IMetadataStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        await _store.MigrateAsync();
        foreach (var role in new[] { "Admin", "Op", "Viewer" })
        {
            await _store.UpsertUserAsync(new User(role.ToLowerInvariant(), PasswordHasher.Create(Password), role));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }

        await _store.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    private async Task<SiroccoWebServer> StartAsync(Dictionary<string, string>? settings = null, TimeProvider? time = null, string urls = "http://127.0.0.1:0", List<string>? log = null)
    {
        var config = SiroccoConfig.Load(_home, settings ?? []);
        var server = await SiroccoWebServer.StartAsync(new WebServerOptions
        {
            Config = config,
            Store = _store,
            Urls = urls,
            Time = time ?? TimeProvider.System,
            Log = log is null ? null : line => { lock (log) { log.Add(line); } },
        });
        _servers.Add(server);
        return server;
    }

    private static HttpClient Client(SiroccoWebServer server, HttpMessageHandler? handler = null) =>
        new(handler ?? new HttpClientHandler(), disposeHandler: true) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };

    private static Task<HttpResponseMessage> TokenAsync(HttpClient client, string user, string password) =>
        client.PostAsync("/auth/token", new StringContent(new JsonObject { ["username"] = user, ["password"] = password }.ToJsonString(), Encoding.UTF8, "application/json"));

    private static async Task<string> TokenOfAsync(HttpClient client, string user)
    {
        using var response = await TokenAsync(client, user, Password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await WebFixture.JsonAsync(response))["access_token"]!.GetValue<string>();
    }

    private static async Task<HttpStatusCode> GetWithTokenAsync(HttpClient client, string token, string path = "/api/v1/dags")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Sign_in_endpoints_are_rate_limited_per_address_as_auth_rate_limit_says_and_refusals_are_logged()
    {
        var log = new List<string>();
        var server = await StartAsync(new() { ["SIROCCO__WEBSERVER__LOGIN_LOCKOUT_ATTEMPTS"] = "0" }, log: log);
        using var client = Client(server);

        // Airflow's default, 5 per 40 second: five answers (right or wrong), then 429 with Retry-After.
        for (var i = 0; i < 5; i++)
        {
            using var ok = await TokenAsync(client, "op", i == 2 ? Password : "wrong");
            Assert.Equal(i == 2 ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, ok.StatusCode);
        }

        using var refused = await TokenAsync(client, "op", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("[webserver] auth_rate_limit allows 5 per 40 second", (await WebFixture.JsonAsync(refused))["detail"]!.ToString(), StringComparison.Ordinal);

        // The login form shares the limit; other pages do not.
        using var form = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "op", ["password"] = Password }));
        Assert.Equal(HttpStatusCode.TooManyRequests, form.StatusCode);
        Assert.Contains("Too many sign-in attempts", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var health = await client.GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("refused by [webserver] auth_rate_limit", StringComparison.Ordinal));
        }

        var bad = await Assert.ThrowsAsync<SiroccoException>(() => StartAsync(new() { ["SIROCCO__WEBSERVER__AUTH_RATE_LIMIT"] = "five per second" }));
        Assert.Contains("[webserver] auth_rate_limit 'five per second' is not valid", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_name_for_known_and_unknown_users_alike_until_the_time_is_up()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var server = await StartAsync(new() { ["SIROCCO__WEBSERVER__AUTH_RATE_LIMITED"] = "False", ["SIROCCO__WEBSERVER__LOGIN_LOCKOUT_SECONDS"] = "300" }, time);
        using var client = Client(server);
        foreach (var name in new[] { "op", "nobody" })
        {
            for (var i = 0; i < 5; i++)
            {
                using var wrong = await TokenAsync(client, name, "wrong");
                Assert.Equal(i < 4 ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, wrong.StatusCode);
            }

            // Locked: even the right password is refused, with the time left; Basic auth is refused too.
            using var locked = await TokenAsync(client, name, Password);
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            Assert.Matches(@"Too many failed logins for this user name: try again in \d+ s", (await WebFixture.JsonAsync(locked))["detail"]!.ToString());
        }

        using (var basic = new HttpRequestMessage(HttpMethod.Get, "/api/v1/dags"))
        {
            basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("op:" + Password)));
            using var response = await client.SendAsync(basic);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Another user is not affected; after the lockout the right password works again.
        Assert.NotEmpty(await TokenOfAsync(client, "viewer"));
        time.Advance(TimeSpan.FromSeconds(301));
        Assert.NotEmpty(await TokenOfAsync(client, "op"));

        var (events, _) = await _store.ListEventLogsAsync(new EventLogQuery { IncludedEvents = ["login.failed", "login.locked"] });
        Assert.Contains(events, e => e is { Event: "login.failed", Owner: "nobody", Origin: "api" });
        Assert.Contains(events, e => e is { Event: "login.locked", Owner: "op" });
    }

    [Fact]
    public async Task An_unknown_user_costs_what_a_known_user_with_a_wrong_password_costs()
    {
        var server = await StartAsync(new() { ["SIROCCO__WEBSERVER__AUTH_RATE_LIMITED"] = "False", ["SIROCCO__WEBSERVER__LOGIN_LOCKOUT_ATTEMPTS"] = "0" });
        using var client = Client(server);
        async Task<double> OnceMsAsync(string user, int i)
        {
            var sw = Stopwatch.StartNew();
            using var r = await TokenAsync(client, user, "wrong-" + i);
            var ms = sw.Elapsed.TotalMilliseconds;
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            return ms;
        }

        await OnceMsAsync("op", -1); // warm-up
        await OnceMsAsync("no-such-user", -1);

        // Interleaved, so that both see the same load, and compared by their fastest attempt: the cost of the work
        // itself, which a busy machine can only add to (a CI run saw medians of 119 ms and 365 ms under load).
        var knownTimes = new List<double>();
        var unknownTimes = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            knownTimes.Add(await OnceMsAsync("op", i));
            unknownTimes.Add(await OnceMsAsync("no-such-user", i));
        }

        var known = knownTimes.Min();
        var unknown = unknownTimes.Min();

        Assert.True(unknown > known * 0.5, $"unknown user {unknown:0.0} ms against known user {known:0.0} ms");
    }

    [Fact]
    public async Task Logout_ends_every_session_and_token_of_the_user_and_a_password_change_ends_the_tokens()
    {
        var server = await StartAsync(new() { ["SIROCCO__WEBSERVER__AUTH_RATE_LIMITED"] = "False" });
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var browser = Client(server, handler);
        using var api = Client(server);
        var token = await TokenOfAsync(api, "op");
        Assert.Equal(HttpStatusCode.OK, await GetWithTokenAsync(api, token));

        var page = await browser.GetStringAsync("/login");
        using (var login = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = SecurityTests.CsrfToken(page), ["username"] = "op", ["password"] = Password })))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        var cookie = handler.CookieContainer.GetCookies(server.Address)["sirocco_session"]!.Value;
        var dags = await browser.GetStringAsync("/dags");
        using (var logout = await browser.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = SecurityTests.CsrfToken(dags) })))
        {
            Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        }

        // The old cookie, replayed, no longer signs in; the token issued before the logout is refused.
        using var replay = Client(server, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/dags"))
        {
            request.Headers.Add("Cookie", "sirocco_session=" + cookie);
            using var response = await replay.SendAsync(request);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/login", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithTokenAsync(api, token));

        // A new token works until the password changes (here by an admin through the API).
        var fresh = await TokenOfAsync(api, "op");
        Assert.Equal(HttpStatusCode.OK, await GetWithTokenAsync(api, fresh));
        var adminToken = await TokenOfAsync(api, "admin");
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users/op") { Content = new StringContent("""{"password":"another-long-password"}""", Encoding.UTF8, "application/json") })
        {
            patch.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await api.SendAsync(patch);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithTokenAsync(api, fresh));
        Assert.Equal(HttpStatusCode.OK, await GetWithTokenAsync(api, adminToken));
        var (events, _) = await _store.ListEventLogsAsync(new EventLogQuery { Owner = "op" });
        Assert.Contains(events, e => e is { Event: "login", Origin: "ui" });
        Assert.Contains(events, e => e is { Event: "logout", Origin: "ui" });
    }

    [Fact]
    public async Task A_hash_of_the_earlier_format_is_replaced_at_login()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var legacy = $"pbkdf2-sha256$1000${Convert.ToBase64String(salt)}${Convert.ToBase64String(Rfc2898DeriveBytes.Pbkdf2(Password, salt, 1000, HashAlgorithmName.SHA256, 32))}";
        await _store.UpsertUserAsync(new User("legacy", legacy, "Viewer"));
        var server = await StartAsync();
        using var client = Client(server);
        Assert.NotEmpty(await TokenOfAsync(client, "legacy"));
        var stored = (await _store.GetUserAsync("legacy"))!.PasswordHash;
        Assert.NotEqual(legacy, stored);
        Assert.Equal(1, Convert.FromBase64String(stored)[0]); // ASP.NET Core Identity v3
        Assert.True(PasswordHasher.Verify(Password, stored));
    }

    [Fact]
    public async Task With_a_certificate_and_key_the_server_speaks_only_https_with_hsts_and_secure_cookies()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(_home, "web.crt");
        var keyFile = Path.Combine(_home, "web.key");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, rsa.ExportPkcs8PrivateKeyPem());
        var tls = new Dictionary<string, string> { ["SIROCCO__WEBSERVER__WEB_SERVER_SSL_CERT"] = certFile, ["SIROCCO__WEBSERVER__WEB_SERVER_SSL_KEY"] = keyFile };

        var server = await StartAsync(tls, urls: "https://127.0.0.1:0");
        Assert.Equal("https", server.Address.Scheme);
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = false,
            CookieContainer = new CookieContainer(),
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == cert.Thumbprint,
        };
        using var client = Client(server, handler);
        using var page = await client.GetAsync("/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("max-age=31536000; includeSubDomains", page.Headers.GetValues("Strict-Transport-Security").Single());
        using var login = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = SecurityTests.CsrfToken(await page.Content.ReadAsStringAsync()), ["username"] = "op", ["password"] = Password }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Contains(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("sirocco_session=", StringComparison.Ordinal) && c.Contains("secure", StringComparison.OrdinalIgnoreCase));

        // Plain http to the TLS port is no answer; a missing key file is an error naming it.
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(new UriBuilder(server.Address) { Scheme = "http" }.Uri));
        var missing = new Dictionary<string, string>(tls) { ["SIROCCO__WEBSERVER__WEB_SERVER_SSL_KEY"] = Path.Combine(_home, "nope.key") };
        var e = await Assert.ThrowsAsync<SiroccoException>(() => StartAsync(missing, urls: "https://127.0.0.1:0"));
        Assert.Contains("web_server_ssl_key: file '" + Path.Combine(_home, "nope.key") + "' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changes_through_the_api_are_in_the_audit_log_with_who_and_from_where_but_no_secret()
    {
        var server = await StartAsync(new() { ["SIROCCO__WEBSERVER__AUTH_RATE_LIMITED"] = "False" });
        using var api = Client(server);
        var token = await TokenOfAsync(api, "op");
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var created = await api.PostAsync("/api/v1/variables", new StringContent("""{"key":"db_password","value":"hunter2-s3cret"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        using (var refused = await api.PostAsync("/api/v1/variables", new StringContent("""{"key":"db_password","value":"again"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }

        using (var deleted = await api.DeleteAsync("/api/v1/variables/db_password"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var list = await WebFixture.JsonAsync(await api.GetAsync("/api/v1/eventLogs?owner=op&excluded_events=token"));
        var events = list["event_logs"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(2, list["total_entries"]!.GetValue<int>());
        Assert.Equal(["api.delete_variable", "api.post_variables"], events.Select(e => e["event"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Equal("api", e["origin"]!.GetValue<string>()));
        Assert.Contains("db_password", events[0]["extra"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", list.ToJsonString(), StringComparison.Ordinal);
        var one = await WebFixture.JsonAsync(await api.GetAsync("/api/v1/eventLogs/" + events[0]["event_log_id"]));
        Assert.Equal("api.delete_variable", one["event"]!.GetValue<string>());
        using var none = await api.GetAsync("/api/v1/eventLogs/999999");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);

        // The Admin page lists the same lines.
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = Client(server, handler);
        var page = await browser.GetStringAsync("/login");
        using (await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = SecurityTests.CsrfToken(page), ["username"] = "viewer", ["password"] = Password })))
        {
        }

        var audit = await browser.GetStringAsync("/admin/audit-log?owner=op");
        Assert.Contains("api.delete_variable", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Testing_a_connection_is_refused_unless_test_connection_is_enabled()
    {
        var body = """{"connection_id":"k","conn_type":"kubernetes","extra":"{\"in_cluster\": true}"}""";
        foreach (var (mode, expected) in new[] { ((string?)null, HttpStatusCode.Forbidden), ("Hidden", HttpStatusCode.Forbidden), ("Enabled", HttpStatusCode.OK) })
        {
            var server = await StartAsync(mode is null ? [] : new() { ["SIROCCO__CORE__TEST_CONNECTION"] = mode });
            using var api = Client(server);
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("op:" + Password)));
            using var response = await api.PostAsync("/api/v1/connections/test", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(expected, response.StatusCode);
            if (expected == HttpStatusCode.Forbidden)
            {
                Assert.Contains("Set [core] test_connection = Enabled", (await WebFixture.JsonAsync(response))["detail"]!.ToString(), StringComparison.Ordinal);
            }
        }
    }
}
