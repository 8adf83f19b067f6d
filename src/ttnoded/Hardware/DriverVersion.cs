using System.Globalization;

namespace Ttnoded.Hardware;

/// <summary>
/// tt-kmd version from /sys/module/tenstorrent/version ("2.10.1-pre", "2.4.1", "1.31"). Compared as
/// (major, minor, patch) after stripping "-suffix"/"+build", like tt-tools-common does.
/// </summary>
public readonly record struct DriverVersion(int Major, int Minor, int Patch) : IComparable<DriverVersion>
{
    /// <summary>UMD refuses anything older.</summary>
    public static readonly DriverVersion UmdFloor = new(2, 0, 0);

    /// <summary>Parses "M.m[.p][-suffix][+build]".</summary>
    public static bool TryParse(string? text, out DriverVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        int cut = t.IndexOfAny(['-', '+', ' ']);
        if (cut >= 0) t = t[..cut];
        var parts = t.Split('.');
        if (parts.Length is < 2 or > 3) return false;
        Span<int> f = stackalloc int[3];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out f[i])) return false;
        version = new DriverVersion(f[0], f[1], f[2]);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/>.</summary>
    public static DriverVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"driver version '{text}' is not M.m[.p]");

    /// <inheritdoc/>
    public int CompareTo(DriverVersion other) => (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    /// <summary>Ordering operator.</summary>
    public static bool operator <(DriverVersion a, DriverVersion b) => a.CompareTo(b) < 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator >(DriverVersion a, DriverVersion b) => a.CompareTo(b) > 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator <=(DriverVersion a, DriverVersion b) => a.CompareTo(b) <= 0;
    /// <summary>Ordering operator.</summary>
    public static bool operator >=(DriverVersion a, DriverVersion b) => a.CompareTo(b) >= 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}
