using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Sirocco.Web.Infrastructure;

/// <summary>An error answered as problem JSON: status, title, detail.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int status, string title, string detail)
        : base(detail)
    {
        Status = status;
        Title = title;
    }

    public int Status { get; }

    public string Title { get; }

    public static ApiException BadRequest(string detail) => new(400, "Bad Request", detail);

    public static ApiException NotFound(string title, string detail) => new(404, title, detail);

    public static ApiException Conflict(string detail) => new(409, "Conflict", detail);
}

/// <summary>Writes problem JSON (RFC 7807) in the shape of Airflow's API errors.</summary>
internal static class Problem
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string TypeFor(int status) => "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/" + status switch
    {
        400 => "BadRequest",
        401 => "Unauthenticated",
        403 => "PermissionDenied",
        404 => "NotFound",
        409 => "AlreadyExists",
        413 => "RequestTooLarge",
        _ => "Unknown",
    };

    public static IResult Result(int status, string title, string detail) =>
        Results.Json(new ProblemBody(TypeFor(status), title, status, detail), Options, "application/problem+json", status);

    public static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new ProblemBody(TypeFor(status), title, status, detail), Options, context.RequestAborted);
    }

    private sealed record ProblemBody(string Type, string Title, int Status, string Detail);
}
