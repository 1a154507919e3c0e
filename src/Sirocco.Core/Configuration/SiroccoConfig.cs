using System.Globalization;

namespace Sirocco.Configuration;

/// <summary>Where a configuration value came from.</summary>
public enum ConfigSource
{
    /// <summary>The built-in default.</summary>
    Default,

    /// <summary><c>sirocco.cfg</c> in the home directory.</summary>
    File,

    /// <summary>An environment variable <c>SIROCCO__SECTION__KEY</c> or <c>AIRFLOW__SECTION__KEY</c>.</summary>
    Environment,
}

/// <summary>One resolved configuration option.</summary>
/// <param name="Section">Section name, lower case.</param>
/// <param name="Key">Option name, lower case.</param>
/// <param name="Value">The effective value.</param>
/// <param name="Source">Where the effective value came from.</param>
public sealed record ConfigOption(string Section, string Key, string Value, ConfigSource Source);

/// <summary>
/// Sirocco's configuration: <c>sirocco.cfg</c> (INI) in the home directory with Airflow's sections. An option's value
/// is taken from the environment (<c>SIROCCO__SECTION__KEY</c>, then Airflow's <c>AIRFLOW__SECTION__KEY</c>), else
/// the file, else the built-in default.
/// </summary>
public sealed class SiroccoConfig
{
    /// <summary>The name of the configuration file inside the home directory.</summary>
    public const string FileName = "sirocco.cfg";

    private readonly Dictionary<(string Section, string Key), ConfigOption> _options;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private SiroccoConfig(string home, IReadOnlyDictionary<string, string> environment)
    {
        Home = home;
        _environment = environment;
        _options = Resolve();
    }

    /// <summary>The home directory (<c>$SIROCCO_HOME</c>, default <c>~/.sirocco</c>).</summary>
    public string Home { get; }

    /// <summary>The full path of <c>sirocco.cfg</c>.</summary>
    public string FilePath => Path.Combine(Home, FileName);

    /// <summary>The sections Sirocco knows; <see cref="Set"/> refuses others.</summary>
    public static IReadOnlyCollection<string> KnownSections => ConfigDefaults.Values.Keys.ToArray();

    /// <summary>Loads the configuration of <paramref name="home"/> with the given environment variables.</summary>
    /// <param name="home">The home directory; created lazily by commands that write to it.</param>
    /// <param name="environment">The process environment (read only at the composition root).</param>
    public static SiroccoConfig Load(string home, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentNullException.ThrowIfNull(environment);
        return new SiroccoConfig(Path.GetFullPath(home), environment);
    }

    /// <summary>The value of an option; throws <see cref="ConfigOptionNotFoundException"/> when it has none.</summary>
    public string Get(string section, string key) =>
        TryGet(section, key, out var value) ? value : throw new ConfigOptionNotFoundException(section, key);

    /// <summary>The value of an option, or <paramref name="fallback"/> when it has none.</summary>
    public string? Get(string section, string key, string? fallback) =>
        TryGet(section, key, out var value) ? value : fallback;

