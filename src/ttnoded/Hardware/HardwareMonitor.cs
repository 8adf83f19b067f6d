using System.Collections.Concurrent;
using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>What changed between two probes.</summary>
public enum CardChangeKind
{
    /// <summary>The card is gone from the PCI bus (or its /dev node lost its sysfs twin).</summary>
    Vanished,
    /// <summary>A vanished card is back.</summary>
    Returned,
    /// <summary>tt_heartbeat stopped changing.</summary>
    HeartbeatStopped,
    /// <summary>tt_heartbeat changes again.</summary>
    HeartbeatResumed,
}

/// <summary>One card change, with a one-line reason suitable for failing the jobs on that card.</summary>
/// <param name="Identity">Card identity (serial@BDF).</param>
/// <param name="Kind">What happened.</param>
/// <param name="Reason">One line for the operator and for the failed job.</param>
public sealed record CardChange(string Identity, CardChangeKind Kind, string Reason);

/// <summary>
/// Entry point of the hardware subsystem. Reads everything under the sysroot (default "/"): discovery,
/// telemetry, host checks; remembers what it saw so a card that vanishes is reported missing (node
/// degraded, <see cref="Changed"/> raised so the job runner fails its jobs) and usable again when it comes
/// back; judges heartbeat liveness across reads ≥ 1 s apart; hands out exclusive card locks.
/// Thread-safe. Callers that must never block use <see cref="GetSnapshot"/>, which falls back to the last
/// snapshot when a probe is stuck.
/// </summary>
public sealed class HardwareMonitor
{
    private readonly Sysroot _root;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<int, byte> _ownPids = new();
    private readonly Dictionary<string, (long Value, DateTimeOffset At, bool? Alive)> _heartbeats = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CardInfo> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _missingSince = new(StringComparer.Ordinal);
    private volatile NodeHardwareSnapshot? _current;
    private Task<NodeHardwareSnapshot>? _inFlight;
    private DateTimeOffset _inFlightSince;

    /// <summary>Creates the monitor; nothing is read until the first probe.</summary>
    /// <param name="sysroot">Root to read /sys, /proc and /dev under ("/" on a real node).</param>
    /// <param name="lockDirectory">Directory for card lock files (e.g. /run/ttnoded/locks).</param>
    /// <param name="options">Check thresholds.</param>
    /// <param name="time">Clock (tests pass a fake one).</param>
    public HardwareMonitor(string sysroot, string lockDirectory, HardwareOptions? options = null, TimeProvider? time = null)
    {
        _root = new Sysroot(sysroot);
        _time = time ?? TimeProvider.System;
        Options = options ?? new HardwareOptions();
        Locks = new CardLockManager(lockDirectory);
        RegisterOwnProcess(Environment.ProcessId);
    }

    /// <summary>The root everything is read under.</summary>
    public string Sysroot => _root.Root;

    /// <summary>Check thresholds.</summary>
    public HardwareOptions Options { get; }

    /// <summary>Card locks.</summary>
    public CardLockManager Locks { get; }

    /// <summary>Raised after a probe that found cards vanished/returned or heartbeats stopped/resumed.</summary>
    public event Action<IReadOnlyList<CardChange>>? Changed;

    /// <summary>The last snapshot (probes once if there is none yet).</summary>
    public NodeHardwareSnapshot Current => _current ?? Probe();

    /// <summary>A process ttnoded started (a job): holding a card is not "foreign".</summary>
    public void RegisterOwnProcess(int pid) => _ownPids[pid] = 0;

    /// <summary>Forget a process registered with <see cref="RegisterOwnProcess"/>.</summary>
    public void UnregisterOwnProcess(int pid) => _ownPids.TryRemove(pid, out _);

    /// <summary>Re-reads the hardware now (no timeout).</summary>
    public void Refresh() => Probe();

    /// <summary>Reads the hardware now, updates <see cref="Current"/>, raises <see cref="Changed"/>, returns the snapshot.</summary>
    public NodeHardwareSnapshot Probe()
    {
        NodeHardwareSnapshot snapshot;
        List<CardChange> changes;
        lock (_gate)
        {
            (snapshot, changes) = ProbeLocked();
            _current = snapshot;
        }
        if (changes.Count > 0)
        {
            foreach (var handler in Changed?.GetInvocationList() ?? [])
            {
                try { ((Action<IReadOnlyList<CardChange>>)handler)(changes); }
                catch (Exception) { /* a subscriber's failure must not break monitoring */ }
            }
        }
        return snapshot;
    }

