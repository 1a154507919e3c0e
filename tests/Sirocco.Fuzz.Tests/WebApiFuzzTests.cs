using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>The web server of the REST API tests, started once for them.</summary>
public sealed class WebApiServer() : StartedTarget(new WebApiTarget())
{
    internal WebApiTarget Api => (WebApiTarget)Target;
}

/// <summary>Generated bodies for every JSON operation of the REST API: never a 5xx, every 4xx a problem with a detail.</summary>
public sealed class WebApiFuzzTests(WebApiServer server, ITestOutputHelper output) : IClassFixture<WebApiServer>
{
    /// <summary>Requests the fuzzer found, each a 500 fixed since: method, path, body, and what the 400 says.</summary>
    public static TheoryData<string, string, string, string> FoundInputs() => new()
    {
        // A member given twice threw an ArgumentException on the first read of the body.
        { "PATCH", "/api/v1/dags/fuzz_dag/dagRuns/fuzz_run/taskInstances/extract", """{"new_state":null,"new_state":"success"}""", "new_state" },
        { "POST", "/api/v1/dags/fuzz_dag/dagRuns", """{"conf":{"a":1,"a":2}}""", "'a'" },
        // Half a surrogate pair parses, then threw an InvalidOperationException where it was read as text.
        { "POST", "/api/v1/connections", """{"connection_id":"c\ud800","conn_type":"http"}""", "not valid JSON text" },
        { "POST", "/api/v1/users", """{"username":"u","email\ud800":"a@example.com"}""", "not valid JSON text" },
        // A connection's extra with a key twice threw an ArgumentException when it was checked.
        { "POST", "/api/v1/connections", """{"connection_id":"dup_extra","conn_type":"http","extra":"{\"k\": 1, \"k\": 2}"}""", "dup_extra" },
    };

    [Fact]
    public async Task Generated_request_bodies_are_answered_without_server_errors()
    {
        await FuzzCheck.RunAsync(server.Target, defaultCases: 500, output);

        // Every operation with a JSON body gets bodies built from a valid one: a new endpoint needs its valid body here.
        var unknown = server.Api.Operations.Where(o => !ApiRequestGenerator.ValidBodies.ContainsKey(o.Schema)).Select(o => $"{o.Method} {o.Path} ({o.Schema})");
        Assert.Empty(unknown);
        Assert.True(server.Api.Operations.Count >= 10, $"only {server.Api.Operations.Count} JSON operations in the OpenAPI document");
    }

    [Theory]
    [MemberData(nameof(FoundInputs))]
    public async Task Requests_found_by_the_fuzzer_are_refused_with_a_detail(string method, string path, string body, string detail)
    {
        var request = new ApiRequest(method, path, "application/json", body);
        await FuzzCheck.FoundInputAsync(ct => server.Api.CheckAsync(request, ct), accepted: false, "400 ", TimeSpan.FromSeconds(10));
        await FuzzCheck.FoundInputAsync(ct => server.Api.CheckAsync(request, ct), accepted: false, detail, TimeSpan.FromSeconds(10));
    }
}
