using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Web.Infrastructure;

namespace Sirocco.Web.Api;

/// <summary>Reading route values, query parameters and JSON bodies, with a 400 naming the bad input.</summary>
internal static class ApiInput
{
    public const int MaxLimit = 1000;

    public static string Route(HttpContext context, string name) =>
        context.Request.RouteValues[name] as string ?? throw ApiException.BadRequest($"missing path parameter {name}");

    public static (int Limit, int Offset) Page(HttpContext context, int defaultLimit = 100)
    {
        var limit = QueryInt(context, "limit") ?? defaultLimit;
        var offset = QueryInt(context, "offset") ?? 0;
        if (limit < 1 || limit > MaxLimit)
        {
            throw ApiException.BadRequest($"limit must be between 1 and {MaxLimit}, got {limit}");
        }

        if (offset < 0)
        {
            throw ApiException.BadRequest($"offset must be 0 or more, got {offset}");
        }

        return (limit, offset);
    }

    /// <summary>Parses <c>order_by</c> (a field name, <c>-</c> first for descending) among the allowed fields.</summary>
    public static (string Field, bool Descending) OrderBy(HttpContext context, string defaultField, params string[] allowed)
    {
        var text = context.Request.Query["order_by"].ToString();
        if (string.IsNullOrEmpty(text))
        {
            return defaultField.StartsWith('-') ? (defaultField[1..], true) : (defaultField, false);
        }

        var descending = text.StartsWith('-');
        var field = descending ? text[1..] : text;
        if (!allowed.Contains(field, StringComparer.Ordinal))
        {
            throw ApiException.BadRequest($"order_by '{text}' is not allowed; use one of: {string.Join(", ", allowed)} (prefix '-' for descending)");
        }

        return (field, descending);
    }

    public static IEnumerable<T> Sort<T>(IEnumerable<T> items, (string Field, bool Descending) order, Func<T, string, IComparable?> key)
    {
        var comparer = Comparer<IComparable?>.Create((a, b) => a is null ? (b is null ? 0 : -1) : b is null ? 1 : a.CompareTo(b));
        return order.Descending ? items.OrderByDescending(i => key(i, order.Field), comparer) : items.OrderBy(i => key(i, order.Field), comparer);
    }

    public static int? QueryInt(HttpContext context, string name)
    {
        var text = context.Request.Query[name].ToString();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw ApiException.BadRequest($"{name} must be an integer, got '{text}'");
    }

    public static bool? QueryBool(HttpContext context, string name)
    {
        var text = context.Request.Query[name].ToString();
        return text.ToUpperInvariant() switch
        {
            "" => null,
            "TRUE" or "1" => true,
            "FALSE" or "0" => false,
            _ => throw ApiException.BadRequest($"{name} must be true or false, got '{text}'"),
        };
    }

    public static IReadOnlyList<string> QueryList(HttpContext context, string name) =>
        [.. context.Request.Query[name].SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    /// <summary>
    /// How JSON from a client is read: a member given twice in one object is a parse error (a 400 naming it). Read
    /// leniently, the second one would throw an ArgumentException on the first access to the object, a 500.
    /// </summary>
    public static readonly JsonDocumentOptions ClientJson = new() { AllowDuplicateProperties = false };

    public static async Task<JsonObject> BodyAsync(HttpContext context)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(context.Request.Body, documentOptions: ClientJson, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            ReadAllText(node);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // Half a surrogate pair (a member name or a string of "\ud800") parses as JSON but is no text.
            throw ApiException.BadRequest($"the request body is not valid JSON text: {e.Message}");
        }

        return node as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }

    /// <summary>
    /// Reads every member name and string of a body once. A string escaping half a surrogate pair (<c>"\ud800"</c>)
    /// parses, but reading it as .NET text throws an InvalidOperationException: found here it is a 400, not a 500
    /// wherever it would be read first. (The check for repeated member names reads the names, and may throw it first.)
    /// </summary>
    private static void ReadAllText(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    ReadAllText(value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    ReadAllText(item);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                _ = v.GetValue<string>();
                break;
        }
    }

    public static string? Str(JsonObject body, string name, bool required = false)
    {
        var node = body[name];
        if (node is null)
        {
            return required ? throw ApiException.BadRequest($"'{name}' is required") : null;
        }

        return node is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : throw ApiException.BadRequest($"'{name}' must be a string, got {node.ToJsonString()}");
    }

    public static bool? Bool(JsonObject body, string name)
    {
        var node = body[name];
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw ApiException.BadRequest($"'{name}' must be true or false, got {node.ToJsonString()}"),
        };
    }

    public static int? Int(JsonObject body, string name)
    {
        var node = body[name];
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i) => i,
            _ => throw ApiException.BadRequest($"'{name}' must be an integer, got {node.ToJsonString()}"),
        };
    }

    public static IReadOnlyList<string>? StrList(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray a || a.Any(x => x is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
        {
            throw ApiException.BadRequest($"'{name}' must be a list of strings, got {node.ToJsonString()}");
        }

        return [.. a.Select(x => x!.GetValue<string>())];
    }

    public static DateTimeOffset? Date(JsonObject body, string name) => Str(body, name) is { } s ? ParseDate(name, s) : null;

    public static DateTimeOffset ParseDate(string name, string text)
    {
        try
        {
            return AirflowTime.Parse(text);
        }
        catch (SiroccoException e)
        {
            throw ApiException.BadRequest($"{name}: {e.Message}");
        }
    }

    /// <summary>The fields of an <c>update_mask</c> query (all when absent), each checked against the allowed ones.</summary>
    public static IReadOnlySet<string>? UpdateMask(HttpContext context, params string[] allowed)
    {
        var mask = QueryList(context, "update_mask");
        if (mask.Count == 0)
        {
            return null;
        }

        foreach (var m in mask)
        {
            if (!allowed.Contains(m, StringComparer.Ordinal))
            {
                throw ApiException.BadRequest($"update_mask field '{m}' cannot be updated; allowed: {string.Join(", ", allowed)}");
            }
        }

        return mask.ToHashSet(StringComparer.Ordinal);
    }
}
