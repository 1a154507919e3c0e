using Sirocco.Configuration;

namespace Sirocco.Google;

/// <summary>Reads Google Cloud access options from the configuration.</summary>
public static class GoogleCloudServices
{
    /// <summary>The options of <c>[google]</c>; a value that is not an absolute http(s) URL is an error naming the option.</summary>
    public static GoogleCloudOptions ReadOptions(SiroccoConfig config, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new GoogleCloudOptions { Environment = environment };
        if (Url(config, "container_api_endpoint") is { } container)
        {
            options = options with { ContainerApiEndpoint = container };
        }

        if (Url(config, "iam_credentials_endpoint") is { } iam)
        {
            options = options with { IamCredentialsEndpoint = iam };
        }

        if (Url(config, "secret_manager_endpoint") is { } secrets)
        {
            options = options with { SecretManagerEndpoint = secrets };
        }

        var storage = Url(config, "storage_api_endpoint");
        if (storage is null && environment.TryGetValue("STORAGE_EMULATOR_HOST", out var emulator) && emulator.Length > 0)
        {
            storage = Parse(emulator.Contains("://", StringComparison.Ordinal) ? emulator : "http://" + emulator, "STORAGE_EMULATOR_HOST");
        }

        return options with { StorageApiEndpoint = storage };
    }

    private static Uri? Url(SiroccoConfig config, string key) =>
        config.Get("google", key, null) is { Length: > 0 } text ? Parse(text, $"[google] {key}") : null;

    private static Uri Parse(string text, string what)
    {
        var withSlash = text.EndsWith('/') ? text : text + "/";
        return Uri.TryCreate(withSlash, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new SiroccoException($"{what} must be an http(s) URL, got '{text}'");
    }
}
