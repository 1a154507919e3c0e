using System.Text;

namespace Sirocco.Fuzz;

/// <summary>What a <see cref="TextMutator"/> knows of one input language.</summary>
/// <param name="Words">Tokens of the language worth inserting (keywords, names, literals from the seeds).</param>
/// <param name="Specials">Syntax pieces inserted alone, often unbalanced: brackets, quotes, operators, delimiters.</param>
/// <param name="Nesting">Open/close pairs repeated to build deep nesting (the close is sometimes left out).</param>
internal sealed record MutationProfile(
    IReadOnlyList<string> Words,
    IReadOnlyList<string> Specials,
    IReadOnlyList<(string Open, string Close)> Nesting);

/// <summary>
/// Edits a valid input into a slightly or badly broken one: deletes, duplicates, swaps and replaces tokens, inserts
/// unbalanced syntax, control and non-ASCII characters, huge numbers, deep nesting and very long lines, truncates, and
/// moves lines around. Every choice comes from the given <see cref="Random"/>, so a case is reproducible.
/// </summary>
internal sealed class TextMutator(MutationProfile profile)
{
    /// <summary>Characters that trouble decoders, case mapping and line counting.</summary>
    public static readonly string[] Unicode =
    [
        "é", "ß", "İ", "ﬁ", "中文", "🙂", "\u0301", "\u200B", "\u202E", "\uFEFF", "\0", "\uFFFF", "\uD800", "\uDFFF",
        "\u2028", "\u00A0", "\r", "\r\n", "\t", "\f", "\v", "\u0085", "\\u0000", "\\ud800", "\u1680", "Ω",
    ];

    /// <summary>Numbers at and past the limits of 32- and 64-bit integers and doubles, and very long ones.</summary>
    public static readonly string[] HugeNumbers =
    [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "4611686018427387904", "3074457345618258603", "1317624576693539402",
        "2147483647", "2147483648", "-2147483649", "4294967296", "1e308", "1e309", "-1e309", "1e-400", "0.1e99999",
        "1.7976931348623157e308", "5e-324", new string('9', 400), "0" + new string('0', 300) + "1", "123456789012345678901234567890",
    ];

    private const int MaxLength = 600_000;

    /// <summary>Applies 1 to <paramref name="maxEdits"/> random edits.</summary>
    /// <param name="random">The case's random source.</param>
    /// <param name="text">The text to edit.</param>
    /// <param name="maxEdits">The most edits.</param>
    /// <returns>The edited text.</returns>
    public string Mutate(Random random, string text, int maxEdits = 4)
    {
        var edits = 1 + random.Next(Math.Max(1, maxEdits));
        for (var i = 0; i < edits; i++)
        {
            text = MutateOnce(random, text);
            if (text.Length > MaxLength)
            {
                text = text[..MaxLength];
            }
        }

        return text;
    }

    /// <summary>Random text of the language: words and specials mixed with random characters.</summary>
    /// <param name="random">The case's random source.</param>
    /// <returns>The text (possibly empty).</returns>
    public string RandomText(Random random)
    {
        var length = random.Next(4) == 0 ? 0 : random.Next(1, 80);
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            text.Append(random.Next(6) switch
            {
                0 => Pick(random, profile.Words),
                1 => Pick(random, profile.Specials),
                2 => Pick(random, Unicode),
                3 => random.Next(3) == 0 ? "\n" : " ",
                4 => Pick(random, HugeNumbers),
                _ => ((char)random.Next(32, 127)).ToString(),
            });
        }

