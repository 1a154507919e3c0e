using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Sirocco.Web.Infrastructure;

/// <summary>The web server's own log and its access log.</summary>
internal static partial class WebLog
{
    /// <summary>The server's category.</summary>
    public const string Category = "Sirocco.Web";

    /// <summary>The access log's category.</summary>
    public const string AccessCategory = "Sirocco.Web.Access";

    /// <summary>The key under which an API call's authenticated user is left in <c>HttpContext.Items</c> for the access log.</summary>
    public const string UserItem = "sirocco.user";

    [LoggerMessage(1, LogLevel.Warning, "{Message}")]
    public static partial void Warning(ILogger logger, string message);

    [LoggerMessage(2, LogLevel.Error, "{Method} {Path} failed: {Error}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, string error);

    /// <summary>
    /// One line per request, as a web server's access log: client address, user, method, path, status, time. The query
    /// string is left out: a client may put a token there, and the log must not hold secrets.
    /// </summary>
    [LoggerMessage(3, LogLevel.Information, "{Client} {User} \"{Method} {Path} {Protocol}\" {Status} {Milliseconds:0.0} ms")]
    public static partial void Request(ILogger logger, string client, string user, string method, string path, string protocol, int status, double milliseconds);

    /// <summary>Writes the access log; first in the pipeline, so it sees the final status of every request (500s included).</summary>
    public static void UseAccessLog(this WebApplication app, WebState state) => app.Use(async (context, next) =>
    {
        if (!state.AccessLog.IsEnabled(LogLevel.Information))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var started = state.Time.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var request = context.Request;
            Request(
                state.AccessLog,
                context.Connection.RemoteIpAddress?.ToString() ?? "-",
                context.Items[UserItem] as string ?? (context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name ?? "-" : "-"),
                request.Method,
                request.PathBase.Add(request.Path).ToString(),
                request.Protocol,
                context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode,
                state.Time.GetElapsedTime(started).TotalMilliseconds);
        }
    });
}

/// <summary>
/// The process's logger factory as the web server's framework sees it: ASP.NET Core's own categories only from
/// Warning up. Its Information lines repeat the access log and carry the query string, which may hold a token.
/// </summary>
internal sealed class QuietFrameworkLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) ? new WarningsOnly(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The process's factory belongs to its owner; this view does not dispose it.</summary>
    public void Dispose()
    {
    }

    private sealed class WarningsOnly(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
