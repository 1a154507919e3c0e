using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>Admin &gt; Variables, Connections, Configuration.</summary>
internal static partial class UiPages
{
    private static readonly string[] KubeFields = ["kube_config_path", "kube_config", "namespace", "cluster_context", "in_cluster", "disable_verify_ssl"];
    private static readonly string[] ConnTypes = ["kubernetes", "google_cloud_platform", "http", "postgres", "generic"];

    private static void RegisterAdmin(WebApplication app, Authenticator auth, WebState state, Operations ops)
    {
        // ------------------------------------------------------------ variables
        Get(app, auth, "/admin/variables", Role.Op, (ctx, user) => Task.FromResult(VariablesPage(ctx, user, state)));
        Get(app, auth, "/admin/variables/add", Role.Op, (ctx, user) => Task.FromResult(VariableForm(ctx, user, null, string.Empty, string.Empty, string.Empty, null)));
        Get(app, auth, "/admin/variables/edit/{key}", Role.Op, (ctx, user) =>
        {
            var key = Route(ctx, "key");
            var v = state.Store.GetVariable(key) ?? throw ApiException.NotFound("Variable not found", $"Variable '{key}' does not exist");
            return Task.FromResult(VariableForm(ctx, user, key, key, SecretMasker.IsSensitiveName(key) ? string.Empty : v.Value, v.Description ?? string.Empty, null));
        });
        Post(app, auth, "/admin/variables/save", Role.Op, async (ctx, user) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var original = form["original_key"].ToString();
            var key = form["key"].ToString().Trim();
            var value = form["val"].ToString();
            var description = form["description"].ToString();
            try
            {
                var existing = state.Store.GetVariable(key);
                if (original.Length == 0 && existing is not null)
                {
                    throw ApiException.BadRequest($"Variable '{key}' already exists: edit it instead");
                }

                if (original.Length > 0 && value.Length == 0 && SecretMasker.IsSensitiveName(key) && state.Store.GetVariable(original) is { } old)
                {
                    value = old.Value; // a secret left blank keeps its value
                }

                ops.SetVariable(key, value, description);
                if (original.Length > 0 && original != key)
                {
                    state.Store.DeleteVariable(original);
                }
            }
            catch (ApiException e) when (e.Status == 400)
            {
                return VariableForm(ctx, user, original.Length > 0 ? original : null, key, SecretMasker.IsSensitiveName(key) ? string.Empty : value, description, e.Message, 400);
            }

            Flash(ctx, $"Variable {key} saved");
            return Results.Redirect("/admin/variables");
        });
        Post(app, auth, "/admin/variables/delete", Role.Op, async (ctx, _) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var key = form["key"].ToString();
            Flash(ctx, state.Store.DeleteVariable(key) ? $"Variable {key} deleted" : $"Variable {key} did not exist", !state.Store.ListVariables().Any());
            return Results.Redirect("/admin/variables");
        });
        Get(app, auth, "/admin/variables/export", Role.Op, (ctx, _) =>
        {
            var o = new JsonObject();
            foreach (var v in state.Store.ListVariables())
            {
                o[v.Key] = ApiJson.MaskedVariableValue(v, state.Masker);
            }

            ctx.Response.Headers.ContentDisposition = "attachment; filename=\"variables.json\"";
            return Task.FromResult(Results.Text(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), "application/json"));
        });
        Post(app, auth, "/admin/variables/import", Role.Op, async (ctx, _) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var file = form.Files["file"];
            if (file is null || file.Length == 0)
            {
                Flash(ctx, "Choose a JSON file to import", error: true);
                return Results.Redirect("/admin/variables");
            }

            JsonObject? doc;
            try
            {
                using var stream = file.OpenReadStream();
                doc = await JsonNode.ParseAsync(stream, documentOptions: ApiInput.ClientJson, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
            {
                Flash(ctx, $"Import failed: the file is not valid JSON ({e.Message})", error: true);
                return Results.Redirect("/admin/variables");
            }

            if (doc is null)
            {
                Flash(ctx, "Import failed: the file must hold a JSON object of key: value", error: true);
                return Results.Redirect("/admin/variables");
            }

            var n = 0;
            foreach (var (k, v) in doc)
            {
                var text = v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : v?.ToJsonString() ?? "null";
                ops.SetVariable(k, text, null);
                n++;
            }

            Flash(ctx, $"{n} variable(s) imported");
            return Results.Redirect("/admin/variables");
        });

        // ------------------------------------------------------------ connections
        Get(app, auth, "/admin/connections", Role.Op, (ctx, user) => Task.FromResult(ConnectionsPage(ctx, user, state)));
        Get(app, auth, "/admin/connections/add", Role.Op, (ctx, user) =>
            Task.FromResult(ConnectionForm(ctx, user, state, null, new Connection { ConnId = string.Empty, ConnType = "kubernetes" }, null, null)));
        Get(app, auth, "/admin/connections/edit/{conn_id}", Role.Op, (ctx, user) =>
        {
            var id = Route(ctx, "conn_id");
            var c = state.Store.GetConnection(id) ?? throw ApiException.NotFound("Connection not found", $"Connection '{id}' does not exist");
            return Task.FromResult(ConnectionForm(ctx, user, state, id, c, null, null));
        });
        Post(app, auth, "/admin/connections/save", Role.Op, async (ctx, user) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var original = form["original_id"].ToString();
            Connection c;
            try
            {
                c = ConnectionFromForm(form, state, original);
                if (original.Length == 0 && state.Store.GetConnection(c.ConnId) is not null)
                {
                    throw ApiException.BadRequest($"Connection '{c.ConnId}' already exists: edit it instead");
                }

                ops.SetConnection(c);
                if (original.Length > 0 && original != c.ConnId)
                {
                    state.Store.DeleteConnection(original);
                }
            }
            catch (ApiException e) when (e.Status == 400)
            {
                return ConnectionForm(ctx, user, state, original.Length > 0 ? original : null, Echo(form), e.Message, null, 400);
            }

            Flash(ctx, $"Connection {c.ConnId} saved");
            return Results.Redirect("/admin/connections");
        });
        Post(app, auth, "/admin/connections/test", Role.Op, async (ctx, user) =>
        {
            ConnectionTester.RequireEnabled(state.Config);
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var original = form["original_id"].ToString();
            try
            {
                var c = ConnectionFromForm(form, state, original);
                var (ok, message) = await ConnectionTester.TestAsync(state, c, ctx.RequestAborted).ConfigureAwait(false);
                return ConnectionForm(ctx, user, state, original.Length > 0 ? original : null, Echo(form), ok ? null : state.Masker.Redact(message), ok ? state.Masker.Redact(message) : null);
            }
            catch (ApiException e) when (e.Status == 400)
            {
                return ConnectionForm(ctx, user, state, original.Length > 0 ? original : null, Echo(form), e.Message, null, 400);
            }
        });
        Post(app, auth, "/admin/connections/delete", Role.Op, async (ctx, _) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var id = form["conn_id"].ToString();
            Flash(ctx, state.Store.DeleteConnection(id) ? $"Connection {id} deleted" : $"Connection {id} did not exist");
            return Results.Redirect("/admin/connections");
        });

        // ------------------------------------------------------------ users (Admin)
        Get(app, auth, "/admin/users", Role.Admin, async (ctx, user) => UsersPage(ctx, user, await state.Store.ListUsersAsync(ctx.RequestAborted).ConfigureAwait(false), null));
        Post(app, auth, "/admin/users/save", Role.Admin, async (ctx, user) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var name = form["username"].ToString().Trim();
            var password = form["password"].ToString();
            try
            {
                Operations.ValidateKey("username", name);
                var role = Roles.Normalize(form["role"].ToString()) ?? throw ApiException.BadRequest($"unknown role '{form["role"]}'; roles: {string.Join(", ", Roles.Names)}");
                var existing = await state.Store.GetUserAsync(name, ctx.RequestAborted).ConfigureAwait(false);
                if (existing is null && password.Length == 0)
                {
                    throw ApiException.BadRequest("a new user needs a password");
                }

                if (password.Length is > 0 and < 8)
                {
                    throw ApiException.BadRequest("the password must have at least 8 characters");
                }

                if (existing is not null && name == user.Username && role != existing.Role)
                {
                    throw ApiException.BadRequest("you cannot change your own role");
                }

                var hash = password.Length > 0 ? PasswordHasher.Create(password) : existing!.PasswordHash;
                var email = form["email"].ToString().Trim();
                await state.Store.UpsertUserAsync(new Storage.User(name, hash, role, email.Length > 0 ? email : existing?.Email, existing?.Active ?? true), ctx.RequestAborted).ConfigureAwait(false);
                Flash(ctx, existing is null ? $"User {name} created" : $"User {name} updated");
                return Results.Redirect("/admin/users");
            }
            catch (ApiException e) when (e.Status == 400)
            {
                return UsersPage(ctx, user, await state.Store.ListUsersAsync(ctx.RequestAborted).ConfigureAwait(false), e.Message, 400);
            }
        });
        Post(app, auth, "/admin/users/delete", Role.Admin, async (ctx, user) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var name = form["username"].ToString();
            if (name == user.Username)
            {
                throw ApiException.BadRequest("you cannot delete your own user");
            }

            Flash(ctx, await state.Store.DeleteUserAsync(name, ctx.RequestAborted).ConfigureAwait(false) ? $"User {name} deleted" : $"User {name} did not exist");
            return Results.Redirect("/admin/users");
        });

        // ------------------------------------------------------------ configuration
        Get(app, auth, "/admin/configuration", Role.Op, (ctx, user) =>
        {
            var sb = new StringBuilder("<h1>Configuration</h1>");
            if (!AdminEndpoints.ConfigExposed(state.Config))
            {
                sb.Append("<div class=\"card\" id=\"config-hidden\">Your Sirocco administrator chose not to expose the configuration, most likely for security reasons. ")
                    .Append("Set <span class=\"mono\">[webserver] expose_config = True</span> to show it here (secrets stay hidden).</div>");
                return Task.FromResult(Page(ctx, user, "Configuration", sb.ToString(), "configuration"));
            }

            sb.Append("<p class=\"muted\">File: <span class=\"mono\">").Append(E(state.Config.FilePath)).Append("</span>. Environment variables SIROCCO__SECTION__KEY override it.</p>");
            sb.Append("<table class=\"list\" id=\"config\"><thead><tr><th>Section</th><th>Key</th><th>Value</th><th>Source</th></tr></thead><tbody>");
            foreach (var o in state.Config.List())
            {
                sb.Append("<tr><td>").Append(E(o.Section)).Append("</td><td class=\"mono\">").Append(E(o.Key)).Append("</td><td class=\"mono\">").Append(E(AdminEndpoints.ConfigValue(o, state.Masker)))
                    .Append("</td><td class=\"muted\">").Append(E(o.Source.ToString().ToLowerInvariant())).Append("</td></tr>");
            }

            sb.Append("</tbody></table>");
            return Task.FromResult(Page(ctx, user, "Configuration", sb.ToString(), "configuration"));
        });
    }

    private static IResult UsersPage(HttpContext ctx, Principal user, IReadOnlyList<Storage.User> users, string? error, int status = 200)
    {
        var sb = new StringBuilder("<h1>List Users</h1>");
        if (error is not null)
        {
            sb.Append("<div class=\"flash error\" role=\"alert\">").Append(E(error)).Append("</div>");
        }

        sb.Append("<table class=\"list\" id=\"users\"><thead><tr><th>Username</th><th>Role</th><th>Email</th><th>Active</th><th></th></tr></thead><tbody>");
        foreach (var u in users)
        {
            sb.Append("<tr data-username=\"").Append(E(u.Username)).Append("\"><td>").Append(E(u.Username)).Append("</td><td>").Append(E(u.Role)).Append("</td><td>").Append(E(u.Email))
                .Append("</td><td>").Append(u.Active ? "yes" : "no").Append("</td><td>");
            if (u.Username != user.Username)
            {
                sb.Append(ButtonForm(ctx, "/admin/users/delete", "Delete", "danger", $"Delete user {u.Username}?", Hidden("username", u.Username)));
            }

            sb.Append("</td></tr>");
        }

        var roles = string.Concat(Roles.Names.Select(r => $"<option value=\"{r}\">{r}</option>"));
        sb.Append("</tbody></table><h2>Add or update a user</h2><form class=\"card\" method=\"post\" action=\"/admin/users/save\">").Append(Csrf(ctx))
            .Append("<label class=\"field\"><span>Username</span><input type=\"text\" name=\"username\" required maxlength=\"250\"></label>")
            .Append("<label class=\"field\"><span>Role</span><select name=\"role\">").Append(roles).Append("</select></label>")
            .Append("<label class=\"field\"><span>Email</span><input type=\"text\" name=\"email\"></label>")
            .Append("<label class=\"field\"><span>Password <small>(at least 8 characters; leave empty to keep an existing user's)</small></span><input type=\"password\" name=\"password\" autocomplete=\"new-password\"></label>")
            .Append("<button type=\"submit\" class=\"primary\">Save</button></form>");
        return Page(ctx, user, "Users", sb.ToString(), "users", status);
    }

    private static IResult VariablesPage(HttpContext ctx, Principal user, WebState state)
    {
        var q = ctx.Request.Query["q"].ToString();
        var all = state.Store.ListVariables();
        var shown = all.Where(v => q.Length == 0 || v.Key.Contains(q, StringComparison.OrdinalIgnoreCase) || (v.Description?.Contains(q, StringComparison.OrdinalIgnoreCase) ?? false)).ToList();
        var sb = new StringBuilder("<div class=\"actions\"><h1>List Variable</h1>");
        sb.Append("<form method=\"get\" action=\"/admin/variables\"><input type=\"search\" name=\"q\" placeholder=\"Search key or description\" value=\"").Append(E(q)).Append("\"></form>");
        sb.Append("<a class=\"btn primary\" href=\"/admin/variables/add\" title=\"Add a new record\">+ Add a new record</a>");
        sb.Append("<a class=\"btn\" href=\"/admin/variables/export\">Export</a></div>");
        sb.Append("<table class=\"list\" id=\"variables\"><thead><tr><th>Key</th><th>Val</th><th>Description</th><th></th></tr></thead><tbody>");
        foreach (var v in shown)
        {
            sb.Append("<tr data-key=\"").Append(E(v.Key)).Append("\"><td class=\"mono\">").Append(E(v.Key)).Append("</td><td class=\"mono\">").Append(E(ApiJson.MaskedVariableValue(v, state.Masker)))
                .Append("</td><td>").Append(E(v.Description)).Append("</td><td><a class=\"btn\" href=\"/admin/variables/edit/").Append(U(v.Key)).Append("\">Edit</a> ")
                .Append(ButtonForm(ctx, "/admin/variables/delete", "Delete", "danger", $"Delete variable {v.Key}?", Hidden("key", v.Key))).Append("</td></tr>");
        }

        if (shown.Count == 0)
        {
            sb.Append("<tr><td colspan=\"4\" class=\"muted\">No records found</td></tr>");
        }

        sb.Append("</tbody></table><p class=\"muted\">").Append(shown.Count).Append(" of ").Append(all.Count).Append(" record(s). Values of keys containing password, secret, token, ... are masked.</p>");
        sb.Append("<h2>Import variables</h2><form class=\"card\" method=\"post\" action=\"/admin/variables/import\" enctype=\"multipart/form-data\">").Append(Csrf(ctx))
            .Append("<input type=\"file\" name=\"file\" accept=\".json,application/json\"> <button type=\"submit\">Import</button> <span class=\"muted\">A JSON object of key: value.</span></form>");
        return Page(ctx, user, "Variables", sb.ToString(), "variables");
    }

    private static IResult VariableForm(HttpContext ctx, Principal user, string? original, string key, string value, string description, string? error, int status = 200)
    {
        var secret = SecretMasker.IsSensitiveName(key) && original is not null;
        var body = $"""
            <h1>{(original is null ? "Add Variable" : "Edit Variable")}</h1>
            {(error is null ? string.Empty : $"<div class=\"flash error\" role=\"alert\">{E(error)}</div>")}
            <form class="card" method="post" action="/admin/variables/save">
              {Csrf(ctx)}{Hidden("original_key", original ?? string.Empty)}
              <label class="field"><span>Key</span><input type="text" name="key" id="key" value="{E(key)}" required maxlength="250"></label>
              <label class="field"><span>Val {(secret ? "<small>(a secret: leave empty to keep it)</small>" : string.Empty)}</span><textarea name="val" id="val">{E(value)}</textarea></label>
              <label class="field"><span>Description</span><textarea name="description" id="description">{E(description)}</textarea></label>
              <button type="submit" class="primary">Save</button> <a class="btn" href="/admin/variables">Cancel</a>
            </form>
            """;
        return Page(ctx, user, "Variable", body, "variables", status);
    }

    private static IResult ConnectionsPage(HttpContext ctx, Principal user, WebState state)
    {
        var sb = new StringBuilder("<div class=\"actions\"><h1>List Connection</h1><a class=\"btn primary\" href=\"/admin/connections/add\">+ Add a new record</a></div>");
        sb.Append("<table class=\"list\" id=\"connections\"><thead><tr><th>Conn Id</th><th>Conn Type</th><th>Description</th><th>Host</th><th>Extra</th><th></th></tr></thead><tbody>");
        var all = state.Store.ListConnections();
        foreach (var c in all)
        {
            sb.Append("<tr data-conn-id=\"").Append(E(c.ConnId)).Append("\"><td class=\"mono\">").Append(E(c.ConnId)).Append("</td><td>").Append(E(c.ConnType)).Append("</td><td>").Append(E(c.Description))
                .Append("</td><td>").Append(E(c.Host)).Append("</td><td class=\"mono\">").Append(E(ApiJson.MaskedExtra(c, state.Masker))).Append("</td><td><a class=\"btn\" href=\"/admin/connections/edit/")
                .Append(U(c.ConnId)).Append("\">Edit</a> ").Append(ButtonForm(ctx, "/admin/connections/delete", "Delete", "danger", $"Delete connection {c.ConnId}?", Hidden("conn_id", c.ConnId))).Append("</td></tr>");
        }

        if (all.Count == 0)
        {
            sb.Append("<tr><td colspan=\"6\" class=\"muted\">No records found</td></tr>");
        }

        sb.Append("</tbody></table>");
        return Page(ctx, user, "Connections", sb.ToString(), "connections");
    }

    private static IResult ConnectionForm(HttpContext ctx, Principal user, WebState state, string? original, Connection c, string? error, string? ok, int status = 200)
    {
        JsonObject extras;
        try
        {
            extras = c.ExtraDejson();
        }
        catch (SiroccoException)
        {
            extras = [];
        }

        string Extra(string name) => (extras[name] ?? extras["extra__kubernetes__" + name])?.ToString() ?? string.Empty;
        var otherExtras = new JsonObject();
        foreach (var (k, v) in extras)
        {
            if (!KubeFields.Contains(k) && !k.StartsWith("extra__kubernetes__", StringComparison.Ordinal))
            {
                otherExtras[k] = Connection.IsSensitiveExtra(k) ? SecretMasker.Mask : v?.DeepClone();
            }
        }

        var types = string.Concat(ConnTypes.Append(c.ConnType).Distinct().Select(t => $"<option value=\"{E(t)}\"{(t == c.ConnType ? " selected" : string.Empty)}>{E(t)}</option>"));
        var inline = Extra("kube_config");
        var body = $"""
            <h1>{(original is null ? "Add Connection" : "Edit Connection")}</h1>
            {(error is null ? string.Empty : $"<div class=\"flash error\" role=\"alert\" id=\"conn-error\">{E(error)}</div>")}
            {(ok is null ? string.Empty : $"<div class=\"flash\" role=\"status\" id=\"conn-ok\">{E(ok)}</div>")}
            <form class="card" method="post" action="/admin/connections/save">
              {Csrf(ctx)}{Hidden("original_id", original ?? string.Empty)}
              <label class="field"><span>Connection Id</span><input type="text" name="conn_id" value="{E(c.ConnId)}" required maxlength="250"></label>
              <label class="field"><span>Connection Type</span><select name="conn_type">{types}</select></label>
              <label class="field"><span>Description</span><input type="text" name="description" value="{E(c.Description)}"></label>
              <h2>Kubernetes cluster <small class="muted">(for conn type kubernetes)</small></h2>
              <label class="field"><span>Kube config path <small>(kube_config_path)</small></span><input type="text" name="kube_config_path" value="{E(Extra("kube_config_path"))}"></label>
              <label class="field"><span>Kube config (JSON or YAML) <small>(kube_config, inline; a secret{(inline.Length > 0 ? ": leave as *** to keep it" : string.Empty)})</small></span><textarea name="kube_config">{E(inline.Length > 0 ? SecretMasker.Mask : string.Empty)}</textarea></label>
              <label class="field"><span>Namespace</span><input type="text" name="namespace" value="{E(Extra("namespace"))}"></label>
              <label class="field"><span>Cluster context</span><input type="text" name="cluster_context" value="{E(Extra("cluster_context"))}"></label>
              <label class="field"><input type="checkbox" name="in_cluster" value="true"{(IsTrue(Extra("in_cluster")) ? " checked" : string.Empty)}> In cluster configuration</label>
              <label class="field"><input type="checkbox" name="disable_verify_ssl" value="true"{(IsTrue(Extra("disable_verify_ssl")) ? " checked" : string.Empty)}> Disable SSL verification</label>
              <h2>Other fields</h2>
              <label class="field"><span>Host</span><input type="text" name="host" value="{E(c.Host)}"></label>
              <label class="field"><span>Schema</span><input type="text" name="schema" value="{E(c.Schema)}"></label>
              <label class="field"><span>Login</span><input type="text" name="login" value="{E(c.Login)}"></label>
              <label class="field"><span>Password <small>{(original is null ? string.Empty : "(leave empty to keep the current one)")}</small></span><input type="password" name="password" autocomplete="new-password"></label>
              <label class="field"><span>Port</span><input type="number" name="port" value="{c.Port}"></label>
              <label class="field"><span>Extra <small>(other extras, a JSON object)</small></span><textarea name="extra">{E(otherExtras.Count == 0 ? string.Empty : otherExtras.ToJsonString())}</textarea></label>
              <button type="submit" class="primary">Save</button>
              {ConnectionTester.Button(state.Config)}
              <a class="btn" href="/admin/connections">Cancel</a>
            </form>
            """;
        return Page(ctx, user, "Connection", body, "connections", status);
    }

    private static bool IsTrue(string v) => v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1";

    /// <summary>The connection a form describes; masked or empty secrets keep the stored values.</summary>
    private static Connection ConnectionFromForm(IFormCollection form, WebState state, string original)
    {
        var id = form["conn_id"].ToString().Trim();
        var stored = original.Length > 0 ? state.Store.GetConnection(original) : null;
        var storedExtras = stored?.ExtraDejson() ?? [];
        var extras = new JsonObject();
        var extraText = form["extra"].ToString();
        if (extraText.Trim().Length > 0)
        {
            JsonObject parsed;
            try
            {
                parsed = JsonNode.Parse(extraText, documentOptions: ApiInput.ClientJson) as JsonObject ?? throw ApiException.BadRequest("Extra must be a JSON object, e.g. {\"key\": \"value\"}");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
            {
                throw ApiException.BadRequest($"Extra is not valid JSON: {e.Message}");
            }

            foreach (var (k, v) in parsed)
            {
                extras[k] = v is JsonValue mv && mv.ToString() == SecretMasker.Mask && storedExtras[k] is { } keep ? keep.DeepClone() : v?.DeepClone();
            }
        }

        foreach (var name in KubeFields)
        {
            var value = form[name].ToString();
            if (name == "kube_config" && value.Trim() == SecretMasker.Mask)
            {
                if (storedExtras["kube_config"] is { } keep)
                {
                    extras[name] = keep.DeepClone();
                }

                continue;
            }

            if (name is "in_cluster" or "disable_verify_ssl")
            {
                if (value == "true")
                {
                    extras[name] = true;
                }

                continue;
            }

            if (value.Trim().Length > 0)
            {
                extras[name] = name == "kube_config" ? value : value.Trim();
            }
        }

        int? port = null;
        var portText = form["port"].ToString();
        if (portText.Length > 0)
        {
            port = int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && p <= 65535
                ? p
                : throw ApiException.BadRequest($"Port must be a number from 0 to 65535, got '{portText}'");
        }

        var password = form["password"].ToString();
        return new Connection
        {
            ConnId = id,
            ConnType = form["conn_type"].ToString(),
            Description = Blank(form["description"]),
            Host = Blank(form["host"]),
            Schema = Blank(form["schema"]),
            Login = Blank(form["login"]),
            Password = password.Length > 0 ? password : stored?.Password,
            Port = port,
            Extra = extras.Count == 0 ? null : extras.ToJsonString(),
        };
    }

    /// <summary>The form's values shown back after an error or a test (secrets not echoed).</summary>
    private static Connection Echo(IFormCollection form)
    {
        var extras = new JsonObject();
        foreach (var name in KubeFields)
        {
            if (form[name].ToString() is { Length: > 0 } v)
            {
                extras[name] = name == "kube_config" ? SecretMasker.Mask : v;
            }
        }

        return new Connection
        {
            ConnId = form["conn_id"].ToString(),
            ConnType = form["conn_type"].ToString() is { Length: > 0 } t ? t : "kubernetes",
            Description = Blank(form["description"]),
            Host = Blank(form["host"]),
            Schema = Blank(form["schema"]),
            Login = Blank(form["login"]),
            Port = int.TryParse(form["port"].ToString(), out var p) ? p : null,
            Extra = extras.ToJsonString(),
        };
    }

    private static string? Blank(Microsoft.Extensions.Primitives.StringValues v) => v.ToString().Trim() is { Length: > 0 } s ? s : null;
}
