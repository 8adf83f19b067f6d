using System.Globalization;
using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>One PCI function as discovery saw it, plus what the host checks need beyond the wire view.</summary>
internal sealed record ScannedCard(CardInfo Info, bool HasPidsFile, string? Problem);

/// <summary>
/// Finds every Tenstorrent PCI function (vendor 0x1e52, bound or not) under /sys/bus/pci/devices, then the
/// single tenstorrent!N class dir under it, then /dev/tenstorrent/N. The device node is identified by the
/// sysfs `dev` file (maj:min) and /sys/dev/char/maj:min → class tenstorrent; on the real root the node must
/// also be a character device with that st_rdev (fixtures hold placeholder files). /dev nodes without a
/// sysfs twin are reported as missing cards. Nothing here opens a device node.
/// </summary>
internal static class CardDiscovery
{
    public static List<ScannedCard> Scan(Sysroot root, DriverVersion? driver, Func<int, bool> isOwnPid)
    {
        var cards = new List<ScannedCard>();
        var seenOrdinals = new HashSet<int>();
        foreach (var link in Sysroot.Entries(root.Map("/sys/bus/pci/devices")).Order(StringComparer.Ordinal))
        {
            if (Sysroot.ReadHex(Path.Join(link, "vendor")) != BoardTypes.Vendor) continue;
            var pciDir = Sysroot.Resolve(link);
            if (pciDir is null) continue;
            var card = ScanFunction(root, Path.GetFileName(link), pciDir, driver, isOwnPid);
            if (card.Info.Index is int n) seenOrdinals.Add(n);
            cards.Add(card);
        }

        // /dev nodes without a sysfs twin: the card dropped off the bus (or a stale node).
        foreach (var node in Sysroot.Entries(root.Map("/dev/tenstorrent")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(node);
            if (name.Length == 0 || !name.All(char.IsAsciiDigit) || !int.TryParse(name, CultureInfo.InvariantCulture, out var n)) continue;
            if (seenOrdinals.Contains(n)) continue;
            var devPath = $"/dev/tenstorrent/{n}";
            var info = Placeholder(n, $"unknown@{devPath}", "unknown", devPath) with
            {
                State = CardState.Missing,
                StateReason = $"{devPath} exists but no PCI device has tenstorrent!{n} (card vanished or stale node)",
            };
            cards.Add(new ScannedCard(info, false, info.StateReason));
        }
        return cards;
    }

    private static ScannedCard ScanFunction(Sysroot root, string bdf, string pciDir, DriverVersion? driver, Func<int, bool> isOwnPid)
    {
        int deviceId = Sysroot.ReadHex(Path.Join(pciDir, "device")) ?? 0;
        string arch = BoardTypes.ArchOf(deviceId);
        var link = new PcieLinkInfo(
            Sysroot.ReadOrNull(Path.Join(pciDir, "current_link_speed")),
            BoardTypes.PcieGeneration(Sysroot.ReadOrNull(Path.Join(pciDir, "current_link_speed"))),
            (int?)Sysroot.ReadLong(Path.Join(pciDir, "current_link_width")),
            Sysroot.ReadOrNull(Path.Join(pciDir, "max_link_speed")),
            BoardTypes.PcieGeneration(Sysroot.ReadOrNull(Path.Join(pciDir, "max_link_speed"))),
            (int?)Sysroot.ReadLong(Path.Join(pciDir, "max_link_width")));
        long? numa = Sysroot.ReadLong(Path.Join(pciDir, "numa_node"));
        string iommu = Sysroot.ReadOrNull(Path.Join(pciDir, "iommu_group", "type")) ?? "none";

        var classDirs = Sysroot.Entries(Path.Join(pciDir, "tenstorrent"), "tenstorrent!*").Order(StringComparer.Ordinal).ToArray();
        string? classDir = classDirs.Length > 0 ? classDirs[0] : null;
        int? ordinal = classDir is not null && int.TryParse(Path.GetFileName(classDir).AsSpan("tenstorrent!".Length),
            NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : null;

        string? serial = classDir is null ? null : Sysroot.ReadOrNull(Path.Join(classDir, "tt_serial"));
        string? reported = classDir is null ? null : Sysroot.ReadOrNull(Path.Join(classDir, "tt_card_type"));
        string? asic = classDir is null ? null : Sysroot.ReadOrNull(Path.Join(classDir, "tt_asic_id"));
        // Board type comes from the board id's UPI; tt_card_type is only a fallback (never the subsystem id).
        string boardType = (BoardTypes.UpiOf(serial) is int upi ? BoardTypes.NameOf(upi) : null)
                           ?? (reported is not null && reported != "unknown" ? reported : "unknown");
        string identity = $"{serial ?? "noserial"}@{bdf}";

        string? hwmon = CardTelemetryReader.FindHwmon(pciDir);
        var telemetry = CardTelemetryReader.Read(classDir, hwmon, arch, driver);
        var firmware = CardTelemetryReader.ReadFirmware(classDir);

        string? charDev = classDir is null ? null : Sysroot.ReadOrNull(Path.Join(classDir, "dev"));
        string? devPath = ordinal is int n0 ? $"/dev/tenstorrent/{n0}" : null;
        string? problem = null;
        var state = CardState.Usable;
        if (deviceId == BoardTypes.Grayskull)
            (state, problem) = (CardState.Unbound, "Grayskull (0xfaca) is not supported by tt-kmd ≥ 2.2.0");
        else if (classDir is null)
            (state, problem) = (CardState.Unbound, $"{bdf} is not bound to the tenstorrent driver (no tenstorrent!N under it)");
        else if (classDirs.Length > 1)
            problem = $"{bdf} has {classDirs.Length} tenstorrent!N entries; expected exactly one";
        if (problem is null && classDir is not null)
            problem = CheckDeviceNode(root, classDir, charDev, devPath!);
        if (problem is not null && state == CardState.Usable) state = CardState.Missing;

        var holders = new List<CardHolder>();
        bool hasPids = false;
        if (ordinal is int n1)
        {
            var pidsFile = root.Map($"/proc/driver/tenstorrent/{n1}/pids");
            hasPids = File.Exists(pidsFile);
            foreach (var line in Sysroot.ReadLines(pidsFile).Distinct())
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    holders.Add(ReadHolder(root, pid, isOwnPid(pid)));
        }

        int chips = boardType == "unknown" ? 1 : BoardTypes.ChipsPerBoard(boardType);
        var info = new CardInfo(ordinal, identity, bdf, serial, asic, arch, $"0x{deviceId:x4}", boardType, reported,
            chips, 1, chips - 1, numa is >= 0 ? (int)numa : null, link, iommu, devPath, charDev, firmware, telemetry,
            holders, state, problem, null);
        return new ScannedCard(info, hasPids, problem);
    }

    /// <summary>Confirms /dev/tenstorrent/N belongs to this class dir; returns a problem or null.</summary>
    private static string? CheckDeviceNode(Sysroot root, string classDir, string? charDev, string devPath)
    {
        if (charDev is null) return $"{Path.GetFileName(classDir)} has no dev file";
        var node = root.Map(devPath);
        if (!File.Exists(node)) return $"{devPath} is missing (udev rule 50-tenstorrent.rules not applied?)";
        var charLink = root.Map($"/sys/dev/char/{charDev}");
        var viaChar = Sysroot.Resolve(charLink);
        if (viaChar is null || viaChar != Sysroot.Resolve(classDir))
            return $"/sys/dev/char/{charDev} does not lead to {Path.GetFileName(classDir)}";
        var subsystem = Sysroot.Resolve(Path.Join(charLink, "subsystem"));
        if (subsystem is null || !subsystem.EndsWith("/class/tenstorrent", StringComparison.Ordinal))
            return $"/sys/dev/char/{charDev}/subsystem is not class tenstorrent";
        if (root.IsRealRoot)
        {
            // Live system: the node must be the character device sysfs names. Fixtures use placeholder files.
            if (!Native.TryStat(node, out var mode, out var rdev) || (mode & Native.S_IFMT) != Native.S_IFCHR)
                return $"{devPath} is not a character device";
            var (maj, min) = Native.SplitDev(rdev);
            if ($"{maj}:{min}" != charDev) return $"{devPath} is {maj}:{min}, sysfs says {charDev}";
        }
        return null;
    }

    private static CardHolder ReadHolder(Sysroot root, int pid, bool own)
    {
        var proc = root.Map($"/proc/{pid}");
        string cmd = Sysroot.TryReadText(Path.Join(proc, "cmdline"), out var c) && c.Length > 0
            ? c.Replace('\0', ' ').Trim()
            : Sysroot.ReadOrNull(Path.Join(proc, "comm")) ?? "?";
        int? uid = null;
        foreach (var line in Sysroot.ReadLines(Path.Join(proc, "status")))
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var f = line[4..].Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 0 && int.TryParse(f[0], CultureInfo.InvariantCulture, out var u)) uid = u;
            }
        return new CardHolder(pid, cmd, uid, !own);
    }

    internal static CardInfo Placeholder(int? index, string identity, string bdf, string? devPath) =>
        new(index, identity, bdf, null, null, "unknown", "unknown", "unknown", null, 0, 0, 0, null,
            new PcieLinkInfo(null, null, null, null, null, null), "none", devPath, null,
            new CardFirmware(null, null, null, null, null, null),
            new CardTelemetry(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, []),
            [], CardState.Missing, null, null);
}
