namespace Sirocco.Variables;

/// <summary>A stored Variable.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value as text (JSON values are stored as their JSON text).</param>
/// <param name="Description">An optional description.</param>
public sealed record Variable(string Key, string Value, string? Description = null);

/// <summary>Where Variables are kept (the metadata store implements it).</summary>
public interface IVariableStore
{
    /// <summary>The stored variable, or null.</summary>
    Variable? GetVariable(string key);

    /// <summary>Every stored variable, ordered by key.</summary>
    IReadOnlyList<Variable> ListVariables();

    /// <summary>Creates or replaces a variable.</summary>
    void SetVariable(Variable variable);

    /// <summary>Deletes a variable; false when it did not exist.</summary>
    bool DeleteVariable(string key);
}
