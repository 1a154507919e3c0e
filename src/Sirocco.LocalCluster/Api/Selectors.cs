using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>A parsed label selector (equality and set-based) or field selector.</summary>
internal sealed class Selector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _terms = [];

    private Selector()
    {
    }

    public static Selector Everything { get; } = new();

    public bool IsEmpty => _terms.Count == 0;

    public bool Matches(IReadOnlyDictionary<string, string> values) => _terms.TrueForAll(t => t(values));

    /// <summary>Parses a label selector such as <c>a=b,c!=d,e in (x,y),f notin (z),g,!h</c>.</summary>
    public static Selector ParseLabels(string? text)
    {
        var selector = new Selector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        var first = true;
        foreach (var raw in SplitTopLevel(text))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                // The real parser's words: a requirement is missing before or after a comma.
                throw ApiException.BadRequest(first ? "found ',', expected: !, identifier, or 'end of string'" : "found '', expected: identifier after ','");
            }

            first = false;
            if (LeadingOperator(term) is { } op)
            {
                throw ApiException.BadRequest($"found '{op}', expected: !, identifier, or 'end of string'");
            }

            var lower = term;
            int at;
            if ((at = IndexOfWord(lower, " notin ")) > 0)
            {
                var key = CheckKey(term[..at].Trim());
                var set = ParseSet(term[(at + 7)..]);
                selector._terms.Add(v => !v.TryGetValue(key, out var x) || !set.Contains(x));
            }
            else if ((at = IndexOfWord(lower, " in ")) > 0)
            {
                var key = CheckKey(term[..at].Trim());
                var set = ParseSet(term[(at + 4)..]);
                selector._terms.Add(v => v.TryGetValue(key, out var x) && set.Contains(x));
            }
            else if (term.StartsWith('!'))
            {
                var key = CheckKey(term[1..].Trim());
                selector._terms.Add(v => !v.ContainsKey(key));
            }
            else if ((at = term.IndexOf("!=", StringComparison.Ordinal)) > 0)
            {
                var key = CheckKey(term[..at].Trim());
                var value = SingleValue(term[(at + 2)..].Trim());
                selector._terms.Add(v => !v.TryGetValue(key, out var x) || x != value);
            }
            else if ((at = term.IndexOf('=', StringComparison.Ordinal)) > 0)
            {
                var key = CheckKey(term[..at].Trim());
                var value = SingleValue(term[(at + (term.AsSpan(at).StartsWith("==") ? 2 : 1))..].Trim());
                CheckValue(value);
                selector._terms.Add(v => v.TryGetValue(key, out var x) && x == value);
            }
            else
            {
                var key = CheckKey(term);
                selector._terms.Add(v => v.ContainsKey(key));
            }
        }

        return selector;
    }

    /// <summary>Parses a field selector (<c>a=b</c>, <c>a==b</c>, <c>a!=b</c>) for a resource.</summary>
    public static Selector ParseFields(string? text, string resource)
    {
        var selector = new Selector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in text.Split(','))
        {
            var term = raw.Trim();
            var negate = false;
            int at;
            string key, value;
            if ((at = term.IndexOf("!=", StringComparison.Ordinal)) > 0)
            {
                negate = true;
                key = term[..at];
                value = term[(at + 2)..];
            }
            else if ((at = term.IndexOf("==", StringComparison.Ordinal)) > 0)
            {
                key = term[..at];
                value = term[(at + 2)..];
            }
            else if ((at = term.IndexOf('=', StringComparison.Ordinal)) > 0)
            {
                key = term[..at];
                value = term[(at + 1)..];
            }
            else
            {
                throw ApiException.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
            }

            key = key.Trim();
            value = value.Trim();
            if (!FieldIndex.Supports(resource, key))
            {
                // Kinds with only the generic metadata fields answer in the generic words.
                throw ApiException.BadRequest(resource is "configmaps" or "serviceaccounts"
                    ? $"\"{key}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                    : $"field label not supported: {key}");
            }

            selector._terms.Add(negate
                ? v => !v.TryGetValue(key, out var x) || x != value
                : v => v.TryGetValue(key, out var x) && x == value);
        }

        return selector;
    }

    /// <summary>An operator where a requirement must start with a key, as the real lexer reads it.</summary>
    private static string? LeadingOperator(string term) =>
        term.StartsWith("==", StringComparison.Ordinal) ? "==" : term[0] is '=' or '(' or ')' ? term[..1] : null;

    /// <summary>A value is one word: a second one is where the real parser expected a comma.</summary>
    private static string SingleValue(string value)
    {
        var words = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 1 ? throw ApiException.BadRequest($"found '{words[1]}', expected: ',' or 'end of string'") : value;
    }

    private static int IndexOfWord(string term, string word) => term.IndexOf(word, StringComparison.Ordinal);

    private static string CheckKey(string key)
    {
        if (Validation.LabelKeyErrors(key).Count > 0)
        {
            throw ApiException.BadRequest($"unable to parse requirement: invalid label key \"{key}\": {string.Join("; ", Validation.LabelKeyErrors(key))}");
        }

        return key;
    }

    private static void CheckValue(string value)
    {
        if (Validation.LabelValueErrors(value).Count > 0)
        {
            throw ApiException.BadRequest($"unable to parse requirement: invalid label value: \"{value}\": {string.Join("; ", Validation.LabelValueErrors(value))}");
        }
    }

    private static HashSet<string> ParseSet(string text)
    {
        text = text.Trim();
        if (!text.StartsWith('(') || !text.EndsWith(')'))
        {
            throw ApiException.BadRequest($"unable to parse requirement: found '{text.Split(' ', 2)[0]}' expected: '('");
        }

        return [.. text[1..^1].Split(',').Select(s => s.Trim()).Where(s => s.Length > 0)];
    }

    private static List<string> SplitTopLevel(string text)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    parts.Add(text[start..i]);
                    start = i + 1;
                    break;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }
}
