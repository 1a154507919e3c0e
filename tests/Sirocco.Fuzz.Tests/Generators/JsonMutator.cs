using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sirocco.Fuzz;

/// <summary>
/// Edits a valid JSON document: structurally (drops, duplicates, renames and adds members, changes a value's type,
/// puts huge numbers, odd strings and deep nesting in), then sometimes as text (broken syntax, duplicate keys, bad
/// escapes, truncation). Property names and values worth trying come from the caller (the seeds' own, mostly).
/// </summary>
internal sealed class JsonMutator
{
    /// <summary>Strings that trouble parsers, paths, SQL, templates, HTML and case mapping.</summary>
    public static readonly string[] OddStrings =
    [
        "", " ", "a", "A-Z_", "..", "../../etc/passwd", "%00", "\0", "'; DROP TABLE dag; --", "{{ 7 * 7 }}", "<script>x</script>",
        "ü", "İ", "🙂", "\uFFFF", "\uD800", "\u202E", "null", "true", "0", "-1", "1e999", "NaN", "2024-02-30T25:61:00Z", "0000-00-00",
        "9999-12-31T23:59:59.9999999+14:00", "2024-01-01", "yesterday", "@daily", "a b", "a/b", "a.b", "a:b", "-", "_", "x\ny",
        "UPPER", new string('x', 300), new string('é', 5_000),

        // JSON inside a string (a connection's extra): a key twice, half a surrogate pair.
        "{\"k\": 1, \"k\": 2}", "{\"k\": {\"a\": 1, \"a\": [1]}}", "{\"k\": \"\\ud800\"}", "{\"\\udc00\": 1}",
    ];

