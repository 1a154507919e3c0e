using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Sirocco.Testing;

/// <summary>Secret Manager's access call of the fake (the latest version of a secret).</summary>
public sealed partial class FakeGoogle
{
    private readonly ConcurrentDictionary<(string Project, string Secret), string> _secrets = new();

    /// <summary>Adds (or replaces with a new latest version) a secret.</summary>
    public void SetSecret(string project, string secretId, string value) => _secrets[(project, secretId)] = value;

    private void MapSecretManager(WebApplication app) =>
        app.MapGet("/v1/projects/{project}/secrets/{secret}/versions/{version}", (HttpContext http, string project, string secret, string version) =>
        {
            Count("secret-access");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            if (version != "latest:access")
            {
                return Error(400, "INVALID_ARGUMENT", $"version {version} is not served by the fake");
            }

            var name = $"projects/{project}/secrets/{secret}";
            return _secrets.TryGetValue((project, secret), out var value)
                ? Results.Json(new JsonObject
                {
                    ["name"] = name + "/versions/1",
                    ["payload"] = new JsonObject { ["data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) },
                })
                : Error(404, "NOT_FOUND", $"Secret [{name}] not found or has no versions.");
        });
}
