namespace Ttnoded.Security;

/// <summary>
/// Users and groups of this host from /etc/passwd and /etc/group (an air-gapped node has no directory service to ask).
/// Re-read when either file changes; lookups never throw.
/// </summary>
public sealed class UserDirectory(string passwdPath = "/etc/passwd", string groupPath = "/etc/group")
{
    private sealed record Snapshot(DateTime PasswdTime, DateTime GroupTime,
        Dictionary<uint, (string Name, uint Gid)> Users, Dictionary<uint, string> GroupNames,
        Dictionary<string, uint> GroupIds, Dictionary<string, HashSet<string>> Members);

    private Snapshot? _snapshot;
    private readonly Lock _gate = new();

    public string UserName(uint uid) => Current().Users.TryGetValue(uid, out var u) ? u.Name : uid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string GroupName(uint gid) => Current().GroupNames.TryGetValue(gid, out var g) ? g : gid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public bool Exists(string userName) => Current().Users.Values.Any(u => u.Name == userName);

    public uint? GroupId(string name) => Current().GroupIds.TryGetValue(name, out uint gid) ? gid : null;

    /// <summary>True when the user (by uid, with the gid of its process) belongs to the named group, primary or supplementary.</summary>
    public bool IsMember(uint uid, uint processGid, string group)
    {
        var s = Current();
        if (!s.GroupIds.TryGetValue(group, out uint gid)) return false;
        if (processGid == gid) return true;
        if (s.Users.TryGetValue(uid, out var user))
        {
            if (user.Gid == gid) return true;
            if (s.Members.TryGetValue(group, out var members) && members.Contains(user.Name)) return true;
        }
        return false;
    }

    /// <summary>The groups a user belongs to (primary first), by name.</summary>
    public IReadOnlyList<string> GroupsOf(uint uid, uint processGid)
    {
        var s = Current();
        var result = new List<string> { GroupName(processGid) };
        if (s.Users.TryGetValue(uid, out var user))
            foreach (var (group, members) in s.Members)
                if (members.Contains(user.Name) && !result.Contains(group)) result.Add(group);
        return result;
    }

    private Snapshot Current()
    {
        DateTime pt = SafeTime(passwdPath), gt = SafeTime(groupPath);
        var s = _snapshot;
        if (s is not null && s.PasswdTime == pt && s.GroupTime == gt) return s;
        lock (_gate)
        {
            s = _snapshot;
            if (s is not null && s.PasswdTime == pt && s.GroupTime == gt) return s;
            s = Load(pt, gt);
            _snapshot = s;
            return s;
        }
    }

    private Snapshot Load(DateTime pt, DateTime gt)
    {
        var users = new Dictionary<uint, (string, uint)>();
        foreach (var f in Lines(passwdPath))
            if (f.Length >= 4 && uint.TryParse(f[2], out uint uid) && uint.TryParse(f[3], out uint gid)) users.TryAdd(uid, (f[0], gid));
        var names = new Dictionary<uint, string>();
        var ids = new Dictionary<string, uint>(StringComparer.Ordinal);
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var f in Lines(groupPath))
        {
            if (f.Length < 3 || !uint.TryParse(f[2], out uint gid)) continue;
            names.TryAdd(gid, f[0]);
            ids.TryAdd(f[0], gid);
            members[f[0]] = f.Length >= 4 ? [.. f[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : [];
        }
        return new Snapshot(pt, gt, users, names, ids, members);
    }

    private static IEnumerable<string[]> Lines(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); } catch (IOException) { yield break; } catch (UnauthorizedAccessException) { yield break; }
        foreach (var line in lines)
            if (line.Length > 0 && line[0] != '#') yield return line.Split(':');
    }

    private static DateTime SafeTime(string path)
    {
        try { return File.GetLastWriteTimeUtc(path); } catch (IOException) { return default; }
    }
}
