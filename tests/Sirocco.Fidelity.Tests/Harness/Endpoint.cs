using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using k8s;

namespace Sirocco.Fidelity.Tests.Harness;

/// <summary>One API server as a plain HTTP client sees it: base address, CA and bearer token from a kubeconfig.</summary>
public sealed class Endpoint : IDisposable
{
    private Endpoint(string name, HttpClient http)
    {
        Name = name;
        Http = http;
    }

    /// <summary>"local" or "real", for messages.</summary>
    public string Name { get; }

    /// <summary>A client that trusts the server's CA and sends its token.</summary>
    public HttpClient Http { get; }

    public static Endpoint FromKubeconfig(string name, string kubeconfig)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        var roots = config.SslCaCerts ?? throw new InvalidOperationException($"{kubeconfig} names no certificate authority");
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return cert is not null && chain.Build(new X509Certificate2(cert));
                },
            },
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri(config.Host), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", config.AccessToken);
        return new Endpoint(name, http);
    }

    public void Dispose() => Http.Dispose();
}
