using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Sirocco.Web.Infrastructure;

/// <summary>Security headers on every response, and errors that never show a stack trace.</summary>
internal static class Middleware
{
    private const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    public static void UseSecurityHeaders(this WebApplication app) => app.Use(async (context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            h["X-Content-Type-Options"] = "nosniff";
            h["X-Frame-Options"] = "DENY";
            h["Referrer-Policy"] = "same-origin";
            h["Content-Security-Policy"] = Csp;
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (context.Request.IsHttps)
            {
                h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains";
            }

            if (!h.ContainsKey("Cache-Control"))
            {
                h["Cache-Control"] = "no-store";
            }

            return Task.CompletedTask;
        });
        await next(context).ConfigureAwait(false);
    });

    public static void UseErrors(this WebApplication app, WebState state) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            await Problem.WriteAsync(context, e.Status, e.Title, state.Masker.Redact(e.Message)).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var status = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? 413 : 400;
            var detail = status == 413
                ? $"The request body is larger than the limit of {state.Options.MaxRequestBodySize} bytes"
                : "The request could not be read: " + e.Message;
            await Problem.WriteAsync(context, status, status == 413 ? "Request Entity Too Large" : "Bad Request", detail).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
#pragma warning disable CA1031 // the last line of defence: log it, answer 500 without details
        catch (Exception e)
#pragma warning restore CA1031
        {
            state.Options.Log?.Invoke($"web server: {context.Request.Method} {context.Request.Path}: {state.Masker.Redact(e.ToString())}");
            WebLog.RequestFailed(state.Log, context.Request.Method, context.Request.Path.ToString(), state.Masker.Redact(e.ToString()));
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await Problem.WriteAsync(context, 500, "Internal Server Error", "An unexpected error occurred; the server log has the details.").ConfigureAwait(false);
            }
        }
    });
}
