using System.Text.Json.Nodes;

namespace Sirocco.Fuzz;

/// <summary>An operation of the REST API that takes a JSON body, as its OpenAPI document describes it.</summary>
/// <param name="Method">POST, PATCH or PUT.</param>
/// <param name="Path">The path template, e.g. <c>/api/v1/dags/{dag_id}</c>.</param>
/// <param name="Schema">The name of the body's schema.</param>
/// <param name="Properties">The body's properties: name and OpenAPI type.</param>
internal sealed record ApiOperation(string Method, string Path, string Schema, IReadOnlyList<(string Name, string Type)> Properties)
{
    /// <summary>The operations of an OpenAPI 3 document whose request body is JSON with a schema reference.</summary>
    public static IReadOnlyList<ApiOperation> FromOpenApi(JsonNode document)
    {
        var schemas = document["components"]?["schemas"]?.AsObject() ?? [];
        var operations = new List<ApiOperation>();
        foreach (var (path, item) in document["paths"]?.AsObject() ?? [])
        {
            foreach (var (method, operation) in item?.AsObject() ?? [])
            {
                var reference = operation?["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>();
                if (reference is null || method is not ("post" or "patch" or "put"))
                {
                    continue;
                }

                var name = reference[(reference.LastIndexOf('/') + 1)..];
                var properties = (schemas[name]?["properties"]?.AsObject() ?? [])
                    .Select(p => (p.Key, p.Value?["type"]?.GetValue<string>() ?? "object"))
                    .ToList();
                operations.Add(new ApiOperation(method.ToUpperInvariant(), path, name, properties));
            }
        }

        return operations;
    }
}

/// <summary>One generated HTTP request.</summary>
/// <param name="Method">The method.</param>
/// <param name="Path">The path and query.</param>
/// <param name="ContentType">The Content-Type header (none when null).</param>
/// <param name="Body">The body.</param>
internal sealed record ApiRequest(string Method, string Path, string? ContentType, string Body)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Path}\nContent-Type: {ContentType ?? "(none)"}\n\n{Body}";
}

/// <summary>
/// Requests to the REST API's JSON endpoints: a valid body of the operation's schema (or one built from the schema's
/// properties when no valid body is known here), mutated by a <see cref="JsonMutator"/>; path parameters that name
/// existing objects (sometimes odd ones); now and then an <c>update_mask</c>, another content type or an oversized body.
/// </summary>
internal sealed class ApiRequestGenerator
{
    /// <summary>Valid bodies by schema name, for the objects the target creates at start.</summary>
    public static readonly IReadOnlyDictionary<string, JsonNode> ValidBodies = new Dictionary<string, JsonNode>(StringComparer.Ordinal)
    {
        ["Connection"] = Parse("""{"connection_id":"fuzz_conn","conn_type":"http","description":"d","host":"example.com","login":"u","schema":"s","port":8080,"password":"p","extra":"{\"k\": \"v\"}"}"""),
        ["DAGPatch"] = Parse("""{"is_paused":true}"""),
        ["ClearTaskInstances"] = Parse("""{"dry_run":true,"task_ids":["extract"],"dag_run_id":"fuzz_run","start_date":"2020-01-01T00:00:00+00:00","end_date":"2030-01-01T00:00:00+00:00","only_failed":false,"include_downstream":true}"""),
        ["DAGRunTrigger"] = Parse("""{"dag_run_id":"manual_fuzz","logical_date":"2024-01-01T00:00:00+00:00","conf":{"a":1,"b":[true,null]},"note":"n"}"""),
        ["UpdateDagRunState"] = Parse("""{"state":"failed"}"""),
        ["ClearDagRun"] = Parse("""{"dry_run":true}"""),
        ["UpdateTaskInstance"] = Parse("""{"new_state":"success","dry_run":true}"""),
        ["ListDagRunsForm"] = Parse("""{"dag_ids":["fuzz_dag"],"states":["success","queued"],"page_offset":0,"page_limit":10,"order_by":"-logical_date"}"""),
        ["UserWrite"] = Parse("""{"username":"fuzz_new","password":"long-enough-password","role":"Viewer","roles":[{"name":"Viewer"}],"email":"a@example.com","active":true,"first_name":"F","last_name":"L"}"""),
        ["Variable"] = Parse("""{"key":"fuzz_var","value":"v","description":"d"}"""),
        ["Pool"] = Parse("""{"name":"fuzz_pool","slots":4,"description":"d","include_deferred":false}"""),
        ["TokenRequest"] = Parse("""{"username":"fuzz_user","password":"long-enough-password"}"""),
    };

