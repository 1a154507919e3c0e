using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Web.Tests;

/// <summary>The OpenAPI document is pinned: a change to the API shows up as a diff of openapi.snapshot.json.</summary>
[Collection("web")]
public sealed class OpenApiTests(WebFixture fixture)
{
    [Fact]
    public async Task Openapi_document_matches_the_snapshot()
    {
        using var client = fixture.Client(null);
        var doc = JsonNode.Parse(await client.GetStringAsync("/api/v1/openapi.json"))!.AsObject();
        doc["info"]!["version"] = "VERSION"; // the build's version is not part of the contract
        var actual = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var path = Path.Combine(RepoRoot(), "tests", "Sirocco.Web.Tests", "openapi.snapshot.json");
        if (Environment.GetEnvironmentVariable("SIROCCO_UPDATE_SNAPSHOTS") == "1")
        {
            await File.WriteAllTextAsync(path, actual);
        }

        Assert.True(File.Exists(path), $"{path} is missing: run the tests once with SIROCCO_UPDATE_SNAPSHOTS=1 and commit it");
        var expected = await File.ReadAllTextAsync(path);
        Assert.True(expected == actual, "the OpenAPI document changed; if on purpose, rerun with SIROCCO_UPDATE_SNAPSHOTS=1 and commit openapi.snapshot.json");
    }

    [Fact]
    public async Task Every_operation_documents_its_errors()
    {
        using var client = fixture.Client(null);
        var doc = JsonNode.Parse(await client.GetStringAsync("/api/v1/openapi.json"))!.AsObject();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, op) in item!.AsObject())
            {
                var responses = op!["responses"]!.AsObject();
                if (op["x-required-role"]!.GetValue<string>() != "none")
                {
                    Assert.True(responses.ContainsKey("401") && responses.ContainsKey("403"), $"{method} {path}");
                }

                Assert.False(string.IsNullOrEmpty(op["operationId"]?.GetValue<string>()), $"{method} {path}");
            }
        }
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Sirocco.slnx not found above " + AppContext.BaseDirectory);
    }
}
