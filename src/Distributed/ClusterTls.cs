using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace PurePg.Distributed;

/// <summary>
/// Mutual TLS for a PurePg cluster (Orleans' TLS transport): every silo and every learner presents the cluster's
/// certificate, and accepts a connection only from a peer presenting that same certificate (pinned by its SHA-256
/// thumbprint, so a self-signed certificate needs no certificate authority). A client without the certificate, or with
/// another one, is refused during the handshake: it never reaches a grain. For machines on a network, give every silo
/// and learner the same certificate file; on loopback it is optional.
/// </summary>
public sealed class ClusterTls
{
    private readonly byte[] _pin;

    /// <summary>TLS with <paramref name="certificate"/> (which must hold its private key) as the cluster's identity.</summary>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public ClusterTls(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey) throw new ArgumentException($"The certificate {certificate.Subject} has no private key: give the .pfx (PKCS #12) file, not the .cer.", nameof(certificate));
        Certificate = certificate;
        _pin = certificate.GetCertHash(HashAlgorithmName.SHA256);
    }

    /// <summary>The cluster's certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Loads the cluster's certificate from a PKCS #12 file (.pfx), naming the file when it cannot.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a PKCS #12 file, a wrong password, or no private key.</exception>
    public static ClusterTls Load(string path, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The cluster certificate {path} does not exist.", path);
        try { return new ClusterTls(X509CertificateLoader.LoadPkcs12FromFile(path, password)); }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"{path} is not a usable cluster certificate (a PKCS #12 .pfx with its private key{(password is null ? ", no password" : " and this password")}): {e.Message}", e);
        }
    }

    /// <summary>A new self-signed certificate for a cluster (ECDSA P-256, valid for <paramref name="years"/> years from now,
    /// usable for both ends of a connection); <see cref="Save"/> writes it for the silos and learners to share.</summary>
    public static ClusterTls CreateSelfSigned(string subject = "CN=purepg-cluster", int years = 2)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client authentication
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(years));
        // round-trip through PKCS #12 so the private key is usable by SslStream on every platform
        return new ClusterTls(X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null));
    }

    /// <summary>Writes the certificate with its private key as a PKCS #12 file (atomically: a temporary file renamed over
    /// the target). Anyone with the file can join the cluster: keep it like a password.</summary>
    public void Save(string path, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Rl.Training.AtomicFile.Write(path, Certificate.Export(X509ContentType.Pkcs12, password));
    }

    /// <summary>Whether <paramref name="remote"/> is the cluster's certificate (by SHA-256 thumbprint).</summary>
    public bool Accepts(X509Certificate2? remote) => remote is not null && remote.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(_pin);

    /// <summary>Orleans' TLS options for either end: present the certificate, require the peer's, accept only the pinned one.</summary>
    internal void Configure(TlsOptions options)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, _, _) => Accepts(certificate);
        options.OnAuthenticateAsClient = (_, client) => client.TargetHost = Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }
}
