namespace Sirocco.Templating.Expressions;

/// <summary>A syntax error at a position in the source.</summary>
internal sealed class SyntaxErrorException : Exception
{
    public SyntaxErrorException(string message, int offset)
        : base(message) => Offset = offset;

    public int Offset { get; }
}