    /// <summary>Looks up an option.</summary>
    public bool TryGet(string section, string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(key);
        if (_options.TryGetValue((section.ToLowerInvariant(), key.ToLowerInvariant()), out var option))
        {
            value = option.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>
    /// The metadata database URL: <c>[database] sql_conn</c> when it is set in the file or the environment, else
    /// Airflow's name for it, <c>[database] sql_alchemy_conn</c> (also <c>AIRFLOW__DATABASE__SQL_ALCHEMY_CONN</c>),
    /// else the built-in default of <c>sql_conn</c> (SQLite in the home directory).
    /// </summary>
    public string SqlConn =>
        _options.TryGetValue(("database", "sql_conn"), out var own) && own.Source != ConfigSource.Default
            ? own.Value
            : TryGet("database", "sql_alchemy_conn", out var airflow) ? airflow : Get("database", "sql_conn");

    /// <summary>An integer option; the error names the option and the bad value.</summary>
    public int GetInt(string section, string key)
    {
        var text = Get(section, key);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new SiroccoException($"[{section}/{key}] must be an integer, got '{text}'");
    }

    /// <summary>A boolean option (Python's spellings: True/False, true/false, 1/0, yes/no, on/off).</summary>
    public bool GetBool(string section, string key)
    {
        var text = Get(section, key);
        return text.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" or "t" => true,
            "false" or "0" or "no" or "off" or "f" or "" => false,
            _ => throw new SiroccoException($"[{section}/{key}] must be a boolean (True or False), got '{text}'"),
        };
    }

    /// <summary>Every option that has a value, ordered by section then key.</summary>
    public IReadOnlyList<ConfigOption> List() =>
        [.. _options.Values.OrderBy(o => o.Section, StringComparer.Ordinal).ThenBy(o => o.Key, StringComparer.Ordinal)];

    /// <summary>
    /// Writes <paramref name="key"/> = <paramref name="value"/> into <c>sirocco.cfg</c>, keeping the file's other lines.
    /// An environment variable for the same option still wins.
    /// </summary>
    public void Set(string section, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        section = section.ToLowerInvariant();
        key = key.ToLowerInvariant();
        if (!ConfigDefaults.Values.ContainsKey(section))
        {
            throw new SiroccoException(
                $"unknown config section [{section}]; known sections: {string.Join(", ", ConfigDefaults.Values.Keys)}");
        }

        if (key.Length == 0 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
        {
            throw new SiroccoException($"invalid config key '{key}': use letters, digits and '_'");
        }

        if (value.Contains('\n', StringComparison.Ordinal))
        {
            throw new SiroccoException($"the value for [{section}/{key}] must be one line");
        }

        CreatePrivateDirectory(Home);
        var doc = IniDocument.Load(FilePath);
        doc.Set(section, key, value);
        var tmp = FilePath + ".tmp";
        // The file holds secrets ([core] fernet_key, [webserver] secret_key): readable by its owner only.
        File.WriteAllText(tmp, string.Empty);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(tmp, doc.ToString());
        File.Move(tmp, FilePath, overwrite: true);
        var fresh = Resolve();
        _options.Clear();
        foreach (var (k, v) in fresh)
        {
            _options[k] = v;
        }
    }

    /// <summary>Creates <paramref name="path"/> (and its parents) if missing; a folder this creates is its owner's only (0700).</summary>
    public static void CreatePrivateDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Whether an option holds a secret and must be masked when shown.</summary>
    public static bool IsSensitive(string section, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return (section, key) is ("database", "sql_conn") or ("database", "sql_alchemy_conn") or ("webserver", "secret_key") or ("core", "fernet_key") or ("secrets", "backend_kwargs")
            || Masking.SecretMasker.IsSensitiveName(key);
    }

    private Dictionary<(string, string), ConfigOption> Resolve()
    {
        var options = new Dictionary<(string, string), ConfigOption>();
        foreach (var (section, keys) in ConfigDefaults.Values)
        {
            foreach (var (key, value) in keys)
            {
                options[(section, key)] = new ConfigOption(section, key, value.Replace("{SIROCCO_HOME}", Home, StringComparison.Ordinal), ConfigSource.Default);
            }
        }

        foreach (var (section, key, value, _) in IniDocument.Load(FilePath).Entries(FilePath))
        {
            options[(section, key)] = new ConfigOption(section, key, value, ConfigSource.File);
        }

        // AIRFLOW__ first so that SIROCCO__ wins when both are set.
        foreach (var prefix in new[] { "AIRFLOW__", "SIROCCO__" })
        {
            foreach (var (name, value) in _environment)
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var rest = name[prefix.Length..];
                var split = rest.IndexOf("__", StringComparison.Ordinal);
                if (split <= 0 || split + 2 >= rest.Length)
                {
                    continue;
                }

                var section = rest[..split].ToLowerInvariant();
                var key = rest[(split + 2)..].ToLowerInvariant();
                options[(section, key)] = new ConfigOption(section, key, value, ConfigSource.Environment);
            }
        }

        return options;
    }
}
