namespace Sirocco.Google;

/// <summary>
/// Where Sirocco reaches Google Cloud and how it finds credentials: the API endpoints of the <c>[google]</c> section
/// (real Google by default; tests and private endpoints point them elsewhere) and the process environment
/// (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, <c>GCE_METADATA_HOST</c>, <c>HOME</c>) as the composition root read it.
/// </summary>
public sealed record GoogleCloudOptions
{
    /// <summary>The process environment, read once by the composition root.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The Kubernetes Engine (Container) API, <c>[google] container_api_endpoint</c>.</summary>
    public Uri ContainerApiEndpoint { get; init; } = new("https://container.googleapis.com/");

    /// <summary>
    /// The Cloud Storage JSON API, <c>[google] storage_api_endpoint</c>, else <c>STORAGE_EMULATOR_HOST</c>; null for
    /// Google's own.
    /// </summary>
    public Uri? StorageApiEndpoint { get; init; }

    /// <summary>The Secret Manager API, <c>[google] secret_manager_endpoint</c>.</summary>
    public Uri SecretManagerEndpoint { get; init; } = new("https://secretmanager.googleapis.com/");

    /// <summary>The IAM Credentials API (service-account impersonation), <c>[google] iam_credentials_endpoint</c>.</summary>
    public Uri IamCredentialsEndpoint { get; init; } = DefaultIamCredentialsEndpoint;

    /// <summary>Google's IAM Credentials API.</summary>
    public static Uri DefaultIamCredentialsEndpoint { get; } = new("https://iamcredentials.googleapis.com/");

    /// <summary>The bound of one Google API request (token requests included).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a cluster's endpoint and CA read from the Container API are reused before being read again.</summary>
    public TimeSpan ClusterCacheLifetime { get; init; } = TimeSpan.FromMinutes(10);
}
