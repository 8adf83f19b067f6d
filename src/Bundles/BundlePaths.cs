using System.Text;

namespace TtBundles;

/// <summary>
/// Rules for entry and payload paths. A path is relative, '/'-separated, each segment made of
/// <c>[A-Za-z0-9._-]</c>, no segment empty, '.' or '..', no leading '/', at most 100 bytes.
/// Anything else is refused before a byte is written.
/// </summary>
public static class BundlePaths
{
    /// <summary>Returns null when <paramref name="path"/> is acceptable, else a short reason.</summary>
    public static string? Check(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "is empty";
        if (Encoding.UTF8.GetByteCount(path) > BundleConstants.MaxPathBytes) return $"is longer than {BundleConstants.MaxPathBytes} bytes";
        if (path[0] == '/') return "is absolute";
        if (path.Contains('\\')) return "contains a backslash";
        foreach (var seg in path.Split('/'))
        {
            if (seg.Length == 0) return "has an empty segment";
            if (seg == "..") return "contains '..'";
            if (seg == ".") return "contains '.'";
            foreach (char c in seg)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return $"contains character U+{(int)c:X4}";
        }
        return null;
    }
}
