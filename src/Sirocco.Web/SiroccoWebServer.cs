using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using Sirocco.Web.Ui;

namespace Sirocco.Web;

/// <summary>
/// The web server: the UI (server-rendered pages) and the REST API under <c>/api/v1</c>, on Kestrel. Start it with
/// <see cref="StartAsync"/>; dispose it to stop.
/// </summary>
public sealed class SiroccoWebServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SiroccoWebServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The address the server listens on (with the real port when port 0 was asked for).</summary>
    public Uri Address { get; }

    /// <summary>Builds the server and starts listening; returns once requests are accepted.</summary>
    public static async Task<SiroccoWebServer> StartAsync(WebServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var urls = options.Urls ?? string.Create(
            CultureInfo.InvariantCulture,
            $"http://{options.Config.Get("webserver", "web_server_host", "127.0.0.1")}:{options.Config.Get("webserver", "web_server_port", "8080")}");
        if (!Uri.TryCreate(urls, UriKind.Absolute, out var requested) || requested.Scheme != "http")
        {
            throw new SiroccoException($"web server address '{urls}' is not valid: expected http://HOST:PORT (TLS is not served yet; put a TLS proxy in front)");
        }

        if (!IsLoopback(requested.Host))
        {
            options.Log?.Invoke($"warning: the web server listens on {urls} without TLS: passwords and session cookies cross the network in clear text. Bind to 127.0.0.1 or put a TLS proxy in front.");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(SiroccoWebServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodySize;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxRequestBodySize;
            f.ValueLengthLimit = (int)Math.Min(options.MaxRequestBodySize, int.MaxValue);
            f.ValueCountLimit = 256;
        });
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("sirocco-web");
        var keys = Path.Combine(options.Config.Home, "webserver_keys");
        if (Directory.Exists(options.Config.Home))
        {
            dataProtection.PersistKeysToFileSystem(Directory.CreateDirectory(keys));
        }

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(c =>
        {
            c.Cookie.Name = "sirocco_session";
            c.Cookie.HttpOnly = true;
            c.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            c.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            c.ExpireTimeSpan = TimeSpan.FromHours(12);
            c.SlidingExpiration = true;
            c.LoginPath = "/login";
        });
        builder.Services.AddAntiforgery(a =>
        {
            a.Cookie.Name = "sirocco_csrf";
            a.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            a.FormFieldName = "_csrf";
            a.HeaderName = "X-CSRF-Token";
        });
        builder.Services.AddRouting();

        // The host process owns Ctrl-C and SIGTERM: the server stops when its owner disposes it.
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();

        var app = builder.Build();
        var state = new WebState(options);
        var auth = new Authenticator(state);
        var ops = new Operations(state);
        app.UseSecurityHeaders();
        app.UseErrors(state);
        app.UseAuthentication();
        app.UseRouting();

        var api = new ApiRegistry();
        DagEndpoints.Register(api, state, ops);
        RunEndpoints.Register(api, state, ops);
        AdminEndpoints.Register(api, state, ops, auth);
        api.Map(app, auth);
        UiPages.Register(app, state, ops, auth);
        app.MapFallback((Microsoft.AspNetCore.Http.HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            ? Problem.Result(404, "Not Found", $"No API endpoint {ctx.Request.Method} {ctx.Request.Path}; see /api/v1/openapi.json")
            : UiPages.NotFound(ctx));

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Urls.FirstOrDefault() ?? urls;
        return new SiroccoWebServer(app, new Uri(bound.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>Completes when the server has stopped (after <see cref="DisposeAsync"/> or host shutdown).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops listening, lets running requests finish briefly, and releases the server.</summary>
    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>A lifetime that installs no signal handlers (ASP.NET's console lifetime would take the host's).</summary>
    private sealed class OwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
