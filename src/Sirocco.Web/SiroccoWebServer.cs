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
using OpenTelemetry.Metrics;
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
        var certificate = WebTls.LoadCertificate(options.Config);
        var urls = options.Urls ?? string.Create(
            CultureInfo.InvariantCulture,
            $"{(certificate is null ? "http" : "https")}://{options.Config.Get("webserver", "web_server_host", "127.0.0.1")}:{options.Config.Get("webserver", "web_server_port", "8080")}");
        if (!Uri.TryCreate(urls, UriKind.Absolute, out var requested) || requested.Scheme is not ("http" or "https"))
        {
            throw new SiroccoException($"web server address '{urls}' is not valid: expected http://HOST:PORT, or https://HOST:PORT with [webserver] web_server_ssl_cert and web_server_ssl_key");
        }

        if (requested.Scheme == "https" && certificate is null)
        {
            throw new SiroccoException($"web server address '{urls}' is https, but [webserver] web_server_ssl_cert and web_server_ssl_key are not set");
        }

        if (requested.Scheme == "http" && certificate is not null)
        {
            throw new SiroccoException($"web server address '{urls}' is http, but [webserver] web_server_ssl_cert is set: use https://");
        }

        if (certificate is null && !IsLoopback(requested.Host))
        {
            var warning = $"the web server listens on {urls} without TLS: passwords and session cookies cross the network in clear text. Bind to 127.0.0.1, set [webserver] web_server_ssl_cert and web_server_ssl_key, or put a TLS proxy in front.";
            options.Log?.Invoke("warning: " + warning);
            if (options.LoggerFactory is not null)
            {
                WebLog.Warning(options.LoggerFactory.CreateLogger(WebLog.Category), warning);
            }
        }

        // Content root in the program's folder, configuration files not watched (the default watches the current
        // directory recursively, and with it everything the scheduler and the pods write under a home inside it).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SiroccoWebServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton<ILoggerFactory>(new QuietFrameworkLoggerFactory(loggerFactory));
        }
        builder.WebHost.UseUrls(urls);
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodySize;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            if (certificate is not null)
            {
                k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate);
            }
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
        var state = new WebState(options);
        builder.Services.AddSingleton(state);
        WebRateLimits.Add(builder.Services, options.Config, state);

        // Prometheus at /metrics: every Sirocco meter of the process (the scheduler's Airflow-named metrics and the
        // Kubernetes code's when a scheduler runs here, the local cluster's in standalone) and the server's own.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter("Sirocco.*", "Microsoft.AspNetCore.Hosting")
            .AddPrometheusExporter());

        // The host process owns Ctrl-C and SIGTERM: the server stops when its owner disposes it.
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();

        var app = builder.Build();
        var auth = new Authenticator(state);
        var ops = new Operations(state);
        app.UseAccessLog(state);
        app.UseSecurityHeaders();
        app.UseErrors(state);
        app.UseAuthentication();
        app.UseRouting();
        app.UseRateLimiter();

        var api = new ApiRegistry();
        DagEndpoints.Register(api, state, ops);
        RunEndpoints.Register(api, state, ops);
        AdminEndpoints.Register(api, state, ops, auth);
        PoolEndpoints.Register(api, state);
        EventLogEndpoints.Register(api, state);
        DatasetEndpoints.Register(api, state);
        api.Map(app, auth, state.Audit);
        UiPages.Register(app, state, ops, auth);
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapFallback((Microsoft.AspNetCore.Http.HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            ? Problem.Result(404, "Not Found", $"No API endpoint {ctx.Request.Method} {ctx.Request.Path}; see /api/v1/openapi.json")
            : UiPages.NotFound(ctx));

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Urls.FirstOrDefault() ?? urls;
        return new SiroccoWebServer(app, new Uri(bound.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>The rate limiter policy of the sign-in endpoints (POST /login and POST /auth/token).</summary>
    internal const string AuthRateLimitPolicy = "auth";

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
