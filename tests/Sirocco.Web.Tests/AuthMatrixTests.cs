using System.Net;
using System.Text;

namespace Sirocco.Web.Tests;

/// <summary>Every operation of the OpenAPI document: 401 without credentials, 403 for a role below the one it needs.</summary>
[Collection("web")]
public sealed class AuthMatrixTests(WebFixture fixture)
{
    private static readonly string[] RoleOrder = ["Viewer", "User", "Op", "Admin"];

    private async Task<List<(string Method, string Path, string Role)>> OperationsAsync()
    {
        using var client = fixture.Client(null);
        var doc = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/openapi.json"));
        var ops = new List<(string, string, string)>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, op) in item!.AsObject())
            {
                var concrete = path.Replace("{dag_id}", "example_empty").Replace("{dag_run_id}", "no_such_run").Replace("{task_id}", "extract")
                    .Replace("{task_try_number}", "1").Replace("{xcom_key}", "return_value").Replace("{variable_key}", "k").Replace("{connection_id}", "c")
                    .Replace("{import_error_id}", "1").Replace("{username}", "nobody");
                ops.Add((method.ToUpperInvariant(), concrete, op!["x-required-role"]!.GetValue<string>()));
            }
        }

        return ops;
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method is "GET" or "DELETE" ? null : new StringContent("{}", Encoding.UTF8, "application/json"),
    };

    [Fact]
    public async Task Every_protected_operation_answers_401_problem_json_without_credentials()
    {
        var ops = await OperationsAsync();
        Assert.True(ops.Count >= 40, $"expected the whole API in the document, got {ops.Count} operations");
        using var client = fixture.Client(null);
        foreach (var (method, path, role) in ops.Where(o => o.Role != "none"))
        {
            using var response = await client.SendAsync(Request(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            var body = await WebFixture.JsonAsync(response);
            Assert.Equal(401, body["status"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task Wrong_password_and_unknown_user_are_401()
    {
        using var client = fixture.Client(null);
        foreach (var header in new[] { "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:wrong")), "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ghost:" + WebFixture.Password)), "Basic !!!", "Bearer not.a-token" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/dags");
            request.Headers.TryAddWithoutValidation("Authorization", header);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Every_operation_answers_403_to_the_role_just_below_the_one_it_needs()
    {
        var ops = await OperationsAsync();
        var checkedCount = 0;
        foreach (var (method, path, role) in ops.Where(o => o.Role is "User" or "Op" or "Admin"))
        {
            var below = RoleOrder[Array.IndexOf(RoleOrder, role) - 1].ToLowerInvariant();
            using var client = fixture.Client(below);
            using var response = await client.SendAsync(Request(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} as {below}: {(int)response.StatusCode}");
            var body = await WebFixture.JsonAsync(response);
            Assert.Contains(role, body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            checkedCount++;
        }

        Assert.True(checkedCount >= 20, $"only {checkedCount} operations need more than Viewer");
    }

    [Fact]
    public async Task Viewer_reads_what_every_role_may_read()
    {
        using var client = fixture.Client("viewer");
        foreach (var path in new[] { "/api/v1/dags", "/api/v1/dags/example_empty", "/api/v1/dags/example_empty/details", "/api/v1/dags/example_empty/tasks", "/api/v1/dags/~/dagRuns", "/api/v1/importErrors" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Public_operations_need_no_login()
    {
        using var client = fixture.Client(null);
        var health = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/health"));
        Assert.Equal("healthy", health["metadatabase"]!["status"]!.GetValue<string>());
        Assert.Equal("healthy", health["scheduler"]!["status"]!.GetValue<string>());
        var version = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/version"));
        Assert.False(string.IsNullOrEmpty(version["version"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Bearer_token_from_auth_token_works_and_a_tampered_one_does_not()
    {
        using var anonymous = fixture.Client(null);
        using var bad = await anonymous.PostAsync("/auth/token", new StringContent("""{"username":"op","password":"nope"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        var token = (await WebFixture.JsonAsync(await anonymous.PostAsync("/auth/token", new StringContent($$"""{"username":"op","password":"{{WebFixture.Password}}"}""", Encoding.UTF8, "application/json"))))["access_token"]!.GetValue<string>();

        using var client = fixture.Client(null);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var ok = await client.GetAsync("/api/v1/variables");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        client.DefaultRequestHeaders.Authorization = new("Bearer", tampered);
        using var no = await client.GetAsync("/api/v1/variables");
        Assert.Equal(HttpStatusCode.Unauthorized, no.StatusCode);
    }

    [Fact]
    public async Task A_deactivated_user_is_refused_at_once()
    {
        await fixture.Store.UpsertUserAsync(new Storage.User("temp_viewer", Security.PasswordHasher.Create(WebFixture.Password), "Viewer"));
        using var client = fixture.Client("temp_viewer");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/dags")).StatusCode);
        await fixture.Store.UpsertUserAsync(new Storage.User("temp_viewer", (await fixture.Store.GetUserAsync("temp_viewer"))!.PasswordHash, "Viewer", Active: false));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/dags")).StatusCode);
    }

    [Fact]
    public async Task Users_api_is_admin_only_and_manages_logins()
    {
        using var admin = fixture.Client("admin");
        using var created = await admin.PostAsync("/api/v1/users", new StringContent($$"""{"username":"newop","password":"{{WebFixture.Password}}","roles":[{"name":"op"}],"email":"o@example.com"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("Op", (await WebFixture.JsonAsync(created))["roles"]![0]!["name"]!.GetValue<string>());
        using var asNew = fixture.Client("newop");
        Assert.Equal(HttpStatusCode.OK, (await asNew.GetAsync("/api/v1/variables")).StatusCode);
        using var patched = await admin.PatchAsync("/api/v1/users/newop", new StringContent("""{"role":"Viewer"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await asNew.GetAsync("/api/v1/variables")).StatusCode);
        var list = await WebFixture.JsonAsync(await admin.GetAsync("/api/v1/users"));
        Assert.Contains(list["users"]!.AsArray(), u => u!["username"]!.GetValue<string>() == "newop");
        Assert.DoesNotContain("pbkdf2", list.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/v1/users/newop")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await asNew.GetAsync("/api/v1/dags")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/users/newop")).StatusCode);
    }
}
