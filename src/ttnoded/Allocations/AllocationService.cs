using System.Globalization;
using TtProtocol.Hardware;
using TtProtocol.Jobs;
using Ttnoded.Api;
using Ttnoded.Hardware;
using Ttnoded.Security;

namespace Ttnoded.Allocations;

/// <summary>
/// Reserves cards for a user or project. Exclusive allocations own their cards alone; shared ones may overlap other
/// shared ones. Only root and the admin group manage allocations; owners (and project members) may run jobs on them.
/// </summary>
public sealed class AllocationService(AllocationStore store, HardwareMonitor hardware, UserDirectory users)
{
    private readonly Lock _gate = new();

    public List<AllocationInfo> List(Caller caller)
    {
        var all = store.Active(DateTimeOffset.UtcNow);
        return caller.IsAdmin ? all : all.Where(a => MayUse(caller, a)).ToList();
    }

    public AllocationInfo? Get(string id) => store.Active(DateTimeOffset.UtcNow).FirstOrDefault(a => a.Id == id);

    /// <summary>True when the caller may run jobs on the allocation.</summary>
    public bool MayUse(Caller caller, AllocationInfo a) =>
        caller.IsAdmin
        || (a.User is not null && a.User == caller.UserName)
        || (a.Project is not null && users.IsMember(caller.Uid, caller.Gid, a.Project));

    public AllocationInfo Create(Caller caller, AllocationRequest req)
    {
        if (!caller.IsAdmin) throw ApiException.Forbidden("only root and the admin group may create allocations");
        if ((req.User is null) == (req.Project is null)) throw ApiException.BadRequest("give exactly one of user or project", "user");
        if ((req.Cards is null || req.Cards.Length == 0) == (req.Count is null))
            throw ApiException.BadRequest("give either cards (indices, serials or identities) or count", "cards");
        if (req.Count is <= 0) throw ApiException.BadRequest($"count must be at least 1, got {req.Count}", "count");
        if (req.ExpiresAt is { } exp && exp <= DateTimeOffset.UtcNow) throw ApiException.BadRequest("expiresAt is in the past", "expiresAt");
        if (req.User is not null && !users.Exists(req.User)) throw ApiException.BadRequest($"no such user '{req.User}'", "user");
        if (req.Project is not null && users.GroupId(req.Project) is null) throw ApiException.BadRequest($"no such group '{req.Project}' for project", "project");

        var snapshot = hardware.GetSnapshot(TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            var active = store.Active(DateTimeOffset.UtcNow);
            bool Available(CardInfo c) => c.State is CardState.Usable or CardState.Locked or CardState.NotReady
                && !active.Any(a => a.Cards.Contains(c.Identity) && (a.Exclusive || req.Exclusive));
            List<string> cards;
            if (req.Cards is { Length: > 0 })
            {
                cards = [];
                foreach (var r in req.Cards)
                {
                    var card = Resolve(snapshot, r) ?? throw ApiException.BadRequest($"no card '{r}' on this node (use an index, serial or identity)", "cards");
                    if (!Available(card)) throw ApiException.Conflict($"card '{r}' ({card.Identity}) is already allocated or not usable");
                    if (!cards.Contains(card.Identity)) cards.Add(card.Identity);
                }
            }
            else
            {
                cards = snapshot.PresentCards.Where(Available).Take(req.Count!.Value).Select(c => c.Identity).ToList();
                if (cards.Count < req.Count) throw ApiException.Conflict($"only {cards.Count} free cards, {req.Count} requested");
            }
            var alloc = new AllocationInfo
            {
                Id = "alloc-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)),
                Cards = [.. cards], User = req.User, Project = req.Project, Exclusive = req.Exclusive,
                CreatedAt = DateTimeOffset.UtcNow, ExpiresAt = req.ExpiresAt, CreatedBy = caller.UserName,
            };
            store.Insert(alloc);
            return alloc;
        }
    }

    public void Delete(Caller caller, string id)
    {
        if (!caller.IsAdmin) throw ApiException.Forbidden("only root and the admin group may remove allocations");
        if (!store.Delete(id)) throw ApiException.NotFound($"no allocation '{id}'");
    }

    private static CardInfo? Resolve(NodeHardwareSnapshot s, string reference)
    {
        if (int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return s.PresentCards.FirstOrDefault(c => c.Index == index);
        return s.PresentCards.FirstOrDefault(c => c.Identity == reference || c.Serial == reference || c.Bdf == reference);
    }
}
