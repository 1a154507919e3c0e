using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sirocco.LocalCluster;

/// <summary>
/// The cluster's self-signed CA and the API server's certificate for 127.0.0.1 and the pods' gateway 10.0.2.2, made once and kept
/// in the state directory so a kubeconfig stays valid across restarts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class Certificates
{
    public static (X509Certificate2 Server, string CaPem) LoadOrCreate(string directory, DateTimeOffset now)
    {
        var caCrt = Path.Combine(directory, "ca.crt");
        var serverCrt = Path.Combine(directory, "server.crt");
        var serverKey = Path.Combine(directory, "server.key");
        if (File.Exists(caCrt) && File.Exists(serverCrt) && File.Exists(serverKey))
        {
            var loaded = X509Certificate2.CreateFromPemFile(serverCrt, serverKey);
            if (loaded.NotAfter > now.UtcDateTime.AddDays(1) && NamesPodGateway(loaded))
            {
                return (Exportable(loaded), File.ReadAllText(caCrt));
            }
        }

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=sirocco-local-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sirocco-local-apiserver", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.Parse(Kubelet.PodNetwork.Gateway));
        san.AddDnsName("localhost");
        san.AddDnsName("kubernetes");
        san.AddDnsName("kubernetes.default");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddYears(10).AddDays(-1), serial);
        using var server = issued.CopyWithPrivateKey(key);

        var caPem = ca.ExportCertificatePem() + "\n";
        WritePrivate(caCrt, caPem);
        WritePrivate(Path.Combine(directory, "ca.key"), caKey.ExportPkcs8PrivateKeyPem() + "\n");
        WritePrivate(serverCrt, server.ExportCertificatePem() + "\n");
        WritePrivate(serverKey, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (Exportable(server), caPem);
    }

    /// <summary>Whether a certificate made before pods had networks of their own also names their gateway address.</summary>
    private static bool NamesPodGateway(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Any(e => e.EnumerateIPAddresses().Any(a => a.ToString() == Kubelet.PodNetwork.Gateway));

    /// <summary>A copy Kestrel can use on every platform (a PKCS#12 round trip gives the key a stable handle).</summary>
    private static X509Certificate2 Exportable(X509Certificate2 cert)
    {
        var pfx = cert.Export(X509ContentType.Pkcs12);
        return X509CertificateLoader.LoadPkcs12(pfx, null);
    }

    /// <summary>Writes a file readable by its owner only.</summary>
    public static void WritePrivate(string path, string content)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.Move(temp, path, overwrite: true);
    }
}
