using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>A query parameter of an API operation.</summary>
internal sealed record ApiParam(string Name, string Type, string Description);

/// <summary>One API operation: what the OpenAPI document says and who may call it (null: no login needed).</summary>
internal sealed record ApiRoute(
    string Method,
    string Path,
    string OperationId,
    string Tag,
    string Summary,
    Role? MinRole,
    string Response,
    string? Request = null,
    IReadOnlyList<ApiParam>? Query = null,
    bool TextResponse = false);

internal delegate Task<IResult> ApiHandler(HttpContext context, Principal? user);

/// <summary>
/// The API's single source of truth: each operation is registered here once, with its handler; routing, the
/// 401/403 checks and the OpenAPI document all come from this table.
/// </summary>
internal sealed class ApiRegistry
{
    private readonly List<(ApiRoute Route, ApiHandler Handler)> _routes = [];

    public IReadOnlyList<ApiRoute> Routes => [.. _routes.Select(r => r.Route)];

    public void Add(ApiRoute route, ApiHandler handler) => _routes.Add((route, handler));

    public void Map(WebApplication app, Authenticator auth, AuditLog audit)
    {
        foreach (var (route, handler) in _routes)
        {
            var r = route;
            var h = handler;
            var endpoint = app.MapMethods(r.Path, [r.Method], async (HttpContext context) =>
            {
                Principal? user = null;
                if (r.MinRole is { } needed)
                {
                    user = await auth.AuthenticateApiAsync(context).ConfigureAwait(false);
                    if (user is null)
                    {
                        if (BasicUser(context) is { } tried)
                        {
                            await audit.AuthAsync(context, "login.failed", tried, "api").ConfigureAwait(false);
                        }

                        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Sirocco\", Bearer";
                        return Problem.Result(401, "Unauthorized", "No credentials, or wrong ones: send Authorization: Basic (user:password) or Bearer (a token from POST /auth/token)");
                    }

                    context.Items[WebLog.UserItem] = user.Username;
                    if (!user.Can(needed))
                    {
                        return Problem.Result(403, "Forbidden", $"User '{user.Username}' with role {user.Role} may not do this: it needs the {needed} role or higher");
                    }
                }

                var result = await h(context, user).ConfigureAwait(false);
                if (r.Method != "GET" && r.MinRole is not null && result is not IStatusCodeHttpResult { StatusCode: >= 400 })
                {
                    await audit.ApiAsync(context, r.OperationId, user).ConfigureAwait(false);
                }

                return result;
            });
            if (r.OperationId == "create_token")
            {
                endpoint.RequireRateLimiting(SiroccoWebServer.AuthRateLimitPolicy);
            }
        }
    }

    /// <summary>The user name of a Basic authorization header, if there is one.</summary>
    private static string? BasicUser(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 ? decoded[..colon] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The OpenAPI 3.0 document of every registered operation.</summary>
    public JsonObject OpenApiDocument(string version)
    {
        var paths = new JsonObject();
        foreach (var r in _routes.Select(x => x.Route).OrderBy(x => x.Path, StringComparer.Ordinal).ThenBy(x => x.Method, StringComparer.Ordinal))
        {
            if (paths[r.Path] is not JsonObject item)
            {
                item = [];
                paths[r.Path] = item;
            }

            var parameters = new JsonArray();
            foreach (var segment in r.Path.Split('/'))
            {
                if (segment.StartsWith('{'))
                {
                    var name = segment.Trim('{', '}');
                    parameters.Add(new JsonObject { ["name"] = name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
                }
            }

            foreach (var q in r.Query ?? [])
            {
                parameters.Add(new JsonObject { ["name"] = q.Name, ["in"] = "query", ["required"] = false, ["description"] = q.Description, ["schema"] = new JsonObject { ["type"] = q.Type } });
            }

            var responses = new JsonObject
            {
                [r.Method == "DELETE" ? "204" : "200"] = r.Method == "DELETE"
                    ? new JsonObject { ["description"] = "Deleted" }
                    : new JsonObject
                    {
                        ["description"] = "Success",
                        ["content"] = r.TextResponse
                            ? new JsonObject
                            {
                                ["application/json"] = new JsonObject { ["schema"] = Ref(r.Response) },
                                ["text/plain"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "string" } },
                            }
                            : new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Ref(r.Response) } },
                    },
            };
            if (r.Request is not null || (r.Query?.Count ?? 0) > 0 || r.Path.Contains('{', StringComparison.Ordinal))
            {
                responses["400"] = ErrorRef("Bad input; detail says what and why");
            }

            if (r.MinRole is not null)
            {
                responses["401"] = ErrorRef("No or wrong credentials");
                responses["403"] = ErrorRef($"The caller's role is below {r.MinRole}");
            }

            if (r.Path.Contains('{', StringComparison.Ordinal))
            {
                responses["404"] = ErrorRef("Not found");
            }

            var op = new JsonObject
            {
                ["operationId"] = r.OperationId,
                ["tags"] = new JsonArray(r.Tag),
                ["summary"] = r.Summary,
                ["x-required-role"] = r.MinRole?.ToString() ?? "none",
                ["parameters"] = parameters,
            };
            if (r.Request is not null)
            {
                op["requestBody"] = new JsonObject
                {
                    ["required"] = true,
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Ref(r.Request) } },
                };
            }

            op["responses"] = responses;
            if (r.MinRole is null)
            {
                op["security"] = new JsonArray();
            }

            item[r.Method.ToLowerInvariant()] = op;
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject
            {
                ["title"] = "Sirocco API",
                ["version"] = version,
                ["description"] = "Shaped like Apache Airflow's stable REST API (/api/v1). Errors are problem JSON; lists take limit, offset and order_by.",
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = "/" }),
            ["security"] = new JsonArray(new JsonObject { ["basic"] = new JsonArray() }, new JsonObject { ["bearer"] = new JsonArray() }),
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject
                {
                    ["basic"] = new JsonObject { ["type"] = "http", ["scheme"] = "basic" },
                    ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" },
                },
                ["schemas"] = ApiSchemas.All(),
            },
        };
    }

    private static JsonObject Ref(string schema) => new() { ["$ref"] = "#/components/schemas/" + schema };

    private static JsonObject ErrorRef(string description) => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = Ref("Error") } },
    };
}
