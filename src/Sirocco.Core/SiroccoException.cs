namespace Sirocco;

/// <summary>
/// Base class of the errors Sirocco reports to users: the message is meant to be shown as is, on one line.
/// </summary>
public class SiroccoException : Exception
{
    /// <summary>Creates an exception with a user-facing message.</summary>
    public SiroccoException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a user-facing message and the error that caused it.</summary>
    public SiroccoException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
