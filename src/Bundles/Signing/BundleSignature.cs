using System.Security.Cryptography;
using System.Text.Json;

namespace TtBundles.Signing;

/// <summary>
/// The <c>manifest.sig</c> entry: ECDSA P-256 over SHA-256 of the exact <c>manifest.json</c> bytes, IEEE P1363
/// (r||s, 64 bytes), base64. It carries the signer's public key so that a bad signature is always detectable, and
/// whether that key is trusted is a separate decision (<see cref="TrustPolicy"/>).
/// </summary>
public sealed class BundleSignature
{
    /// <summary>Always <see cref="BundleConstants.FormatVersion"/>.</summary>
    public int FormatVersion { get; init; } = BundleConstants.FormatVersion;
    /// <summary>Always <see cref="BundleConstants.SignatureAlgorithm"/>.</summary>
    public string Algorithm { get; init; } = BundleConstants.SignatureAlgorithm;
    /// <summary>Key id (<see cref="BundleKeys.KeyId(ReadOnlySpan{byte})"/>) of <see cref="PublicKey"/>.</summary>
    public string KeyId { get; init; } = "";
    /// <summary>Signer's SubjectPublicKeyInfo DER, base64.</summary>
    public string PublicKey { get; init; } = "";
    /// <summary>Signature, base64 of 64 bytes r||s.</summary>
    public string Signature { get; init; } = "";

    /// <summary>Signs <paramref name="manifestBytes"/> and returns the bytes of the <c>manifest.sig</c> entry.</summary>
    public static byte[] Create(ReadOnlySpan<byte> manifestBytes, ECDsa privateKey)
    {
        BundleKeys.CheckP256(privateKey, "signing key");
        byte[] spki = privateKey.ExportSubjectPublicKeyInfo();
        byte[] sig = privateKey.SignData(manifestBytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var s = new BundleSignature
        {
            KeyId = BundleKeys.KeyId(spki),
            PublicKey = Convert.ToBase64String(spki),
            Signature = Convert.ToBase64String(sig),
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(s, BundleJsonContext.Default.BundleSignature);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>
    /// Parses a signature entry and checks it cryptographically against <paramref name="manifestBytes"/>. Returns the
    /// signer's key id and SubjectPublicKeyInfo; throws a Trust <see cref="BundleException"/> when anything is wrong.
    /// </summary>
    public static (string KeyId, byte[] Spki) Verify(ReadOnlySpan<byte> sigBytes, ReadOnlySpan<byte> manifestBytes)
    {
        const string E = BundleConstants.SignatureName;
        BundleSignature? s = null;
        try { s = JsonSerializer.Deserialize(sigBytes, BundleJsonContext.Default.BundleSignature); }
        catch (JsonException e) { BundleThrow.Trust($"{E}: invalid JSON at {e.Path ?? "$"}"); }
        if (s is null) BundleThrow.Trust($"{E}: is null");
        if (s.FormatVersion != BundleConstants.FormatVersion) BundleThrow.Trust($"{E}: format_version {s.FormatVersion} not supported");
        if (s.Algorithm != BundleConstants.SignatureAlgorithm)
            BundleThrow.Trust($"{E}: algorithm '{BundleThrow.Printable(s.Algorithm ?? "")}' not supported (expected {BundleConstants.SignatureAlgorithm})");
        byte[] spki = Base64(s.PublicKey, "public_key");
        byte[] sig = Base64(s.Signature, "signature");
        if (sig.Length != 64) BundleThrow.Trust($"{E}: signature is {sig.Length} bytes, expected 64");
        string id = BundleKeys.KeyId(spki);
        if (s.KeyId != id) BundleThrow.Trust($"{E}: key_id '{BundleThrow.Printable(s.KeyId ?? "")}' does not match public_key (id {id})");
        using var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out int read);
            if (read != spki.Length) BundleThrow.Trust($"{E}: public_key has trailing bytes");
            BundleKeys.CheckP256(key, "public_key");
        }
        catch (Exception e) when (e is CryptographicException or InvalidDataException)
        {
            BundleThrow.Trust($"{E}: public_key is not an ECDSA P-256 key");
        }
        if (!key.VerifyData(manifestBytes, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            BundleThrow.Trust($"{E}: signature by key {id} does not match manifest.json (bundle altered after signing)");
        return (id, spki);
    }

    private static byte[] Base64(string? value, string field)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 4096) BundleThrow.Trust($"{BundleConstants.SignatureName}: {field} missing or too long");
        // Canonical base64 only: the decoder ignores whitespace and unused low bits, and a non-canonical
        // encoding would let a corrupted signature entry pass unnoticed.
        try
        {
            byte[] bytes = Convert.FromBase64String(value);
            if (Convert.ToBase64String(bytes) != value) BundleThrow.Trust($"{BundleConstants.SignatureName}: {field} is not canonical base64");
            return bytes;
        }
        catch (FormatException) { BundleThrow.Trust($"{BundleConstants.SignatureName}: {field} is not base64"); return null!; }
    }
}
