namespace Ttnoded.Hardware;

/// <summary>
/// Every hardware read goes through here: paths are the real absolute paths ("/sys/…") mapped under a
/// root directory (default "/", fixtures in tests). Every sysfs/procfs read is fallible (ENODATA during a
/// reset window, ENODEV after removal, EIO): readers return false, never throw.
/// </summary>
internal sealed class Sysroot
{
    public Sysroot(string root)
    {
        Root = Path.GetFullPath(string.IsNullOrEmpty(root) ? "/" : root);
        IsRealRoot = Root == "/";
    }

    public string Root { get; }

    /// <summary>True when reading the live system; fixtures may use placeholder (non-char) device nodes only otherwise.</summary>
    public bool IsRealRoot { get; }

    /// <summary>Maps an absolute system path ("/sys/…") to the path under the root.</summary>
    public string Map(string absolute) => IsRealRoot ? absolute : Path.Join(Root, absolute);

    /// <summary>Maps a path under the root back to the system path it stands for.</summary>
    public string Unmap(string underRoot) =>
        IsRealRoot ? underRoot : "/" + Path.GetRelativePath(Root, underRoot).Replace('\\', '/');

    public static bool TryReadText(string path, out string text)
    {
        try
        {
            text = File.ReadAllText(path).Trim();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text = "";
            return false;
        }
    }

    public static string? ReadOrNull(string path) => TryReadText(path, out var t) ? t : null;

    public static long? ReadLong(string path) =>
        TryReadText(path, out var t) && long.TryParse(t, System.Globalization.NumberStyles.Integer,
            System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;

    public static int? ReadHex(string path)
    {
        if (!TryReadText(path, out var t)) return null;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) t = t[2..];
        return int.TryParse(t, System.Globalization.NumberStyles.HexNumber,
            System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    public static string[] ReadLines(string path) =>
        TryReadText(path, out var t) ? t.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];

    public static IEnumerable<string> Entries(string dir, string pattern = "*")
    {
        try { return Directory.EnumerateFileSystemEntries(dir, pattern).ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>The real path (all symlinks resolved, relative ones against their real directory); null if it does not exist.</summary>
    public static string? Resolve(string path) => Native.Realpath(path);
}
