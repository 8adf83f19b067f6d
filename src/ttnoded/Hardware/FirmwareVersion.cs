using System.Globalization;

namespace Ttnoded.Hardware;

/// <summary>
/// A firmware bundle version as tt_fw_bundle_ver prints it ("a.b.c.d", bytes 3..0 of the telemetry word).
/// Ordering follows UMD (tt-metal's device layer): a legacy bundle (a ≥ 80, e.g. "80.17.0.0") is older
/// than every current one (18.x, 19.x); legacy bundles order among themselves as (b, c, d) like tt-flash;
/// current ones as (a, b, c). The 4th field is ignored for current bundles. "255.255.255.255" = unset.
/// </summary>
public sealed class FirmwareVersion : IComparable<FirmwareVersion>, IEquatable<FirmwareVersion>
{
    private FirmwareVersion(string text, int a, int b, int c, int d) { Text = text; A = a; B = b; C = c; D = d; }

    /// <summary>The version as read.</summary>
    public string Text { get; }
    /// <summary>First field (fwId: 80 for legacy bundles, 18/19 for current ones).</summary>
    public int A { get; }
    /// <summary>Second field.</summary>
    public int B { get; }
    /// <summary>Third field.</summary>
    public int C { get; }
    /// <summary>Fourth field (debug; ignored when comparing current bundles).</summary>
    public int D { get; }

    /// <summary>All bytes 0xFF: the bundle field was never written.</summary>
    public bool IsUnset => A == 255 && B == 255 && C == 255 && D == 255;
    /// <summary>Pre-18 numbering ("80.X.Y.Z").</summary>
    public bool IsLegacy => A >= 80 && !IsUnset;

    /// <summary>(major, minor, patch) as tt-flash normalises it: 80.X.Y.Z → (X, Y, Z).</summary>
    public (int Major, int Minor, int Patch) Normalized => IsLegacy ? (B, C, D) : (A, B, C);

    /// <summary>Parses "a.b.c" or "a.b.c.d" (each 0..255), optionally prefixed "fw_pack-" or "v".</summary>
    public static bool TryParse(string? text, out FirmwareVersion version)
    {
        version = null!;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        if (t.StartsWith("fw_pack-", StringComparison.Ordinal)) t = t["fw_pack-".Length..];
        if (t.StartsWith('v')) t = t[1..];
        var parts = t.Split('.');
        if (parts.Length is < 3 or > 4) return false;
        Span<int> f = stackalloc int[4];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out f[i]) || f[i] > 255) return false;
        version = new FirmwareVersion(text.Trim(), f[0], f[1], f[2], f[3]);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> naming the value.</summary>
    public static FirmwareVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"firmware bundle version '{text}' is not a.b.c[.d]");

    /// <inheritdoc/>
    public int CompareTo(FirmwareVersion? other)
    {
        if (other is null) return 1;
        if (IsLegacy != other.IsLegacy) return IsLegacy ? -1 : 1;
        return Normalized.CompareTo(other.Normalized);
    }

    /// <inheritdoc/>
    public bool Equals(FirmwareVersion? other) => other is not null && CompareTo(other) == 0 && IsLegacy == other.IsLegacy;
    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as FirmwareVersion);
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(IsLegacy, Normalized);
    /// <inheritdoc/>
    public override string ToString() => Text;

    /// <summary>Ordering operator.</summary>
    public static bool operator <(FirmwareVersion a, FirmwareVersion b) => a.CompareTo(b) < 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator >(FirmwareVersion a, FirmwareVersion b) => a.CompareTo(b) > 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator <=(FirmwareVersion a, FirmwareVersion b) => a.CompareTo(b) <= 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator >=(FirmwareVersion a, FirmwareVersion b) => a.CompareTo(b) >= 0;
}
