using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Sirocco.Web.Tests;

/// <summary>The web server's own log: an access line per request, warnings through the process's logger.</summary>
public sealed class AccessLogTests(WebFixture fixture) : IClassFixture<WebFixture>
{
    [Fact]
    public async Task Every_request_has_an_access_line_with_user_and_status_and_no_query_string()
    {
        var lines = new ConcurrentQueue<(string Category, LogLevel Level, string Message)>();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new Capture(lines)));
        await using (var server = await SiroccoWebServer.StartAsync(new WebServerOptions { Config = fixture.Config, Store = fixture.Store, Urls = "http://127.0.0.1:0", LoggerFactory = loggers }))
        {
            using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };
            using (var anonymous = await client.GetAsync("/api/v1/dags?token=query-s3cret"))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + WebFixture.Password)));
            using (var listed = await client.GetAsync("/api/v1/dags"))
            {
                Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            }

            using var missing = await client.GetAsync("/api/v1/dags/no_such_dag");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var access = lines.Where(l => l.Category == "Sirocco.Web.Access").Select(l => l.Message).ToList();
        Assert.Contains(access, l => l.StartsWith("127.0.0.1 - \"GET /api/v1/dags HTTP/1.1\" 401 ", StringComparison.Ordinal));
        Assert.Contains(access, l => l.StartsWith("127.0.0.1 admin \"GET /api/v1/dags HTTP/1.1\" 200 ", StringComparison.Ordinal));
        Assert.Contains(access, l => l.StartsWith("127.0.0.1 admin \"GET /api/v1/dags/no_such_dag HTTP/1.1\" 404 ", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain("query-s3cret", l.Message, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain(WebFixture.Password, l.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_warning_of_the_server_reaches_the_process_log()
    {
        var lines = new ConcurrentQueue<(string Category, LogLevel Level, string Message)>();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new Capture(lines)));
        await using (await SiroccoWebServer.StartAsync(new WebServerOptions { Config = fixture.Config, Store = fixture.Store, Urls = "http://0.0.0.0:0", LoggerFactory = loggers }))
        {
        }

        Assert.Contains(lines, l => l is { Category: "Sirocco.Web", Level: LogLevel.Warning } && l.Message.Contains("without TLS", StringComparison.Ordinal));
    }

    /// <summary>Keeps every line written, formatted as a console logger would show it.</summary>
    private sealed class Capture(ConcurrentQueue<(string, LogLevel, string)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
