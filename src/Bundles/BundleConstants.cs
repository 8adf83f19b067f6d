namespace TtBundles;

/// <summary>
/// Names and limits of the <c>.ttmodel</c> bundle format (docs/bundle-format.md). Every limit the reader enforces lives
/// here so that error messages, the spec and the tests agree.
/// </summary>
public static class BundleConstants
{
    /// <summary>The bundle format version this library writes and the only one it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>Name of the first tar entry.</summary>
    public const string ManifestName = "manifest.json";

    /// <summary>Name of the last tar entry (optional; required by the strict trust policy).</summary>
    public const string SignatureName = "manifest.sig";

    /// <summary>Conventional file extension.</summary>
    public const string Extension = ".ttmodel";

    /// <summary>Largest manifest accepted (bytes). A real manifest is about 1 KiB.</summary>
    public const int MaxManifestBytes = 256 * 1024;

    /// <summary>Largest signature entry accepted (bytes). A real one is about 300 bytes.</summary>
    public const int MaxSignatureBytes = 8 * 1024;

    /// <summary>Largest pax extended header accepted (bytes).</summary>
    public const int MaxPaxHeaderBytes = 16 * 1024;

    /// <summary>Most payload files a manifest may list.</summary>
    public const int MaxPayloadFiles = 64;

    /// <summary>Longest payload path (bytes of UTF-8). Fits the ustar name field, so no pax path is ever needed.</summary>
    public const int MaxPathBytes = 100;

    /// <summary>Most trailing bytes (after the end-of-archive marker) the reader will skim; all must be zero.</summary>
    public const long MaxTrailingBytes = 1024 * 1024;

    /// <summary>Longest model name or version string.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Longest free-text manifest field (architecture, license, quantization, device names...).</summary>
    public const int MaxFieldLength = 128;

    /// <summary>The only signature algorithm: ECDSA over NIST P-256, SHA-256 of the exact manifest bytes, IEEE P1363 r||s.</summary>
    public const string SignatureAlgorithm = "ecdsa-p256-sha256";

    /// <summary>Copy buffer size used while streaming payloads.</summary>
    public const int CopyBufferBytes = 1024 * 1024;
}
