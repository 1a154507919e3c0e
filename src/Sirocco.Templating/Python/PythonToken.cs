namespace Sirocco.Templating.Python;

/// <summary>What a <see cref="PythonToken"/> is.</summary>
public enum PythonTokenKind
{
    /// <summary>A name or keyword.</summary>
    Name,

    /// <summary>An integer literal; the value is a <see cref="long"/>.</summary>
    Int,

    /// <summary>A float literal; the value is a <see cref="double"/>.</summary>
    Float,

    /// <summary>A string literal; the value is its decoded text.</summary>
    String,

    /// <summary>An f-string (modules only); the value is its raw body, decoded later part by part.</summary>
    FString,

    /// <summary>An operator or bracket; the text says which.</summary>
    Op,

    /// <summary>The end of a logical line (modules only).</summary>
    Newline,

    /// <summary>A deeper indentation starts a block (modules only).</summary>
    Indent,

    /// <summary>A block ends (modules only).</summary>
    Dedent,

    /// <summary>The end of the tokens: of the text, of the expression, or the closer of a template tag.</summary>
    End,
}

/// <summary>One token of Python (or Jinja) source, as <see cref="PythonTokenizer"/> makes it.</summary>
/// <param name="Kind">What the token is.</param>
/// <param name="Text">The source text of the token (empty for <see cref="PythonTokenKind.End"/> and the line tokens
/// other than a written newline).</param>
/// <param name="Value">A number's value, a string's decoded text, an f-string's raw body; null otherwise.</param>
/// <param name="Offset">The position of the token in the whole source text.</param>
/// <param name="BodyOffset">For an f-string, the position of its body (after the prefix and the quotes).</param>
/// <param name="Raw">For an f-string, whether it is raw (<c>rf'...'</c>), so its escapes are kept as written.</param>
public readonly record struct PythonToken(PythonTokenKind Kind, string Text, object? Value, int Offset, int BodyOffset = 0, bool Raw = false)
{
    /// <summary>Whether this is the operator <paramref name="op"/>.</summary>
    public bool Is(string op) => Kind == PythonTokenKind.Op && Text == op;

    /// <summary>Whether this is the name (or keyword) <paramref name="name"/>.</summary>
    public bool IsName(string name) => Kind == PythonTokenKind.Name && Text == name;
}