    /// <summary>
    /// A snapshot no older than <paramref name="maxAge"/>, probing if needed, but never waiting longer than
    /// <see cref="HardwareOptions.ProbeTimeout"/>: a stuck probe yields the previous snapshot marked degraded.
    /// </summary>
    public NodeHardwareSnapshot GetSnapshot(TimeSpan maxAge)
    {
        var cur = _current;
        if (cur is not null && _time.GetUtcNow() - cur.ProbedAt <= maxAge) return cur;
        Task<NodeHardwareSnapshot> task;
        lock (_inFlightGate)
        {
            if (_inFlight is null || _inFlight.IsCompleted)
            {
                _inFlight = Task.Run(Probe);
                _inFlightSince = _time.GetUtcNow();
            }
            task = _inFlight;
        }
        string problem;
        try
        {
            if (task.Wait(Options.ProbeTimeout)) return task.Result;
            problem = $"hardware probe stuck for {(_time.GetUtcNow() - _inFlightSince).TotalSeconds:0} s (sysfs not answering); showing the last reading";
        }
        catch (AggregateException e)
        {
            // A bug or an unexpected I/O error must not take the API down: report it, keep the last reading.
            problem = $"hardware probe failed: {e.InnerException?.Message ?? e.Message}; showing the last reading";
        }
        var stale = _current ?? new NodeHardwareSnapshot(_time.GetUtcNow(), _root.Root, null, [], [], []);
        return stale with { Reasons = [.. stale.Reasons, problem] };
    }

    private readonly object _inFlightGate = new();

    /// <summary>Takes the card for a job if it is usable and free; the reason says why not otherwise.</summary>
    public bool TryLockCard(string identity, string owner, out CardLease? lease, out string? reason)
    {
        lease = null;
        var card = Current.Card(identity);
        if (card is null) { reason = $"no card {identity}"; return false; }
        if (card.State is not (CardState.Usable or CardState.Locked))
        {
            reason = $"card {identity} is {HardwarePrometheus.Wire(card.State)}: {card.StateReason}";
            return false;
        }
        lease = Locks.TryAcquire(identity, owner);
        reason = lease is null ? $"card {identity} is locked by {Locks.OwnerOf(identity) ?? "another holder"}" : null;
        return lease is not null;
    }

    /// <summary>Evaluates a model's firmware requirement against the current snapshot.</summary>
    public FirmwarePolicyResult EvaluateFirmware(FirmwareRequirement requirement, IReadOnlyCollection<string>? cardIdentities = null) =>
        FirmwarePolicy.Evaluate(requirement, Current, cardIdentities, Options);

    private (NodeHardwareSnapshot, List<CardChange>) ProbeLocked()
    {
        var now = _time.GetUtcNow();
        var host = HostFacts.Read(_root);
        DriverVersion? driver = DriverVersion.TryParse(host.DriverVersionText, out var d) ? d : null;
        var scanned = CardDiscovery.Scan(_root, driver, pid => _ownPids.ContainsKey(pid));
        var changes = new List<CardChange>();
        var reasons = new List<string>();

        var result = new List<ScannedCard>();
        var presentIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in scanned)
        {
            var info = s.Info;
            if (info.State == CardState.Usable || info.State == CardState.Unbound)
            {
                presentIds.Add(info.Identity);
                _firstSeen.TryAdd(info.Identity, now);
                if (_missingSince.Remove(info.Identity))
                    changes.Add(new CardChange(info.Identity, CardChangeKind.Returned, $"card {info.Identity} is back on the PCI bus"));
            }
            if (info.State == CardState.Usable) info = ApplyLiveness(info, now, changes);
            if (info.State == CardState.Usable) info = ApplyUse(info);
            // Remember cards by identity to notice them vanish; a card without a published serial has no stable identity yet.
            if (info.State is not (CardState.Missing or CardState.Unbound) && info.Serial is not null) _known[info.Identity] = info;
            result.Add(s with { Info = info });
        }

