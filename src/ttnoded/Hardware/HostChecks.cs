using System.Globalization;
using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>What the checks look at: host facts, the cards (with the monitor's state applied) and time.</summary>
internal sealed record CheckContext(
    HostFacts Host, IReadOnlyList<ScannedCard> Cards, HardwareOptions Options,
    DateTimeOffset Now, IReadOnlyDictionary<string, DateTimeOffset> FirstSeen);

/// <summary>
/// The host checks of `ttctl node check`, each ok / warn / fail with the observed value and a one-line fix.
/// Rules follow tenstorrent-hardware.md §3.3 (hugepages/IOMMU), §4.3 (firmware), §2.5 (holders).
/// </summary>
internal static class HostChecks
{
    public const string Driver = "driver", Cards = "cards", Iommu = "iommu", Hugepages = "hugepages",
        HugepagesMount = "hugepages-mount", Memlock = "memlock", FirmwareSame = "firmware-consistency",
        FirmwareMinimum = "firmware-minimum", Holders = "holders", Telemetry = "telemetry",
        Heartbeat = "heartbeat", Thermal = "thermal", PcieLink = "pcie-link";

    private const long GiB = 1L << 30;

    public static List<HostCheckResult> Run(CheckContext c) =>
    [
        CheckDriver(c), CheckCards(c), CheckIommu(c), CheckHugepages(c), CheckHugepagesMount(c), CheckMemlock(c),
        CheckFirmwareSame(c), CheckFirmwareMinimum(c), CheckHolders(c), CheckTelemetry(c), CheckHeartbeat(c),
        CheckThermal(c), CheckPcieLink(c),
    ];

    private static HostCheckResult Ok(string name, string observed) => new(name, CheckStatus.Ok, observed, "");
    private static HostCheckResult Warn(string name, string observed, string fix) => new(name, CheckStatus.Warn, observed, fix);
    private static HostCheckResult Fail(string name, string observed, string fix) => new(name, CheckStatus.Fail, observed, fix);

    /// <summary>Cards with a bound PCI function (the ones that need hugepages, firmware, …).</summary>
    private static IEnumerable<CardInfo> Present(CheckContext c) =>
        c.Cards.Select(s => s.Info).Where(i => i.State is not (CardState.Missing or CardState.Unbound));

    private static string Label(CardInfo i) => i.Index is int n ? $"card {n} ({i.Bdf})" : i.Identity;

    private static HostCheckResult CheckDriver(CheckContext c)
    {
        const string install = "install tt-kmd (dkms) from github.com/tenstorrent/tt-kmd and `modprobe tenstorrent`";
        if (!c.Host.DriverLoaded) return Fail(Driver, "tenstorrent module not loaded (/sys/module/tenstorrent missing)", install);
        if (!DriverVersion.TryParse(c.Host.DriverVersionText, out var v))
            return Warn(Driver, $"loaded, version unreadable ('{c.Host.DriverVersionText}')", "reinstall tt-kmd so /sys/module/tenstorrent/version is present");
        if (v < c.Options.MinDriver)
            return Fail(Driver, $"tt-kmd {c.Host.DriverVersionText} < minimum {c.Options.MinDriver}", $"upgrade tt-kmd to ≥ {c.Options.RecommendedDriver} and reboot (or rmmod/modprobe tenstorrent)");
        if (v < c.Options.RecommendedDriver)
            return Warn(Driver, $"tt-kmd {c.Host.DriverVersionText} < recommended {c.Options.RecommendedDriver}", $"upgrade tt-kmd to ≥ {c.Options.RecommendedDriver}");
        return Ok(Driver, $"tt-kmd {c.Host.DriverVersionText}");
    }

    private static HostCheckResult CheckCards(CheckContext c)
    {
        var all = c.Cards.Select(s => s.Info).ToList();
        var missing = all.Where(i => i.State == CardState.Missing).ToList();
        var unbound = all.Where(i => i.State == CardState.Unbound).ToList();
        int present = all.Count - missing.Count - unbound.Count;
        if (present == 0 && missing.Count == 0)
            return Fail(Cards, unbound.Count == 0 ? "no Tenstorrent PCI device (vendor 0x1e52)" : $"{unbound.Count} Tenstorrent function(s), none bound: {unbound[0].StateReason}",
                "check `lspci -d 1e52:` and `dmesg | grep tenstorrent`; reseat the card or rebind the driver");
        if (missing.Count > 0)
            return Fail(Cards, $"{present} present, {missing.Count} missing: {missing[0].StateReason}",
                "check `lspci -d 1e52:` and `dmesg | grep tenstorrent` (link down / AER); reset or power-cycle the node");
        if (unbound.Count > 0)
            return Warn(Cards, $"{present} usable, {unbound.Count} not usable: {unbound[0].StateReason}",
                "bind the function to tenstorrent (echo BDF > /sys/bus/pci/drivers/tenstorrent/bind) or remove the unsupported card");
        return Ok(Cards, $"{present} PCI function(s), every one bound with its /dev/tenstorrent node");
    }

    private static bool Translated(string mode) => mode.StartsWith("DMA", StringComparison.Ordinal);

    private static HostCheckResult CheckIommu(CheckContext c)
    {
        var cards = Present(c).ToList();
        if (cards.Count == 0) return Ok(Iommu, "no cards");
        var modes = cards.GroupBy(i => i.IommuMode).Select(g => $"{g.Key}×{g.Count()}").ToList();
        var boot = (c.Host.Cmdline ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(a => a.StartsWith("iommu=", StringComparison.Ordinal) || a.StartsWith("intel_iommu=", StringComparison.Ordinal)
                        || a.StartsWith("amd_iommu=", StringComparison.Ordinal)).ToList();
        string observed = $"iommu_group/type: {string.Join(", ", modes)}" + (c.Host.IommuUnitsPresent ? "" : "; no IOMMU units in /sys/class/iommu")
                          + (boot.Count > 0 ? $"; cmdline {string.Join(" ", boot)}" : "");
        var blocked = cards.FirstOrDefault(i => i.IommuMode == "blocked");
        if (blocked is not null)
            return Fail(Iommu, $"{Label(blocked)}: IOMMU domain 'blocked' (no DMA possible); {observed}",
                "boot with iommu=pt (tt-system-tools default) or intel_iommu=on/amd_iommu=on, not a blocking domain");
        if (modes.Count > 1)
            return Warn(Iommu, $"mixed modes: {observed}", "use one IOMMU mode for all cards (iommu=pt on the kernel command line)");
        return Ok(Iommu, observed);
    }

    private static HostCheckResult CheckHugepages(CheckContext c)
    {
        var needing = Present(c).Where(i => !Translated(i.IommuMode)).ToList();
        if (needing.Count == 0) return Ok(Hugepages, "not required: every card is behind IOMMU DMA translation (or no cards)");
        int per = c.Options.HugepagesPerDevice;
        long total = c.Host.Hugepages1G ?? 0;
        string observed = $"1G nr_hugepages={total} free={c.Host.FreeHugepages1G?.ToString(CultureInfo.InvariantCulture) ?? "?"} for {needing.Count} device(s)";
        const string fix = "install tenstorrent-tools (tenstorrent-hugepages.service) or boot with hugepagesz=1G hugepages=N";
        if (total < needing.Count) return Fail(Hugepages, $"{observed}; UMD needs ≥ {needing.Count}", fix);
        if (total < (long)per * needing.Count) return Warn(Hugepages, $"{observed}; {per} per device (= {per * needing.Count}) is the provisioned amount", fix);
        foreach (var g in needing.GroupBy(i => i.NumaNode ?? 0))
        {
            long onNode = c.Host.Hugepages1GPerNode.TryGetValue(g.Key, out var p) ? p : (c.Host.Hugepages1GPerNode.Count == 0 ? total : 0);
            if (onNode < (long)per * g.Count())
                return Warn(Hugepages, $"{observed}; NUMA node {g.Key} has {onNode} for {g.Count()} device(s) (want {per * g.Count()})",
                    "allocate 1G pages per NUMA node: /sys/devices/system/node/nodeN/hugepages/hugepages-1048576kB/nr_hugepages");
        }
        return Ok(Hugepages, observed);
    }

    private static HostCheckResult CheckHugepagesMount(CheckContext c)
    {
        if (!Present(c).Any(i => !Translated(i.IommuMode))) return Ok(HugepagesMount, "not required: IOMMU DMA translation (or no cards)");
        const string fix = "mount -t hugetlbfs -o pagesize=1G,mode=0777 hugetlbfs /dev/hugepages-1G (tenstorrent-tools ships dev-hugepages\\x2d1G.mount)";
        var m = c.Host.HugetlbfsMounts.FirstOrDefault(x => x.MountPoint == "/dev/hugepages-1G" && x.PageSizeBytes == GiB);
        if (m is null)
        {
            var elsewhere = c.Host.HugetlbfsMounts.FirstOrDefault(x => x.PageSizeBytes == GiB);
            return Fail(HugepagesMount, elsewhere is null ? "no hugetlbfs pagesize=1024M mount in /proc/mounts"
                : $"1G hugetlbfs mounted at {elsewhere.MountPoint}, UMD only uses /dev/hugepages-1G", fix);
        }
        var mode = m.Option("mode");
        if (mode is null || !mode.TrimStart('0').EndsWith("777", StringComparison.Ordinal) && mode.TrimStart('0') != "1777")
            return Warn(HugepagesMount, $"/dev/hugepages-1G pagesize={m.Option("pagesize")} mode={mode ?? "(default 0755)"}: jobs not running as root cannot create backing files", fix);
        return Ok(HugepagesMount, $"/dev/hugepages-1G hugetlbfs pagesize={m.Option("pagesize")} mode={mode}");
    }

    private static HostCheckResult CheckMemlock(CheckContext c)
    {
        int devices = Math.Max(1, Present(c).Count());
        long need = (long)c.Options.HugepagesPerDevice * devices * GiB;   // host memory channels the runtime pins
        var l = c.Host.Memlock;
        const string fix = "set LimitMEMLOCK=infinity in ttnoded.service (or 'memlock unlimited' in /etc/security/limits.d)";
        if (l is null) return Warn(Memlock, "RLIMIT_MEMLOCK unknown (/proc/self/limits unreadable)", fix);
        string Show(long? v) => v is null ? "unlimited" : $"{v.Value / (1 << 20)} MiB";
        string observed = $"memlock soft={Show(l.Soft)} hard={Show(l.Hard)}, want ≥ {need / GiB} GiB";
        if (l.Soft is null || l.Soft >= need) return Ok(Memlock, observed);
        if (l.Hard is null || l.Hard >= need) return Warn(Memlock, observed + " (soft limit low; raisable)", fix);
        return Fail(Memlock, observed, fix);
    }

    private static HostCheckResult CheckFirmwareSame(CheckContext c)
    {
        var cards = Present(c).ToList();
        var known = cards.Where(i => FirmwareVersion.TryParse(i.Firmware.Bundle, out var v) && !v.IsUnset).ToList();
        var bundles = known.GroupBy(i => i.Firmware.Bundle!).ToList();
        const string fix = "flash every card with the same bundle: tt-flash --fw-tar fw_pack-<ver>.fwbundle, then reset";
        if (bundles.Count > 1)
            return Fail(FirmwareSame, "bundles differ: " + string.Join(", ", bundles.Select(g => $"{g.Key} on {string.Join("/", g.Select(Label))}")), fix);
        int unknown = cards.Count - known.Count;
        if (unknown > 0)
            return Warn(FirmwareSame, $"{unknown} card(s) have no readable bundle (not yet published or unset)" + (bundles.Count == 1 ? $"; others {bundles[0].Key}" : ""),
                "wait ~2 min after boot for telemetry; if it stays unset, reflash with tt-flash");
        return Ok(FirmwareSame, bundles.Count == 1 ? $"{bundles[0].Key} on all {cards.Count} card(s)" : "no cards");
    }

    internal static FirmwareVersion MinimumFor(string arch, HardwareOptions o) =>
        arch == "blackhole" ? o.MinBlackholeBundle : o.MinWormholeBundle;

    private static HostCheckResult CheckFirmwareMinimum(CheckContext c)
    {
        const string fix = "update firmware: tt-flash --fw-tar fw_pack-<latest>.fwbundle (github.com/tenstorrent/tt-firmware), then reset";
        var notes = new List<string>();
        HostCheckResult? warn = null;
        foreach (var i in Present(c))
        {
            var min = MinimumFor(i.Arch, c.Options);
            if (!FirmwareVersion.TryParse(i.Firmware.Bundle, out var v) || v.IsUnset)
            {
                warn ??= Warn(FirmwareMinimum, $"{Label(i)}: bundle {(i.Firmware.Bundle is null ? "not yet published" : $"unset ({i.Firmware.Bundle})")}",
                    "wait ~2 min after boot; if it stays unknown, reflash with tt-flash");
                continue;
            }
            if (v < min)
                return Fail(FirmwareMinimum, v.IsLegacy
                    ? $"{Label(i)}: legacy bundle {v} is older than every 18.x ({i.Arch} minimum {min})"
                    : $"{Label(i)}: bundle {v} < {i.Arch} minimum {min}", fix);
            if (v > c.Options.LatestTestedBundle) notes.Add($"{Label(i)}: {v} newer than latest tested {c.Options.LatestTestedBundle}");
        }
        if (warn is not null) return warn;
        if (notes.Count > 0) return Warn(FirmwareMinimum, notes[0], "fine to run; report issues with the bundle version");
        return Ok(FirmwareMinimum, $"≥ minimum (wormhole {c.Options.MinWormholeBundle}, blackhole {c.Options.MinBlackholeBundle})");
    }

    private static HostCheckResult CheckHolders(CheckContext c)
    {
        var cards = c.Cards.Where(s => s.Info.State is not (CardState.Missing or CardState.Unbound)).ToList();
        if (cards.Count == 0) return Ok(Holders, "no cards");
        var held = cards.Where(s => s.Info.Holders.Any(h => h.Foreign)).Select(s => s.Info).ToList();
        const string fix = "stop the process (see `ttctl card list`) or let ttnoded run the workload";
        if (held.Count > 0)
        {
            var h = held[0].Holders.First(x => x.Foreign);
            string observed = $"{held.Count}/{cards.Count} card(s) held by other processes, e.g. {Label(held[0])}: pid {h.Pid} {h.Command}";
            return held.Count == cards.Count ? Fail(Holders, observed, fix) : Warn(Holders, observed, fix);
        }
        int blind = cards.Count(s => !s.HasPidsFile);
        if (blind > 0)
            return Warn(Holders, $"{blind} card(s) without /proc/driver/tenstorrent/N/pids (tt-kmd < 2.5.0): holders unknown", "upgrade tt-kmd to ≥ 2.5.0");
        return Ok(Holders, "no foreign process holds a card");
    }

    private static HostCheckResult CheckTelemetry(CheckContext c)
    {
        HostCheckResult? warn = null;
        foreach (var i in Present(c))
        {
            if (i.Telemetry.NotYetAvailable.Count == 0) continue;
            var since = c.FirstSeen.TryGetValue(i.Identity, out var t) ? c.Now - t : TimeSpan.Zero;
            string observed = $"{Label(i)}: not yet available: {string.Join(", ", i.Telemetry.NotYetAvailable)}";
            if (since > c.Options.TelemetryGrace)
                return Fail(Telemetry, $"{observed} (still missing after {since.TotalSeconds:0} s)",
                    "check `dmesg | grep tenstorrent` for firmware errors; reset the card (tt-smi -r) or reflash");
            warn ??= Warn(Telemetry, observed, "firmware publishes telemetry up to ~2 min after boot; wait and re-check");
        }
        return warn ?? Ok(Telemetry, "all telemetry attributes published");
    }

    private static HostCheckResult CheckHeartbeat(CheckContext c)
    {
        HostCheckResult? warn = null;
        int alive = 0, pending = 0;
        foreach (var i in Present(c))
        {
            var t = i.Telemetry;
            if (t.HeartbeatAlive == false)
                return Fail(Heartbeat, $"{Label(i)}: tt_heartbeat stuck at {t.Heartbeat} across reads ≥ {c.Options.HeartbeatMinInterval.TotalSeconds:0} s apart",
                    "firmware hung: reset the card (tt-smi -r) or power-cycle the node");
            if (t.Heartbeat is null)
                warn ??= Warn(Heartbeat, $"{Label(i)}: tt_heartbeat not published (needs tt-kmd ≥ 2.7 and running firmware); liveness unknown",
                    "upgrade tt-kmd to ≥ 2.7.0, or wait for the firmware to publish telemetry");
            else if (t.HeartbeatAlive == true) alive++;
            else pending++;
        }
        return warn ?? Ok(Heartbeat, pending == 0 ? $"{alive} card(s) alive" : $"{alive} alive, {pending} awaiting a second read ≥ 1 s later");
    }

    private static HostCheckResult CheckThermal(CheckContext c)
    {
        HostCheckResult? warn = null;
        var seen = new List<string>();
        foreach (var i in Present(c))
        {
            var t = i.Telemetry;
            if (t.TemperatureCelsius is double temp && t.TemperatureLimitCelsius is double max)
            {
                seen.Add($"{temp:0.#}/{max:0.#} °C");
                if (temp >= max)
                    return Fail(Thermal, $"{Label(i)}: {temp:0.0} °C ≥ throttle limit {max:0.0} °C", "check airflow/fans and ambient temperature; reduce load");
                if (temp >= max - c.Options.ThermalMarginCelsius)
                    warn ??= Warn(Thermal, $"{Label(i)}: {temp:0.0} °C within {c.Options.ThermalMarginCelsius} °C of limit {max:0.0} °C", "check airflow/fans");
            }
            if (t.ThermalTripCount is > 0)
                warn ??= Warn(Thermal, $"{Label(i)}: {t.ThermalTripCount} critical-temperature shutdown(s) since power cycle", "check cooling; power-cycle to clear the count");
        }
        return warn ?? Ok(Thermal, seen.Count == 0 ? "temperature not yet available" : string.Join(", ", seen));
    }

    private static HostCheckResult CheckPcieLink(CheckContext c)
    {
        HostCheckResult? warn = null;
        foreach (var i in Present(c))
        {
            var l = i.Link;
            if (l.CurrentWidth == 0)
                return Fail(PcieLink, $"{Label(i)}: link down (width 0)", "reseat the card / check the riser; see dmesg for AER errors");
            if ((l.CurrentGeneration < l.MaxGeneration) || (l.CurrentWidth < l.MaxWidth))
                warn ??= Warn(PcieLink, $"{Label(i)}: Gen{l.CurrentGeneration} x{l.CurrentWidth} of Gen{l.MaxGeneration} x{l.MaxWidth}",
                    "reseat the card in a full-width slot; check BIOS PCIe speed settings");
        }
        return warn ?? Ok(PcieLink, "every link at its maximum speed and width");
    }
}
