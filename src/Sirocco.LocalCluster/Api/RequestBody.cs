using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>A request's body, read and decoded as the real API server does it (formats, strictness, warnings).</summary>
internal static class RequestBody
{
    /// <summary>
    /// The request's object as <paramref name="resource"/> stores it: JSON (last duplicate wins; an error under
    /// <c>fieldValidation=Strict</c>), YAML or protobuf; its kind and version checked in the real server's words;
    /// unknown fields dropped with a warning or refused; quantities and a secret's <c>stringData</c> rewritten.
    /// </summary>
    public static async Task<JsonObject> DecodeAsync(HttpContext ctx, ResourceInfo resource)
    {
        var contentType = (ctx.Request.ContentType ?? "application/json").Split(';')[0].Trim();
        JsonObject input;
        if (contentType == Protobuf.MediaType)
        {
            input = Protobuf.Decode(await ReadBytesAsync(ctx).ConfigureAwait(false));
        }
        else if (contentType == "application/yaml")
        {
            input = YamlBody.Parse(await ReadTextAsync(ctx).ConfigureAwait(false)) as JsonObject
                ?? throw ApiException.BadRequest($"the object provided is unrecognized (must be of type {resource.Kind})");
        }
        else if (contentType is not ("application/json" or "" or "*/*"))
        {
            throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
        }
        else
        {
            var text = await ReadTextAsync(ctx).ConfigureAwait(false);
            try
            {
                input = JsonText.ParseLastWins(text) as JsonObject
                    ?? throw ApiException.BadRequest($"the object provided is unrecognized (must be of type {resource.Kind}): couldn't get version/kind; json parse error: json: cannot unmarshal a non-object into the object's kind and version");
                if (FieldValidation(ctx) == "Strict" && JsonText.FirstDuplicate(text) is { } duplicate)
                {
                    throw ApiException.BadRequest($"strict decoding error: json: duplicate field \"{duplicate}\"");
                }
            }
            catch (JsonException e)
            {
                throw ApiException.BadRequest($"the object provided is unrecognized (must be of type {resource.Kind}): couldn't get version/kind; json parse error: {e.Message}");
            }
        }

        // The real server's words (its decoder's own detail after the colon is not repeated exactly).
        var givenKind = Meta.Str(input["kind"]) is { Length: > 0 } k ? k : resource.Kind;
        if (Meta.Str(input["apiVersion"]) is { Length: > 0 } version && version != resource.ApiVersion)
        {
            throw ApiException.BadRequest($"{givenKind} in version \"{version}\" cannot be handled as a {resource.Kind}: no kind \"{givenKind}\" is registered for version \"{version}\"");
        }

        if (givenKind != resource.Kind)
        {
            var internalGroup = resource.Group.Length == 0 ? "core" : resource.Group;
            throw ApiException.BadRequest(ResourceInfo.All.Any(r => r.Kind == givenKind && r.Group == resource.Group)
                ? $"{givenKind} in version \"v1\" cannot be handled as a {resource.Kind}: converting (v1.{givenKind}) to ({internalGroup}.{resource.Kind}): unknown conversion"
                : $"{givenKind} in version \"v1\" cannot be handled as a {resource.Kind}: no kind \"{givenKind}\" is registered for version \"{resource.ApiVersion}\"");
        }

        var (obj, unknown) = resource.Decode(input);
        RewriteQuantities(resource, input, obj);
        var warnings = new List<string>();
        HandleUnknown(FieldValidation(ctx), unknown, warnings);
        AddWarnings(ctx, warnings);
        obj["kind"] = resource.Kind;
        obj["apiVersion"] = resource.ApiVersion;
        MergeStringData(resource, obj);

        return obj;
    }

    /// <summary>A pod's quantities as the real server stores them; one that is not a quantity fails the decoding.</summary>
    public static void RewriteQuantities(ResourceInfo resource, JsonObject input, JsonObject decoded)
    {
        if (resource.Name == "pods" && GoQuantity.RewritePod(input, decoded) is { } bad)
        {
            throw ApiException.BadRequest($"Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"{bad}\"");
        }
    }

    /// <summary>A secret's <c>stringData</c> is written into <c>data</c> and never stored.</summary>
    public static void MergeStringData(ResourceInfo resource, JsonObject obj)
    {
        if (resource.Name == "secrets" && obj["stringData"] is JsonObject stringData)
        {
            var data = Meta.Child(obj, "data");
            foreach (var (k, v) in stringData)
            {
                data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Meta.Str(v) ?? ""));
            }
        }

        obj.Remove("stringData");
    }

    /// <summary>The request's <c>fieldValidation</c>: Strict, Warn (the default) or Ignore.</summary>
    public static string FieldValidation(HttpContext ctx)
    {
        var value = QueryParams.Text(ctx.Request.Query, "fieldValidation") ?? "Warn";
        return value is "Strict" or "Warn" or "Ignore"
            ? value
            : throw ApiException.BadRequest($"fieldValidation parameter unsupported: {value}");
    }

    /// <summary>Unknown fields under <paramref name="mode"/>: refused (Strict), warned about (Warn) or ignored.</summary>
    public static void HandleUnknown(string mode, List<string> unknown, List<string> warnings)
    {
        if (unknown.Count == 0 || mode == "Ignore")
        {
            return;
        }

        if (mode == "Strict")
        {
            throw ApiException.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(u => $"unknown field \"{u}\"")));
        }

        warnings.AddRange(unknown.Select(u => $"unknown field \"{u}\""));
    }

    /// <summary>Adds each warning as a <c>Warning: 299</c> response header.</summary>
    public static void AddWarnings(HttpContext ctx, List<string> warnings)
    {
        foreach (var w in warnings)
        {
            ctx.Response.Headers.Append("Warning", $"299 - \"{HeaderText(w.Replace("\"", "\\\"", StringComparison.Ordinal))}\"");
        }
    }

    /// <summary>
    /// A warning's text as a header value: Kestrel refuses control and non-ASCII characters in headers (the response
    /// would fail with a 500), so those are written as <c>\uXXXX</c>. A warning names an unknown field, which may be any text.
    /// </summary>
    private static string HeaderText(string text)
    {
        if (!text.Any(c => c is < ' ' or > '~'))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    /// <summary>The whole request body.</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpContext ctx)
    {
        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>The whole request body as UTF-8 text.</summary>
    public static async Task<string> ReadTextAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
    }
}
