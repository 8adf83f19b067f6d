using System.Security.Cryptography;

namespace TtBundles.Signing;

/// <summary>
/// ECDSA P-256 signing keys in PEM. Private keys are PKCS#8 (<c>-----BEGIN PRIVATE KEY-----</c>), public keys are
/// SubjectPublicKeyInfo (<c>-----BEGIN PUBLIC KEY-----</c>). A key id is the first 16 hex digits of the SHA-256 of the
/// public key's SubjectPublicKeyInfo DER.
/// </summary>
public static class BundleKeys
{
    /// <summary>Creates a new P-256 key pair.</summary>
    public static ECDsa Generate() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>PKCS#8 PEM of the private key.</summary>
    public static string ExportPrivatePem(ECDsa key) => key.ExportPkcs8PrivateKeyPem() + "\n";

    /// <summary>SubjectPublicKeyInfo PEM of the public key.</summary>
    public static string ExportPublicPem(ECDsa key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    /// <summary>Key id of a public key.</summary>
    public static string KeyId(ECDsa key) => KeyId(key.ExportSubjectPublicKeyInfo());

    /// <summary>Key id of a SubjectPublicKeyInfo DER.</summary>
    public static string KeyId(ReadOnlySpan<byte> spki) => Convert.ToHexStringLower(SHA256.HashData(spki))[..16];

    /// <summary>
    /// Writes <c>NAME.key</c> (mode 0600, created exclusively so an existing key is never overwritten) and
    /// <c>NAME.pub</c>. Returns the key id.
    /// </summary>
    public static string WriteKeyPair(string basePath)
    {
        using var key = Generate();
        string keyPath = basePath + ".key", pubPath = basePath + ".pub";
        if (File.Exists(pubPath)) throw new IOException($"'{pubPath}' already exists; refusing to overwrite it");
        var opts = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) opts.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var fs = new FileStream(keyPath, opts))
        using (var w = new StreamWriter(fs))
            w.Write(ExportPrivatePem(key));
        File.WriteAllText(pubPath, ExportPublicPem(key));
        return KeyId(key);
    }

    /// <summary>Loads a P-256 private key from a PEM file; throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static ECDsa LoadPrivate(string path)
    {
        string pem = ReadCapped(path);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                throw new InvalidDataException($"key '{path}': not a P-256 key");
            _ = key.ExportECPrivateKey(); // throws when the PEM held only a public key
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"key '{path}': not a PEM ECDSA P-256 private key ({e.Message})");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads a P-256 public key from a PEM file; throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static ECDsa LoadPublic(string path) => ImportPublicPem(ReadCapped(path), path);

    internal static ECDsa ImportPublicPem(string pem, string source)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            CheckP256(key, source);
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"key '{source}': not a PEM ECDSA P-256 public key ({e.Message})");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    internal static void CheckP256(ECDsa key, string source)
    {
        if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            throw new InvalidDataException($"key '{source}': not a P-256 key");
    }

    private static string ReadCapped(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"key file '{path}' not found", path);
        if (info.Length > 64 * 1024) throw new InvalidDataException($"key '{path}': {info.Length} bytes is too large for a PEM key");
        return File.ReadAllText(path);
    }
}
