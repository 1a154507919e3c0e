using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Sirocco.Testing;

/// <summary>The Cloud Storage JSON API of the fake: resumable and simple uploads, media downloads, object metadata.</summary>
public sealed partial class FakeGoogle
{
    private readonly ConcurrentDictionary<(string Bucket, string Name), byte[]> _objects = new();
    private readonly ConcurrentDictionary<string, (string Bucket, string Name, MemoryStream Data)> _uploads = new(StringComparer.Ordinal);

    /// <summary>The object's content, or null.</summary>
    public byte[]? GetObject(string bucket, string name) => _objects.GetValueOrDefault((bucket, name));

    /// <summary>The names of a bucket's objects.</summary>
    public IReadOnlyList<string> ListObjects(string bucket) => [.. _objects.Keys.Where(k => k.Bucket == bucket).Select(k => k.Name).Order(StringComparer.Ordinal)];

    /// <summary>When set, uploads answer 403 (a bucket the credentials may not write).</summary>
    public bool DenyUploads { get; set; }

    private void MapStorage(WebApplication app)
    {
        app.MapPost("/upload/storage/v1/b/{bucket}/o", async (HttpContext http, string bucket) =>
        {
            Count("storage-upload");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            if (DenyUploads)
            {
                return Error(403, "PERMISSION_DENIED", $"sirocco-tests does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).");
            }

            var type = http.Request.Query["uploadType"].ToString();
            var name = http.Request.Query["name"].ToString();
            if (type == "resumable")
            {
                if (http.Request.ContentLength is > 0)
                {
                    var meta = await JsonNode.ParseAsync(http.Request.Body);
                    name = meta?["name"]?.GetValue<string>() ?? name;
                }

                if (name.Length == 0)
                {
                    return Error(400, "INVALID_ARGUMENT", "Required object name");
                }

                var id = Guid.NewGuid().ToString("n");
                _uploads[id] = (bucket, name, new MemoryStream());
                http.Response.Headers.Location = new Uri(Url, $"upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={id}").ToString();
                return Results.Ok();
            }

            if (type == "media" && name.Length > 0)
            {
                using var data = new MemoryStream();
                await http.Request.Body.CopyToAsync(data);
                _objects[(bucket, name)] = data.ToArray();
                return Results.Json(ObjectJson(bucket, name));
            }

            return Error(400, "INVALID_ARGUMENT", $"uploadType {type} is not served by the fake");
        });

        app.MapPut("/upload/storage/v1/b/{bucket}/o", async (HttpContext http, string bucket) =>
        {
            Count("storage-upload-chunk");
            if (!_uploads.TryGetValue(http.Request.Query["upload_id"].ToString(), out var upload))
            {
                return Error(404, "NOT_FOUND", "No such upload session");
            }

            await http.Request.Body.CopyToAsync(upload.Data);

            // Content-Range: bytes A-B/TOTAL, bytes A-B/* (more to come) or bytes */TOTAL (empty or a status query).
            var range = http.Request.Headers.ContentRange.ToString();
            var total = range[(range.LastIndexOf('/') + 1)..];
            if (total == "*")
            {
                http.Response.Headers["Range"] = $"bytes=0-{upload.Data.Length - 1}";
                return Results.StatusCode(308);
            }

            _uploads.TryRemove(http.Request.Query["upload_id"].ToString(), out _);
            _objects[(upload.Bucket, upload.Name)] = upload.Data.ToArray();
            return Results.Json(ObjectJson(upload.Bucket, upload.Name));
        });

        app.MapGet("/storage/v1/b/{bucket}/o/{*name}", (HttpContext http, string bucket, string name) =>
        {
            Count("storage-get");
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }

            var objectName = Uri.UnescapeDataString(name);
            if (!_objects.TryGetValue((bucket, objectName), out var data))
            {
                return Error(404, "NOT_FOUND", $"No such object: {bucket}/{objectName}");
            }

            return http.Request.Query["alt"] == "media"
                ? Results.Bytes(data, "text/plain")
                : Results.Json(ObjectJson(bucket, objectName));
        });
    }

    private JsonObject ObjectJson(string bucket, string name) => new()
    {
        ["kind"] = "storage#object",
        ["id"] = $"{bucket}/{name}/1",
        ["name"] = name,
        ["bucket"] = bucket,
        ["generation"] = "1",
        ["contentType"] = "text/plain",
        ["size"] = (_objects.GetValueOrDefault((bucket, name))?.Length ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
