namespace TtBundles.Signing;

/// <summary>What a verifier demands of a bundle's signature.</summary>
public enum TrustMode
{
    /// <summary>A valid signature by a trusted key is required.</summary>
    Strict,
    /// <summary>Unsigned bundles and untrusted signers are accepted with a warning; an invalid signature is still refused.</summary>
    Warn,
    /// <summary>The signature entry is not examined at all (only its size cap and position are enforced).</summary>
    Off,
}

/// <summary>A trust mode plus the trusted public keys (by key id).</summary>
public sealed class TrustPolicy
{
    private readonly Dictionary<string, TrustedKey> _keys;

    /// <summary>Creates a policy from keys already loaded.</summary>
    public TrustPolicy(TrustMode mode, IEnumerable<TrustedKey> keys)
    {
        Mode = mode;
        _keys = new Dictionary<string, TrustedKey>(StringComparer.Ordinal);
        foreach (var k in keys) _keys[k.KeyId] = k;
    }

    /// <summary>The mode.</summary>
    public TrustMode Mode { get; }

    /// <summary>Trusted keys by id.</summary>
    public IReadOnlyDictionary<string, TrustedKey> Keys => _keys;

    /// <summary>A policy that checks nothing about signatures.</summary>
    public static TrustPolicy Off { get; } = new(TrustMode.Off, []);

    /// <summary>
    /// Loads every <c>*.pub</c> file of <paramref name="keysDir"/> (non-recursive). A missing directory yields no keys;
    /// an unreadable or malformed key file throws <see cref="InvalidDataException"/> naming it, so a typo in the trust
    /// store is noticed rather than silently trusting fewer keys.
    /// </summary>
    public static TrustPolicy Load(TrustMode mode, string? keysDir)
    {
        var keys = new List<TrustedKey>();
        if (keysDir is not null && Directory.Exists(keysDir))
        {
            foreach (string path in Directory.EnumerateFiles(keysDir, "*.pub").Order(StringComparer.Ordinal))
            {
                using var k = BundleKeys.LoadPublic(path);
                byte[] spki = k.ExportSubjectPublicKeyInfo();
                keys.Add(new TrustedKey(BundleKeys.KeyId(spki), Path.GetFileName(path), spki));
            }
        }
        return new TrustPolicy(mode, keys);
    }

    /// <summary>Parses <c>strict</c>, <c>warn</c> or <c>off</c>.</summary>
    public static bool TryParseMode(string? s, out TrustMode mode)
    {
        switch (s)
        {
            case "strict": mode = TrustMode.Strict; return true;
            case "warn": mode = TrustMode.Warn; return true;
            case "off": mode = TrustMode.Off; return true;
            default: mode = TrustMode.Strict; return false;
        }
    }
}

/// <summary>A trusted public key.</summary>
/// <param name="KeyId">Key id.</param>
/// <param name="Source">File it came from (for messages).</param>
/// <param name="Spki">SubjectPublicKeyInfo DER.</param>
public sealed record TrustedKey(string KeyId, string Source, byte[] Spki);
