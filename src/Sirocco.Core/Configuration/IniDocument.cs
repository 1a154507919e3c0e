using System.Text;

namespace Sirocco.Configuration;

/// <summary>
/// A small INI document in the dialect of Python's configparser as Airflow uses it: <c>[section]</c> headers,
/// <c>key = value</c> or <c>key: value</c> lines, <c>#</c>/<c>;</c> comment lines, keys compared without case.
/// Edits keep every other line (comments included) as it was.
/// </summary>
internal sealed class IniDocument
{
    private readonly List<string> _lines;

    private IniDocument(List<string> lines) => _lines = lines;

    public static IniDocument Parse(string text) =>
        new([.. text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')]);

    public static IniDocument Load(string path) => File.Exists(path) ? Parse(File.ReadAllText(path)) : new([]);

    /// <summary>Every (section, key, value, line number) in file order; a key before any section throws.</summary>
    public IEnumerable<(string Section, string Key, string Value, int Line)> Entries(string fileName)
    {
        string? section = null;
        for (var i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i].Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                if (!line.EndsWith(']'))
                {
                    throw new SiroccoException($"{fileName}:{i + 1}: malformed section header '{line}'");
                }

                section = line[1..^1].Trim().ToLowerInvariant();
                continue;
            }

            var sep = line.IndexOfAny(['=', ':']);
            if (sep <= 0)
            {
                throw new SiroccoException($"{fileName}:{i + 1}: expected 'key = value', got '{line}'");
            }

            if (section is null)
            {
                throw new SiroccoException($"{fileName}:{i + 1}: option '{line[..sep].Trim()}' appears before any [section]");
            }

            yield return (section, line[..sep].Trim().ToLowerInvariant(), line[(sep + 1)..].Trim(), i + 1);
        }
    }

    /// <summary>Sets <paramref name="key"/> in <paramref name="section"/>, replacing an existing line or adding one.</summary>
    public void Set(string section, string key, string value)
    {
        section = section.ToLowerInvariant();
        key = key.ToLowerInvariant();
        string? current = null;
        var sectionEnd = -1;
        for (var i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i].Trim();
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                current = line[1..^1].Trim().ToLowerInvariant();
                if (current == section)
                {
                    sectionEnd = i + 1;
                }

                continue;
            }

            if (current != section || line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            sectionEnd = i + 1;
            var sep = line.IndexOfAny(['=', ':']);
            if (sep > 0 && line[..sep].Trim().Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                _lines[i] = $"{key} = {value}";
                return;
            }
        }

        if (sectionEnd < 0)
        {
            if (_lines.Count > 0 && _lines[^1].Length != 0)
            {
                _lines.Add(string.Empty);
            }

            _lines.Add($"[{section}]");
            _lines.Add($"{key} = {value}");
            return;
        }

        _lines.Insert(sectionEnd, $"{key} = {value}");
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var line in _lines)
        {
            sb.Append(line).Append('\n');
        }

        // Split leaves one empty trailing entry for a file ending in a newline; do not grow the file on each save.
        return sb.ToString().TrimEnd('\n') + "\n";
    }
}