    /// <summary>Path parameters by name: objects that exist once the target has started.</summary>
    public static readonly IReadOnlyDictionary<string, string> PathValues = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["dag_id"] = "fuzz_dag",
        ["dag_run_id"] = "fuzz_run",
        ["task_id"] = "extract",
        ["variable_key"] = "fuzz_var",
        ["connection_id"] = "fuzz_conn",
        ["username"] = "fuzz_user",
        ["pool_name"] = "default_pool",
        ["map_index"] = "0",
    };

    private static readonly string?[] ContentTypes =
    [
        "text/plain", null, "application/json; charset=utf-8", "application/x-www-form-urlencoded", "application/json; charset=utf-16",
        "application/problem+json", "multipart/form-data", "application/json;;;",
    ];

    private static readonly string[] StateWords = ["success", "failed", "queued", "running", "skipped", "up_for_retry", "Admin", "Op", "User", "Viewer", "Public"];

    private readonly IReadOnlyList<ApiOperation> _operations;
    private readonly JsonMutator _mutator;

    /// <summary>Creates the generator for the operations of the API.</summary>
    /// <param name="operations">The operations (from the server's OpenAPI document).</param>
    public ApiRequestGenerator(IReadOnlyList<ApiOperation> operations)
    {
        _operations = operations.Count > 0 ? operations : throw new ArgumentException("no operations", nameof(operations));
        var (names, values) = JsonMutator.Vocabulary(ValidBodies.Values);
        _mutator = new JsonMutator(
            [.. names.Concat(operations.SelectMany(o => o.Properties.Select(p => p.Name))).Distinct(StringComparer.Ordinal)],
            [.. values.Concat(StateWords.Select(w => (JsonNode?)JsonValue.Create(w)))]);
    }

    /// <summary>One request.</summary>
    /// <param name="random">The case's random source.</param>
    /// <returns>The request.</returns>
    public ApiRequest Generate(Random random)
    {
        var operation = TextMutator.Pick(random, _operations);
        var valid = ValidBodies.GetValueOrDefault(operation.Schema) ?? FromSchema(random, operation);
        var body = random.Next(20) switch
        {
            < 14 => _mutator.Mutate(random, valid),
            < 16 => valid.ToJsonString(),
            < 18 => _mutator.RandomValue(random)?.ToJsonString() ?? "null",
            18 => random.Next(2) == 0 ? string.Empty : "{\"a\":\"" + new string('x', 300 * 1024) + "\"}",
            _ => new TextMutator(new MutationProfile(["{", "}"], ["\""], [("[", "]")])).RandomText(random),
        };
        var path = Path(random, operation);
        var contentType = random.Next(12) == 0 ? TextMutator.Pick(random, ContentTypes) : "application/json";
        return new ApiRequest(operation.Method, path, contentType, body);
    }

    private string Path(Random random, ApiOperation operation)
    {
        var path = operation.Path;
        foreach (var (name, value) in PathValues)
        {
            var chosen = random.Next(10) == 0 ? Uri.EscapeDataString(TextMutator.Pick(random, JsonMutator.OddStrings)) : value;
            path = path.Replace("{" + name + "}", chosen.Length == 0 ? "%20" : chosen, StringComparison.Ordinal);
        }

        if (operation.Method == "PATCH" && random.Next(6) == 0)
        {
            var fields = Enumerable.Range(0, random.Next(1, 3)).Select(_ => TextMutator.Pick(random, operation.Properties.Select(p => p.Name).Append("nope").ToList()));
            path += "?update_mask=" + Uri.EscapeDataString(string.Join(',', fields));
        }

        return path;
    }

    /// <summary>A body with a plausible value for each property of the schema, by its type.</summary>
    private JsonNode FromSchema(Random random, ApiOperation operation)
    {
        var body = new JsonObject();
        foreach (var (name, type) in operation.Properties)
        {
            body[name] = type switch
            {
                "boolean" => random.Next(2) == 0,
                "integer" => random.Next(0, 100),
                "string" => TextMutator.Pick(random, StateWords),
                "array" => new JsonArray(),
                _ => _mutator.RandomValue(random),
            };
        }

        return body;
    }

    private static JsonNode Parse(string json) => JsonNode.Parse(json)!;
}
