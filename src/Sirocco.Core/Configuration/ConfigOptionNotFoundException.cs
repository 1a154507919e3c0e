namespace Sirocco.Configuration;

/// <summary>
/// Thrown when a configuration option has no value in the environment, the file or the built-in defaults.
/// The message matches Airflow's: <c>section/key [core/kube_config] not found in config</c>.
/// </summary>
public sealed class ConfigOptionNotFoundException : SiroccoException
{
    /// <summary>Creates the exception for <paramref name="section"/>/<paramref name="key"/>.</summary>
    public ConfigOptionNotFoundException(string section, string key)
        : base($"section/key [{section}/{key}] not found in config")
    {
        Section = section;
        Key = key;
    }

    /// <summary>The section that was asked for.</summary>
    public string Section { get; }

    /// <summary>The key that was asked for.</summary>
    public string Key { get; }
}
