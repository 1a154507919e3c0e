using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sirocco.Configuration;

namespace Sirocco.Web.Security;

/// <summary>The server certificate of <c>[webserver] web_server_ssl_cert</c> and <c>web_server_ssl_key</c> (PEM files, as Airflow's).</summary>
internal static class WebTls
{
    /// <summary>The certificate with its key, or null when TLS is not configured; a bad file is an error naming it.</summary>
    public static X509Certificate2? LoadCertificate(SiroccoConfig config)
    {
        var cert = config.Get("webserver", "web_server_ssl_cert", string.Empty)!.Trim();
        var key = config.Get("webserver", "web_server_ssl_key", string.Empty)!.Trim();
        if (cert.Length == 0 && key.Length == 0)
        {
            return null;
        }

        if (cert.Length == 0 || key.Length == 0)
        {
            throw new SiroccoException($"[webserver] web_server_ssl_cert and web_server_ssl_key go together: only {(cert.Length > 0 ? "web_server_ssl_cert" : "web_server_ssl_key")} is set");
        }

        foreach (var (option, path) in new[] { ("web_server_ssl_cert", cert), ("web_server_ssl_key", key) })
        {
            if (!File.Exists(path))
            {
                throw new SiroccoException($"[webserver] {option}: file '{path}' does not exist");
            }
        }

        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(cert, key);

            // Kestrel needs the key in a form the TLS stack can use on every platform: a PKCS#12 round trip gives that.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException e)
        {
            throw new SiroccoException($"[webserver] web_server_ssl_cert '{cert}' with web_server_ssl_key '{key}' could not be loaded: {e.Message} (expected PEM files: a certificate and its private key)");
        }
    }
}