    private static readonly string[] TextSpecials =
    [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\ud800", "\\x00", "/*", "//", "NaN", "Infinity", "-", "+", "1e999",
        "tru", "nul", "\u00A0", "\uFEFF", "'", "\n", "0x10", ".5", "01",
    ];

    private static readonly (string Open, string Close)[] TextNesting = [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")];

    private static readonly Regex JsonNumber = new(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant);

    /// <summary>Writes nesting deeper than the default limit of 64 (the generator nests up to 3 × 300 levels).</summary>
    private static readonly JsonSerializerOptions Deep = new() { MaxDepth = 1_000 };

    private readonly IReadOnlyList<string> _names;
    private readonly IReadOnlyList<JsonNode?> _values;
    private readonly TextMutator _text;

    /// <summary>Creates a mutator.</summary>
    /// <param name="names">Property names worth adding or renaming to.</param>
    /// <param name="values">Values worth putting in (valid values of other fields, enum members...).</param>
    public JsonMutator(IReadOnlyList<string> names, IReadOnlyList<JsonNode?> values)
    {
        _names = names;
        _values = values;
        _text = new TextMutator(new MutationProfile([.. names.Select(n => "\"" + n + "\"")], TextSpecials, TextNesting));
    }

    /// <summary>The property names and scalar values of some JSON documents (a vocabulary for the constructor).</summary>
    public static (IReadOnlyList<string> Names, IReadOnlyList<JsonNode?> Values) Vocabulary(IEnumerable<JsonNode> documents)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var node in documents.SelectMany(Descendants))
        {
            switch (node)
            {
                case JsonObject o:
                    names.UnionWith(o.Select(p => p.Key));
                    break;
                case JsonValue v:
                    values.TryAdd(v.ToJsonString(), v.DeepClone());
                    break;
            }
        }

        return ([.. names], [.. values.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value)]);
    }

    /// <summary>A mutated copy of <paramref name="document"/>, as JSON text.</summary>
    /// <param name="random">The case's random source.</param>
    /// <param name="document">A valid document (not changed).</param>
    /// <returns>The text of the mutant.</returns>
    public string Mutate(Random random, JsonNode document)
    {
        var copy = document.DeepClone();
        for (var i = random.Next(1, 4); i > 0; i--)
        {
            copy = MutateTree(random, copy);
        }

        var text = copy?.ToJsonString(Deep) ?? "null";
        return random.Next(5) switch
        {
            0 => _text.Mutate(random, text, 2),
            1 when text.StartsWith('{') => DuplicateKey(random, text),
            _ => text,
        };
    }

    /// <summary>A random JSON value: scalars of every type, odd strings, huge numbers, deep or empty containers.</summary>
    public JsonNode? RandomValue(Random random)
    {
        return random.Next(12) switch
        {
            0 => null,
            1 => JsonValue.Create(random.Next(2) == 0),
            2 => JsonValue.Create(random.Next(-3, 100_000)),
            3 => JsonNode.Parse(TextMutator.Pick(random, TextMutator.HugeNumbers) is var n && IsJsonNumber(n) ? n : "1e308"),
            4 => JsonValue.Create(TextMutator.Pick(random, OddStrings)),
            5 => new JsonArray(),
            6 => new JsonObject(),
            7 => Nested(random, TextMutator.DeepDepth(random) % 300),
            8 => new JsonArray(RandomValue(random), RandomValue(random)),
            9 => JsonValue.Create(new string((char)random.Next(32, 127), random.Next(1_000, 100_000))),
            _ => _values.Count > 0 ? TextMutator.Pick(random, _values)?.DeepClone() : null,
        };
    }

    private JsonNode? MutateTree(Random random, JsonNode? root)
    {
        var nodes = Descendants(root).ToList();
        if (nodes.Count == 0 || random.Next(20) == 0)
        {
            return RandomValue(random);
        }

        var node = TextMutator.Pick(random, nodes);
        switch (node)
        {
            case JsonObject o when o.Count > 0 && random.Next(3) == 0:
                var key = o.ElementAt(random.Next(o.Count)).Key;
                if (random.Next(2) == 0)
                {
                    o.Remove(key); // drop a member
                }
                else
                {
                    var value = o[key]?.DeepClone();
                    o.Remove(key);
                    o[TextMutator.Pick(random, _names)] = value; // rename it (or overwrite another)
                }

                return root;
            case JsonObject o:
                o[random.Next(4) == 0 ? TextMutator.Pick(random, OddStrings) : TextMutator.Pick(random, _names)] = RandomValue(random);
                return root;
            case JsonArray a when a.Count > 0 && random.Next(2) == 0:
                var at = random.Next(a.Count);
                if (random.Next(2) == 0)
                {
                    a.RemoveAt(at);
                }
                else
                {
                    a.Insert(at, a[at]?.DeepClone());
                }

                return root;
            case JsonArray a:
                a.Add(RandomValue(random));
                return root;
            default:
                return Replace(root, node, RandomValue(random));
        }
    }

    /// <summary>Puts <paramref name="replacement"/> where <paramref name="node"/> stands.</summary>
    private static JsonNode? Replace(JsonNode? root, JsonNode node, JsonNode? replacement)
    {
        switch (node.Parent)
        {
            case JsonObject parent:
                parent[node.GetPropertyName()] = replacement;
                return root;
            case JsonArray parent:
                var index = node.GetElementIndex();
                parent.RemoveAt(index);
                parent.Insert(index, replacement);
                return root;
            default:
                return replacement;
        }
    }

    private static JsonNode Nested(Random random, int depth)
    {
        JsonNode node = JsonValue.Create(1);
        for (var i = 0; i < depth; i++)
        {
            node = random.Next(2) == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }

        return node;
    }

    private static string DuplicateKey(Random random, string text)
    {
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 1_000 });
        var first = document.RootElement.EnumerateObject().FirstOrDefault();
        if (first.Value.ValueKind == JsonValueKind.Undefined)
        {
            return text;
        }

        var copy = new StringBuilder().Append('"').Append(JsonEncodedText.Encode(first.Name)).Append("\":")
            .Append(random.Next(2) == 0 ? first.Value.GetRawText() : "null").Append(',');
        return text.Insert(1, copy.ToString());
    }

    private static bool IsJsonNumber(string text) => JsonNumber.IsMatch(text);

    private static IEnumerable<JsonNode> Descendants(JsonNode? node)
    {
        if (node is null)
        {
            yield break;
        }

        var stack = new Stack<JsonNode>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            yield return current;
            var children = current switch
            {
                JsonObject o => o.Select(p => p.Value),
                JsonArray a => a.AsEnumerable(),
                _ => [],
            };
            foreach (var child in children.OfType<JsonNode>())
            {
                stack.Push(child);
            }
        }
    }
}
