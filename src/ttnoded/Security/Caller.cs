namespace Ttnoded.Security;

/// <summary>Who is on the other end of a request, as SO_PEERCRED says (never anything from the payload).</summary>
public sealed record Caller(int Pid, uint Uid, uint Gid, string UserName, string GroupName, bool IsAdmin)
{
    public bool IsRoot => Uid == 0;
}