        return text.ToString();
    }

    /// <summary>A random element of a list.</summary>
    public static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary><paramref name="depth"/> opens, an inner text, and (usually) as many closes.</summary>
    public static string Nest(string open, string inner, string close, int depth, bool balanced)
    {
        var text = new StringBuilder((open.Length + close.Length) * depth + inner.Length);
        text.Insert(0, open, depth).Append(inner);
        if (balanced)
        {
            text.Insert(text.Length, close, depth);
        }

        return text.ToString();
    }

    /// <summary>A deep nesting depth: mostly past a parser's guard (about 100), sometimes far past it.</summary>
    public static int DeepDepth(Random random) => random.Next(3) switch
    {
        0 => random.Next(2, 100),
        1 => random.Next(100, 300),
        _ => random.Next(1_000, 20_000),
    };

    private string MutateOnce(Random random, string text)
    {
        if (text.Length == 0)
        {
            return RandomText(random);
        }

        var at = random.Next(text.Length + 1);
        switch (random.Next(20))
        {
            case 0:
            case 1:
                return text.Remove(Math.Min(at, text.Length - 1), Math.Min(text.Length - Math.Min(at, text.Length - 1), 1 + random.Next(12)));
            case 2:
            case 3:
                return TokenEdit(random, text);
            case 4:
            case 5:
                return text.Insert(at, Pick(random, profile.Words));
            case 6:
            case 7:
                return text.Insert(at, Pick(random, profile.Specials));
            case 8:
                return text.Insert(at, ((char)random.Next(0, 128)).ToString());
            case 9:
                return text.Insert(at, Pick(random, Unicode));
            case 10:
            case 11:
                return ReplaceNumber(random, text, at);
            case 12:
                var (open, close) = Pick(random, profile.Nesting);
                return text.Insert(at, Nest(open, Pick(random, profile.Words), close, DeepDepth(random), balanced: random.Next(4) != 0));
            case 13:
                var run = random.Next(3) == 0 ? Pick(random, profile.Words) : ((char)random.Next(33, 127)).ToString();
                return text.Insert(at, string.Concat(Enumerable.Repeat(run, random.Next(1_000, 60_000) / Math.Max(1, run.Length))));
            case 14:
                return text[..at];
            case 15:
                return random.Next(8) == 0 ? string.Empty : text[Math.Min(at, text.Length)..];
            default:
                return LineEdit(random, text);
        }
    }

    private string TokenEdit(Random random, string text)
    {
        var tokens = Tokens(text);
        if (tokens.Count == 0)
        {
            return text;
        }

        var a = Pick(random, tokens);
        var b = Pick(random, tokens);
        switch (random.Next(4))
        {
            case 0: // duplicate a token in place
                return text.Insert(a.Start, text.Substring(a.Start, a.Length));
            case 1: // replace a token by a word of the language
                return string.Concat(text.AsSpan(0, a.Start), Pick(random, profile.Words), text.AsSpan(a.Start + a.Length));
            case 2: // drop a token
                return text.Remove(a.Start, a.Length);
            default: // swap two tokens
                if (a.Start > b.Start)
                {
                    (a, b) = (b, a);
                }

                if (a.Start + a.Length > b.Start)
                {
                    return text;
                }

                return new StringBuilder(text.Length)
                    .Append(text, 0, a.Start).Append(text, b.Start, b.Length).Append(text, a.Start + a.Length, b.Start - a.Start - a.Length)
                    .Append(text, a.Start, a.Length).Append(text, b.Start + b.Length, text.Length - b.Start - b.Length).ToString();
        }
    }

    private static string ReplaceNumber(Random random, string text, int at)
    {
        // The first run of digits at or after the position becomes a huge number; without one, a huge number is inserted.
        var start = -1;
        for (var i = Math.Min(at, text.Length - 1); i < text.Length; i++)
        {
            if (char.IsAsciiDigit(text[i]))
            {
                start = i;
                break;
            }
        }

        if (start < 0)
        {
            return text.Insert(at, Pick(random, HugeNumbers));
        }

        var end = start;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.'))
        {
            end++;
        }

        return string.Concat(text.AsSpan(0, start), Pick(random, HugeNumbers), text.AsSpan(end));
    }

    /// <summary>Moves whole lines: a block of 1 to 5 lines copied, dropped or moved elsewhere, or one line re-indented.</summary>
    private static string LineEdit(Random random, string text)
    {
        var lines = new List<string>(text.Split('\n'));
        var from = random.Next(lines.Count);
        var block = lines.GetRange(from, Math.Min(1 + random.Next(5), lines.Count - from));
        var kind = random.Next(4);
        if (kind is 1 or 2)
        {
            lines.RemoveRange(from, block.Count);
        }

        if (kind is 0 or 2)
        {
            lines.InsertRange(random.Next(lines.Count + 1), block);
        }
        else if (kind == 3)
        {
            var indent = random.Next(3) switch { 0 => "\t", 1 => " ", _ => "    " };
            lines[from] = random.Next(3) == 0 ? lines[from].TrimStart() : indent + lines[from];
        }

        return string.Join('\n', lines);
    }

    private static List<(int Start, int Length)> Tokens(string text)
    {
        var tokens = new List<(int, int)>();
        var i = 0;
        while (i < text.Length && tokens.Count < 5_000)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }

            var start = i;
            if (char.IsLetterOrDigit(text[i]) || text[i] == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }
            }
            else
            {
                i++;
            }

            tokens.Add((start, i - start));
        }

        return tokens;
    }
}
