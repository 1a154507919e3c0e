using System.Text.Json;
using Sirocco.Masking;

namespace Sirocco.Variables;

/// <summary>
/// Reads Variables as Airflow does: an environment variable <c>SIROCCO_VAR_KEY</c> (or <c>AIRFLOW_VAR_KEY</c>, key upper
/// cased) wins over the stored value, and a secrets backend (<c>[secrets] backend</c>) wins over both. Values of
/// sensitive keys are registered with the masker when read.
/// </summary>
public sealed class VariableAccessor
{
    private readonly IVariableStore _store;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly SecretMasker _masker;
    private readonly Secrets.ISecretsBackend? _secrets;

    /// <summary>Creates an accessor over a store, the process environment and, when configured, a secrets backend.</summary>
    public VariableAccessor(IVariableStore store, IReadOnlyDictionary<string, string> environment, SecretMasker masker, Secrets.ISecretsBackend? secrets = null)
    {
        _store = store;
        _environment = environment;
        _masker = masker;
        _secrets = secrets;
    }

    /// <summary>The value of <paramref name="key"/>; throws <see cref="VariableNotFoundException"/> when missing.</summary>
    public string Get(string key) => TryGet(key, out var value) ? value : throw new VariableNotFoundException(key);

    /// <summary>The value of <paramref name="key"/> parsed as JSON; the error names the key when it is not JSON.</summary>
    public JsonElement GetJson(string key)
    {
        var text = Get(key);
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new SiroccoException($"Variable {key} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Looks a variable up in the secrets backend, the environment, then the store. A template reads Variables
    /// synchronously, so a backend's answer is waited for here (the backend bounds and caches its calls).
    /// </summary>
    public bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var upper = key.ToUpperInvariant();
        value = _secrets?.GetVariableAsync(key, CancellationToken.None).GetAwaiter().GetResult();
        if (value is null
            && !_environment.TryGetValue("SIROCCO_VAR_" + upper, out value)
            && !_environment.TryGetValue("AIRFLOW_VAR_" + upper, out value))
        {
            value = _store.GetVariable(key)?.Value;
        }

        if (value is not null)
        {
            _masker.AddIfSensitive(key, value);
            return true;
        }

        return false;
    }

    /// <summary>Whether the environment overrides <paramref name="key"/>.</summary>
    public bool IsOverriddenByEnvironment(string key)
    {
        var upper = key.ToUpperInvariant();
        return _environment.ContainsKey("SIROCCO_VAR_" + upper) || _environment.ContainsKey("AIRFLOW_VAR_" + upper);
    }
}