        // Cards seen before and gone now: keep them listed as missing. An orphan /dev node with the same ordinal
        // is then redundant.
        var presentBdfs = result.Where(r => r.Info.State != CardState.Missing)
            .GroupBy(r => r.Info.Bdf, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Any(r => r.Info.Serial is not null), StringComparer.Ordinal);
        foreach (var (id, last) in _known.ToList())
        {
            if (presentIds.Contains(id)) continue;
            if (presentBdfs.TryGetValue(last.Bdf, out bool otherHasSerial))
            {
                // Same slot, another board (its own serial): forget the old one. Same slot without a readable serial
                // (a reset, or a removal caught half-way): keep remembering it so a later disappearance is reported.
                if (otherHasSerial) { _known.Remove(id); _missingSince.Remove(id); }
                continue;
            }
            bool first = _missingSince.TryAdd(id, now);
            var since = _missingSince[id];
            string why = $"card {id} vanished from the PCI bus at {since:u}";
            if (first) changes.Add(new CardChange(id, CardChangeKind.Vanished, why));
            result.RemoveAll(r => r.Info.State == CardState.Missing && r.Info.Identity.StartsWith("unknown@", StringComparison.Ordinal) && r.Info.Index == last.Index);
            var gone = last with
            {
                State = CardState.Missing, StateReason = why, Holders = [], LockedBy = Locks.OwnerOf(id),
                Telemetry = CardDiscovery.Placeholder(null, id, last.Bdf, null).Telemetry,   // no stale readings
            };
            result.Add(new ScannedCard(gone, false, why));
        }

        // Several PCI functions with one board id (p300 with both chips PCIe-visible, §9): each function is one chip.
        foreach (var g in result.Where(r => r.Info.Serial is not null && r.Info.State is not (CardState.Missing or CardState.Unbound))
                     .GroupBy(r => r.Info.Serial).Where(g => g.Count() > 1).ToList())
            foreach (var r in g.ToList())
                result[result.IndexOf(r)] = r with { Info = r.Info with { Chips = 1, MmioChips = 1, RemoteChips = 0 } };

        var checks = HostChecks.Run(new CheckContext(host, result, Options, now, _firstSeen));
        foreach (var r in result)
            if (r.Info.State is CardState.Missing or CardState.HeartbeatStopped or CardState.NotReady or CardState.Unbound)
                reasons.Add($"{(r.Info.Index is int n ? $"card {n}" : r.Info.Identity)}: {r.Info.StateReason}");
        foreach (var c in checks.Where(c => c.Status == CheckStatus.Fail))
            reasons.Add($"check {c.Name} failed: {c.Observed}");

        var cards = result.Select(r => r.Info).OrderBy(c => c.Index ?? int.MaxValue).ThenBy(c => c.Bdf, StringComparer.Ordinal).ToList();
        return (new NodeHardwareSnapshot(now, _root.Root, host.DriverVersionText, cards, checks, reasons), changes);
    }

    /// <summary>Heartbeat must change between reads ≥ HeartbeatMinInterval apart; any change proves liveness.</summary>
    private CardInfo ApplyLiveness(CardInfo info, DateTimeOffset now, List<CardChange> changes)
    {
        var t = info.Telemetry;
        if (t.NotYetAvailable.Contains("tt_serial"))
            return info with { State = CardState.NotReady, StateReason = "firmware telemetry not published yet (can take ~2 min after boot)" };
        if (t.Heartbeat is not long hb) return info;
        bool? alive = null;
        if (_heartbeats.TryGetValue(info.Identity, out var prev))
        {
            alive = prev.Alive;
            if (hb != prev.Value) { alive = true; _heartbeats[info.Identity] = (hb, now, true); }
            else if (now - prev.At >= Options.HeartbeatMinInterval) { alive = false; _heartbeats[info.Identity] = (hb, now, false); }
            if (prev.Alive != false && alive == false)
                changes.Add(new CardChange(info.Identity, CardChangeKind.HeartbeatStopped, $"card {info.Identity}: firmware heartbeat stopped at {hb}"));
            if (prev.Alive == false && alive == true)
                changes.Add(new CardChange(info.Identity, CardChangeKind.HeartbeatResumed, $"card {info.Identity}: firmware heartbeat resumed"));
        }
        else _heartbeats[info.Identity] = (hb, now, null);
        info = info with { Telemetry = t with { HeartbeatAlive = alive } };
        return alive == false
            ? info with { State = CardState.HeartbeatStopped, StateReason = $"firmware heartbeat stuck at {hb}" }
            : info;
    }

    private CardInfo ApplyUse(CardInfo info)
    {
        var owner = Locks.OwnerOf(info.Identity);
        if (owner is not null) return info with { State = CardState.Locked, StateReason = $"locked by {owner}", LockedBy = owner };
        var foreign = info.Holders.FirstOrDefault(h => h.Foreign);
        if (foreign is not null) return info with { State = CardState.Busy, StateReason = $"held by pid {foreign.Pid} ({foreign.Command})" };
        return info;
    }
}
