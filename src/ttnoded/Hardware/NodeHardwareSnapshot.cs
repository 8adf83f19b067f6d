using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>One consistent read of the node's hardware: cards, host checks and the derived health.</summary>
public sealed record NodeHardwareSnapshot(
    DateTimeOffset ProbedAt,
    string Sysroot,
    string? DriverVersion,
    IReadOnlyList<CardInfo> Cards,
    IReadOnlyList<HostCheckResult> Checks,
    IReadOnlyList<string> Reasons)
{
    /// <summary>Cards with a driver-bound PCI function (not missing, not unbound).</summary>
    public IEnumerable<CardInfo> PresentCards => Cards.Where(c => c.State is not (CardState.Missing or CardState.Unbound));

    /// <summary>Distinct boards among present cards (by serial; BDF when the serial is not yet published).</summary>
    public int Boards => PresentCards.Select(c => c.Serial ?? c.Bdf).Distinct(StringComparer.Ordinal).Count();

    /// <summary>Chips among present cards, remote (Ethernet-reached) chips included.</summary>
    public int Chips => PresentCards.Sum(c => c.Chips);

    /// <summary>Recognised system class (T3K, N150X4, P150X4…), or null.</summary>
    public string? SystemClass =>
        BoardTypes.SystemClassOf(PresentCards.GroupBy(c => c.Serial ?? c.Bdf).Select(g => g.First().BoardType)
            .GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count()));

    /// <summary>Worst check status.</summary>
    public CheckStatus Overall => Checks.Count == 0 ? CheckStatus.Ok : Checks.Max(c => c.Status);

    /// <summary>"ok" or "degraded" (a card is unusable or a check fails; see Reasons).</summary>
    public string Health => Reasons.Count == 0 ? "ok" : "degraded";

    /// <summary>The card with this identity, or null.</summary>
    public CardInfo? Card(string identity) => Cards.FirstOrDefault(c => c.Identity == identity);

    /// <summary>Wire view for GET /api/v1/node/hardware.</summary>
    public NodeHardwareInfo ToWire() =>
        new(ProbedAt, Sysroot, DriverVersion, Boards, Chips, SystemClass, Health, Reasons, Cards, Checks);

    /// <summary>Wire view for GET /api/v1/cards.</summary>
    public CardListResponse ToCardList() => new(Boards, Chips, Cards);

    /// <summary>Wire view for GET /api/v1/node/checks.</summary>
    public NodeCheckResponse ToCheckResponse() => new(Overall, Checks);
}
