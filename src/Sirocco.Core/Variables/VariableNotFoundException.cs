namespace Sirocco.Variables;

/// <summary>A Variable that is neither stored nor set in the environment: <c>Variable KEY does not exist</c>.</summary>
public sealed class VariableNotFoundException : SiroccoException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public VariableNotFoundException(string key)
        : base($"Variable {key} does not exist") => Key = key;

    /// <summary>The missing key.</summary>
    public string Key { get; }
}
