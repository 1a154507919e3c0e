using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>Variables, Connections, configuration, import errors, users, health, version, tokens and the OpenAPI document.</summary>
internal static class AdminEndpoints
{
    private const string P = "/api/v1";

    public static string Version { get; } =
        typeof(AdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static void Register(ApiRegistry api, WebState state, Operations ops, Authenticator auth)
    {
        ApiParam[] page = [new("limit", "integer", "Most items returned (1-1000, default 100)"), new("offset", "integer", "Items skipped")];

        // ------------------------------------------------------------ variables
        api.Add(
            new ApiRoute("GET", P + "/variables", "get_variables", "Variable", "List Variables (values of sensitive keys masked)", Role.Op, "VariableCollection", Query: [.. page, new("order_by", "string", "key (default), '-key'")]),
            (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "key", "key");
                var all = state.Store.ListVariables();
                var items = ApiInput.Sort(all, order, (v, _) => v.Key).Skip(offset).Take(limit).Select(v => ApiJson.Variable(v, state.Masker));
                return Task.FromResult(Results.Json(ApiJson.Collection("variables", items, all.Count)));
            });
        api.Add(new ApiRoute("GET", P + "/variables/{variable_key}", "get_variable", "Variable", "Get a Variable", Role.Op, "Variable"), (ctx, _) =>
        {
            var key = ApiInput.Route(ctx, "variable_key");
            var v = state.Store.GetVariable(key) ?? throw ApiException.NotFound("Variable not found", $"Variable '{key}' does not exist");
            return Task.FromResult(Results.Json(ApiJson.Variable(v, state.Masker)));
        });
        api.Add(new ApiRoute("POST", P + "/variables", "post_variables", "Variable", "Create a Variable", Role.Op, "Variable", "Variable"), async (ctx, _) =>
        {
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var key = ApiInput.Str(body, "key", required: true)!;
            var value = VariableValue(body) ?? throw ApiException.BadRequest("'value' is required");
            if (state.Store.GetVariable(key) is not null)
            {
                throw ApiException.Conflict($"Variable '{key}' already exists; PATCH /api/v1/variables/{key} changes it");
            }

            ops.SetVariable(key, value, ApiInput.Str(body, "description"));
            return Results.Json(ApiJson.Variable(state.Store.GetVariable(key)!, state.Masker));
        });
        api.Add(
            new ApiRoute("PATCH", P + "/variables/{variable_key}", "patch_variable", "Variable", "Update a Variable", Role.Op, "Variable", "Variable", [new("update_mask", "string", "Fields to update: value, description")]),
            async (ctx, _) =>
            {
                var key = ApiInput.Route(ctx, "variable_key");
                var mask = ApiInput.UpdateMask(ctx, "value", "description");
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var current = state.Store.GetVariable(key) ?? throw ApiException.NotFound("Variable not found", $"Variable '{key}' does not exist");
                if (ApiInput.Str(body, "key") is { } bodyKey && bodyKey != key)
                {
                    throw ApiException.BadRequest($"the body's key '{bodyKey}' differs from the path's '{key}'");
                }

                var value = mask is null || mask.Contains("value") ? VariableValue(body) ?? current.Value : current.Value;
                var description = mask is null || mask.Contains("description") ? ApiInput.Str(body, "description") ?? current.Description : current.Description;
                ops.SetVariable(key, value, description);
                return Results.Json(ApiJson.Variable(state.Store.GetVariable(key)!, state.Masker));
            });
        api.Add(new ApiRoute("DELETE", P + "/variables/{variable_key}", "delete_variable", "Variable", "Delete a Variable", Role.Op, "Empty"), (ctx, _) =>
        {
            var key = ApiInput.Route(ctx, "variable_key");
            return Task.FromResult(state.Store.DeleteVariable(key)
                ? Results.NoContent()
                : throw ApiException.NotFound("Variable not found", $"Variable '{key}' does not exist"));
        });

        // ------------------------------------------------------------ connections
        api.Add(
            new ApiRoute("GET", P + "/connections", "get_connections", "Connection", "List Connections (no passwords; sensitive extras masked)", Role.Op, "ConnectionCollection", Query: [.. page, new("order_by", "string", "connection_id (default), conn_type")]),
            (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "connection_id", "connection_id", "conn_type");
                var all = state.Store.ListConnections();
                var items = ApiInput.Sort(all, order, (c, f) => f == "conn_type" ? c.ConnType : c.ConnId).Skip(offset).Take(limit).Select(c => ApiJson.Connection(c, state.Masker));
                return Task.FromResult(Results.Json(ApiJson.Collection("connections", items, all.Count)));
            });
        api.Add(new ApiRoute("GET", P + "/connections/{connection_id}", "get_connection", "Connection", "Get a Connection", Role.Op, "Connection"), (ctx, _) =>
        {
            var id = ApiInput.Route(ctx, "connection_id");
            var c = state.Store.GetConnection(id) ?? throw ApiException.NotFound("Connection not found", $"The Connection with connection_id: `{id}` was not found");
            return Task.FromResult(Results.Json(ApiJson.Connection(c, state.Masker)));
        });
        api.Add(new ApiRoute("POST", P + "/connections", "post_connection", "Connection", "Create a Connection", Role.Op, "Connection", "Connection"), async (ctx, _) =>
        {
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var c = ConnectionFrom(body, ApiInput.Str(body, "connection_id", required: true)!, null);
            if (state.Store.GetConnection(c.ConnId) is not null)
            {
                throw ApiException.Conflict($"Connection already exists. ID: {c.ConnId}");
            }

            ops.SetConnection(c);
            return Results.Json(ApiJson.Connection(c, state.Masker));
        });
        api.Add(
            new ApiRoute("PATCH", P + "/connections/{connection_id}", "patch_connection", "Connection", "Update a Connection", Role.Op, "Connection", "Connection", [new("update_mask", "string", "Fields to update")]),
            async (ctx, _) =>
            {
                var id = ApiInput.Route(ctx, "connection_id");
                var current = state.Store.GetConnection(id) ?? throw ApiException.NotFound("Connection not found", $"The Connection with connection_id: `{id}` was not found");
                var mask = ApiInput.UpdateMask(ctx, "conn_type", "description", "host", "login", "password", "schema", "port", "extra");
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                if (ApiInput.Str(body, "connection_id") is { } bodyId && bodyId != id)
                {
                    throw ApiException.BadRequest($"the body's connection_id '{bodyId}' differs from the path's '{id}'");
                }

                var c = ConnectionFrom(body, id, current, mask);
                ops.SetConnection(c);
                return Results.Json(ApiJson.Connection(c, state.Masker));
            });
        api.Add(new ApiRoute("DELETE", P + "/connections/{connection_id}", "delete_connection", "Connection", "Delete a Connection", Role.Op, "Empty"), (ctx, _) =>
        {
            var id = ApiInput.Route(ctx, "connection_id");
            return Task.FromResult(state.Store.DeleteConnection(id)
                ? Results.NoContent()
                : throw ApiException.NotFound("Connection not found", $"The Connection with connection_id: `{id}` was not found"));
        });
        api.Add(
            new ApiRoute("POST", P + "/connections/test", "test_connection", "Connection", "Test a Connection (kubernetes: reach the cluster, report its version)", Role.Op, "ConnectionTest", "Connection"),
            async (ctx, _) =>
            {
                ConnectionTester.RequireEnabled(state.Config);
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var id = ApiInput.Str(body, "connection_id") ?? "test_connection";
                var c = ConnectionFrom(body, id, null);
                var (ok, message) = await ConnectionTester.TestAsync(state, c, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(new JsonObject { ["status"] = ok, ["message"] = state.Masker.Redact(message) });
            });

        // ------------------------------------------------------------ config, import errors
        api.Add(
            new ApiRoute("GET", P + "/config", "get_config", "Config", "The configuration (sensitive values masked; 403 unless [webserver] expose_config)", Role.Op, "Config", Query: [new("section", "string", "Only this section")]),
            (ctx, _) =>
            {
                if (!ConfigExposed(state.Config))
                {
                    return Task.FromResult(Problem.Result(403, "Forbidden", "Your Sirocco administrator chose not to expose the configuration, most likely for security reasons ([webserver] expose_config = False)."));
                }

                var section = ctx.Request.Query["section"].ToString();
                var options = state.Config.List().Where(o => section.Length == 0 || o.Section == section).ToList();
                if (section.Length > 0 && options.Count == 0)
                {
                    throw ApiException.NotFound("Config not found", $"Section '{section}' is not in the configuration");
                }

                var sections = new JsonArray();
                foreach (var g in options.GroupBy(o => o.Section))
                {
                    sections.Add(new JsonObject
                    {
                        ["name"] = g.Key,
                        ["options"] = new JsonArray([.. g.Select(o => (JsonNode)new JsonObject { ["key"] = o.Key, ["value"] = ConfigValue(o, state.Masker), ["source"] = o.Source.ToString().ToLowerInvariant() })]),
                    });
                }

                return Task.FromResult(Results.Json(new JsonObject { ["sections"] = sections }));
            });
        api.Add(
            new ApiRoute("GET", P + "/importErrors", "get_import_errors", "ImportError", "List DAG files that failed to load", Role.Viewer, "ImportErrorCollection", Query: [.. page, new("order_by", "string", "filename (default), timestamp, import_error_id")]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "import_error_id", "import_error_id", "filename", "timestamp");
                var all = (await state.Store.ListImportErrorsAsync(ctx.RequestAborted).ConfigureAwait(false)).Select((e, i) => (Id: i + 1, Error: e)).ToList();
                var items = ApiInput.Sort(all, order, (x, f) => f switch { "filename" => x.Error.FileName, "timestamp" => x.Error.Timestamp, _ => x.Id })
                    .Skip(offset).Take(limit).Select(x => ApiJson.ImportError(x.Id, x.Error, state.Masker));
                return Results.Json(ApiJson.Collection("import_errors", items, all.Count));
            });
        api.Add(new ApiRoute("GET", P + "/importErrors/{import_error_id}", "get_import_error", "ImportError", "Get an import error", Role.Viewer, "ImportError"), async (ctx, _) =>
        {
            var text = ApiInput.Route(ctx, "import_error_id");
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id < 1)
            {
                throw ApiException.BadRequest($"import_error_id must be a positive integer, got '{text}'");
            }

            var all = await state.Store.ListImportErrorsAsync(ctx.RequestAborted).ConfigureAwait(false);
            return id <= all.Count
                ? Results.Json(ApiJson.ImportError(id, all[id - 1], state.Masker))
                : throw ApiException.NotFound("Import error not found", $"The ImportError with import_error_id: `{id}` was not found");
        });

        // ------------------------------------------------------------ DAG warnings
        api.Add(
            new ApiRoute("GET", P + "/dagWarnings", "get_dag_warnings", "DagWarning", "List DAG warnings", Role.Viewer, "DagWarningCollection",
                Query: [.. page, new("dag_id", "string", "only this DAG's"), new("warning_type", "string", "only this kind"), new("order_by", "string", "dag_id (default), warning_type, message, timestamp")]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "dag_id", "dag_id", "warning_type", "message", "timestamp");
                var dagId = ctx.Request.Query["dag_id"].ToString() is { Length: > 0 } d ? d : null;
                var type = ctx.Request.Query["warning_type"].ToString();
                var all = (await state.Store.ListDagWarningsAsync(dagId, ctx.RequestAborted).ConfigureAwait(false))
                    .Where(w => type.Length == 0 || w.WarningType == type).ToList();
                var items = ApiInput.Sort(all, order, (w, f) => f switch { "warning_type" => w.WarningType, "message" => w.Message, "timestamp" => w.Timestamp, _ => (IComparable)w.DagId })
                    .Skip(offset).Take(limit).Select(w => ApiJson.DagWarning(w, state.Masker));
                return Results.Json(ApiJson.Collection("dag_warnings", items, all.Count));
            });

        // ------------------------------------------------------------ users
        api.Add(new ApiRoute("GET", P + "/users", "get_users", "User", "List users", Role.Admin, "UserCollection", Query: page), async (ctx, _) =>
        {
            var (limit, offset) = ApiInput.Page(ctx);
            var all = await state.Store.ListUsersAsync(ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(ApiJson.Collection("users", all.Skip(offset).Take(limit).Select(ApiJson.User), all.Count));
        });
        api.Add(new ApiRoute("GET", P + "/users/{username}", "get_user", "User", "Get a user", Role.Admin, "User"), async (ctx, _) =>
            Results.Json(ApiJson.User(await RequireUserAsync(state, ApiInput.Route(ctx, "username"), ctx.RequestAborted).ConfigureAwait(false))));
        api.Add(new ApiRoute("POST", P + "/users", "post_user", "User", "Create a user", Role.Admin, "User", "UserWrite"), async (ctx, _) =>
        {
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var name = ApiInput.Str(body, "username", required: true)!;
            Operations.ValidateKey("username", name);
            var password = ApiInput.Str(body, "password", required: true)!;
            var role = RoleFrom(body) ?? throw ApiException.BadRequest($"a role is required: one of {string.Join(", ", Roles.Names)}");
            if (await state.Store.GetUserAsync(name, ctx.RequestAborted).ConfigureAwait(false) is not null)
            {
                throw ApiException.Conflict($"Username `{name}` already exists. Use PATCH to update.");
            }

            var user = new User(name, PasswordHasher.Create(CheckPassword(password)), role, ApiInput.Str(body, "email"))
            {
                FirstName = ApiInput.Str(body, "first_name"),
                LastName = ApiInput.Str(body, "last_name"),
            };
            await state.Store.UpsertUserAsync(user, ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(ApiJson.User(user));
        });
        api.Add(new ApiRoute("PATCH", P + "/users/{username}", "patch_user", "User", "Update a user (role, email, password, active)", Role.Admin, "User", "UserWrite"), async (ctx, _) =>
        {
            var current = await RequireUserAsync(state, ApiInput.Route(ctx, "username"), ctx.RequestAborted).ConfigureAwait(false);
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var password = ApiInput.Str(body, "password");
            var user = current with
            {
                Role = RoleFrom(body) ?? current.Role,
                Email = ApiInput.Str(body, "email") ?? current.Email,
                Active = ApiInput.Bool(body, "active") ?? current.Active,
                FirstName = ApiInput.Str(body, "first_name") ?? current.FirstName,
                LastName = ApiInput.Str(body, "last_name") ?? current.LastName,
                PasswordHash = password is null ? current.PasswordHash : PasswordHasher.Create(CheckPassword(password)),
            };
            await state.Store.UpsertUserAsync(user, ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(ApiJson.User(user));
        });
        api.Add(new ApiRoute("DELETE", P + "/users/{username}", "delete_user", "User", "Delete a user", Role.Admin, "Empty"), async (ctx, caller) =>
        {
            var name = ApiInput.Route(ctx, "username");
            if (name == caller!.Username)
            {
                throw ApiException.BadRequest("you cannot delete your own user");
            }

            return await state.Store.DeleteUserAsync(name, ctx.RequestAborted).ConfigureAwait(false)
                ? Results.NoContent()
                : throw ApiException.NotFound("User not found", $"The User with username `{name}` was not found");
        });

        // ------------------------------------------------------------ health, version, token, OpenAPI
        api.Add(new ApiRoute("GET", P + "/health", "get_health", "Monitoring", "Health of the metadata database and the scheduler (no login needed)", null, "HealthInfo"), async (ctx, _) =>
        {
            string db;
            try
            {
                await state.Store.GetSchemaVersionAsync(ctx.RequestAborted).ConfigureAwait(false);
                db = "healthy";
            }
#pragma warning disable CA1031 // a database that cannot answer is what this endpoint reports
            catch (Exception)
#pragma warning restore CA1031
            {
                db = "unhealthy";
            }

            // Every scheduler that has not ended, as the job table records it: live when it beat within the threshold.
            var limit = TimeSpan.FromSeconds(state.Config.GetInt("scheduler", "scheduler_health_check_threshold"));
            var now = state.Time.GetUtcNow();
            IReadOnlyList<JobRecord> jobs = [];
            if (db == "healthy")
            {
                jobs = await state.Store.ListJobsAsync(Scheduler.JobTypes.Scheduler, runningOnly: true, ctx.RequestAborted).ConfigureAwait(false);
            }

            var live = jobs.Where(j => now - j.LatestHeartbeat < limit).ToList();
            var beat = jobs.Count > 0 ? jobs[0].LatestHeartbeat : state.Options.SchedulerHeartbeat?.Invoke();
            string scheduler;
            if (jobs.Count > 0 || state.Options.SchedulerHeartbeat is not null)
            {
                scheduler = beat is { } b && now - b < limit ? "healthy" : "unhealthy";
            }
            else
            {
                scheduler = state.Options.Scheduler is not null ? "healthy" : "unknown";
            }

            var list = new JsonArray();
            foreach (var j in live)
            {
                list.Add(new JsonObject
                {
                    ["job_id"] = j.Id,
                    ["hostname"] = j.Hostname,
                    ["pid"] = j.Pid,
                    ["start_date"] = ApiJson.Iso(j.StartDate),
                    ["latest_heartbeat"] = ApiJson.Iso(j.LatestHeartbeat),
                });
            }

            return Results.Json(new JsonObject
            {
                ["metadatabase"] = new JsonObject { ["status"] = db },
                ["scheduler"] = new JsonObject { ["status"] = scheduler, ["latest_scheduler_heartbeat"] = ApiJson.Iso(beat), ["schedulers"] = list },
            });
        });
        api.Add(new ApiRoute("GET", P + "/version", "get_version", "Monitoring", "The server's version (no login needed)", null, "VersionInfo"), (_, _) =>
            Task.FromResult(Results.Json(new JsonObject { ["version"] = Version, ["git_version"] = null })));
        api.Add(new ApiRoute("POST", "/auth/token", "create_token", "Security", "Exchange a user name and password for a bearer token (valid 1 hour)", null, "Token", "TokenRequest"), async (ctx, _) =>
        {
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var name = ApiInput.Str(body, "username", required: true)!;
            var password = ApiInput.Str(body, "password", required: true)!;
            var outcome = await auth.CheckPasswordAsync(name, password, ctx.RequestAborted).ConfigureAwait(false);
            if (outcome.User is not { } user)
            {
                await state.Audit.AuthAsync(ctx, outcome.LockedFor is null ? "login.failed" : "login.locked", name, "api").ConfigureAwait(false);
                return outcome.LockedFor is { } locked
                    ? Problem.Result(429, "Too Many Requests", Security.LoginMessages.Locked(locked))
                    : Problem.Result(401, "Unauthorized", "Invalid username or password");
            }

            await state.Audit.AuthAsync(ctx, "token", user.Username, "api").ConfigureAwait(false);
            return Results.Json(new JsonObject
            {
                ["access_token"] = await auth.IssueTokenAsync(user.Username, ctx.RequestAborted).ConfigureAwait(false),
                ["token_type"] = "bearer",
                ["expires_in"] = (int)Authenticator.TokenLifetime.TotalSeconds,
            });
        });
        api.Add(new ApiRoute("GET", P + "/openapi.json", "get_openapi", "Monitoring", "This OpenAPI document (no login needed)", null, "Empty"), (_, _) =>
            Task.FromResult(Results.Text(api.OpenApiDocument(Version).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), "application/json")));
    }

    public static bool ConfigExposed(SiroccoConfig config) =>
        config.Get("webserver", "expose_config", "False") is { } v
        && (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("non-sensitive-only", StringComparison.OrdinalIgnoreCase));

    public static string ConfigValue(ConfigOption o, SecretMasker masker) =>
        SiroccoConfig.IsSensitive(o.Section, o.Key) ? "< hidden >" : masker.Redact(o.Value);

    private static async Task<User> RequireUserAsync(WebState state, string name, CancellationToken ct) =>
        await state.Store.GetUserAsync(name, ct).ConfigureAwait(false)
            ?? throw ApiException.NotFound("User not found", $"The User with username `{name}` was not found");

    private static string CheckPassword(string password) =>
        password.Length >= 8 ? password : throw ApiException.BadRequest("the password must have at least 8 characters");

    private static string? RoleFrom(JsonObject body)
    {
        var name = ApiInput.Str(body, "role");
        if (name is null && body["roles"] is JsonArray roles)
        {
            if (roles.Count != 1 || roles[0] is not JsonObject r || r["name"] is not JsonValue)
            {
                throw ApiException.BadRequest("'roles' must be a list with one {\"name\": ROLE}");
            }

            name = r["name"]!.ToString();
        }

        return name is null ? null : Roles.Normalize(name) ?? throw ApiException.BadRequest($"unknown role '{name}'; roles: {string.Join(", ", Roles.Names)}");
    }

    private static string? VariableValue(JsonObject body) => body["value"] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        var other => other.ToJsonString(),
    };

    private static Connection ConnectionFrom(JsonObject body, string id, Connection? current, IReadOnlySet<string>? mask = null)
    {
        bool Take(string f) => mask is null ? body.ContainsKey(f) : mask.Contains(f);
        string? S(string f, string? old) => Take(f) ? ApiInput.Str(body, f) : old;
        var extra = Take("extra") ? body["extra"] switch
        {
            null => null,
            JsonObject o => o.ToJsonString(),
            JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            var other => throw ApiException.BadRequest($"'extra' must be a JSON object or a string holding one, got {other.ToJsonString()}"),
        } : current?.Extra;
        var type = S("conn_type", current?.ConnType);
        return new Connection
        {
            ConnId = id,
            ConnType = string.IsNullOrWhiteSpace(type) ? throw ApiException.BadRequest("'conn_type' is required, e.g. kubernetes") : type,
            Description = S("description", current?.Description),
            Host = S("host", current?.Host),
            Login = S("login", current?.Login),
            Password = S("password", current?.Password),
            Schema = S("schema", current?.Schema),
            Port = Take("port") ? ApiInput.Int(body, "port") : current?.Port,
            Extra = extra,
        };
    }
}
