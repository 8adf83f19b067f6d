using System.Text.Json.Serialization;

namespace TtProtocol.Hardware;

// Wire contracts of the hardware subsystem (GET /api/v1/cards, /api/v1/node/hardware, /api/v1/node/checks).
// Shared by ttnoded (writes) and ttctl (reads). Units are SI; a null telemetry value means
// "not yet available" (the firmware has not published it), never zero.

/// <summary>Outcome of one host check.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckStatus>))]
public enum CheckStatus
{
    /// <summary>The node meets the requirement.</summary>
    [JsonStringEnumMemberName("ok")] Ok = 0,
    /// <summary>Works, but degraded or short of what is provisioned normally.</summary>
    [JsonStringEnumMemberName("warn")] Warn = 1,
    /// <summary>Work must not run until this is fixed.</summary>
    [JsonStringEnumMemberName("fail")] Fail = 2,
}

/// <summary>Whether a card can take work right now.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CardState>))]
public enum CardState
{
    /// <summary>Present, bound, alive and free.</summary>
    [JsonStringEnumMemberName("usable")] Usable = 0,
    /// <summary>Locked by a ttnoded job.</summary>
    [JsonStringEnumMemberName("locked")] Locked = 1,
    /// <summary>Held open by a process that ttnoded did not start.</summary>
    [JsonStringEnumMemberName("busy")] Busy = 2,
    /// <summary>Firmware has not published its telemetry yet (up to ~2 min after boot).</summary>
    [JsonStringEnumMemberName("not-ready")] NotReady = 3,
    /// <summary>The firmware heartbeat stopped changing.</summary>
    [JsonStringEnumMemberName("heartbeat-stopped")] HeartbeatStopped = 4,
    /// <summary>The PCI function is not bound to the tenstorrent driver (no /dev node).</summary>
    [JsonStringEnumMemberName("unbound")] Unbound = 5,
    /// <summary>Seen before (or a /dev node exists) but the PCI device is gone.</summary>
    [JsonStringEnumMemberName("missing")] Missing = 6,
}

/// <summary>One host check: status, what was observed and the fix in one line.</summary>
/// <param name="Name">Stable check name, e.g. "hugepages", "firmware-minimum".</param>
/// <param name="Status">ok / warn / fail.</param>
/// <param name="Observed">The observed value, one line.</param>
/// <param name="Fix">What to do about it, one line; empty when ok.</param>
public sealed record HostCheckResult(string Name, CheckStatus Status, string Observed, string Fix);

/// <summary>PCIe link state of a card.</summary>
/// <param name="CurrentSpeed">Raw sysfs text, e.g. "16.0 GT/s PCIe".</param>
/// <param name="CurrentGeneration">PCIe generation 1..5 derived from the speed.</param>
/// <param name="CurrentWidth">Lanes.</param>
/// <param name="MaxSpeed">Raw sysfs max_link_speed.</param>
/// <param name="MaxGeneration">Generation derived from MaxSpeed.</param>
/// <param name="MaxWidth">max_link_width.</param>
public sealed record PcieLinkInfo(string? CurrentSpeed, int? CurrentGeneration, int? CurrentWidth,
    string? MaxSpeed, int? MaxGeneration, int? MaxWidth);

/// <summary>Firmware versions as the driver prints them; null = not published.</summary>
/// <param name="Bundle">tt_fw_bundle_ver (a.b.c.d).</param>
/// <param name="ChipManagement">tt_arc_fw_ver (CM/ARC firmware, Wormhole).</param>
/// <param name="M3Application">tt_m3app_fw_ver.</param>
/// <param name="M3Bootloader">tt_m3bl_fw_ver (Wormhole).</param>
/// <param name="Ethernet">tt_eth_fw_ver (Wormhole).</param>
/// <param name="TtFlash">tt_ttflash_ver (Wormhole).</param>
public sealed record CardFirmware(string? Bundle, string? ChipManagement, string? M3Application,
    string? M3Bootloader, string? Ethernet, string? TtFlash);

/// <summary>Telemetry in SI units. Null = not yet available; <see cref="NotYetAvailable"/> names those attributes.</summary>
/// <param name="TemperatureCelsius">ASIC temperature.</param>
/// <param name="TemperatureLimitCelsius">Throttle limit.</param>
/// <param name="PowerWatts">ASIC power.</param>
/// <param name="PowerLimitWatts">TDP limit.</param>
/// <param name="CurrentAmperes">Current.</param>
/// <param name="CurrentLimitAmperes">TDC limit.</param>
/// <param name="VoltageVolts">Vcore.</param>
/// <param name="VoltageLimitVolts">Max Vdd.</param>
/// <param name="FanRpm">Fan speed (Blackhole only).</param>
/// <param name="AiClockHertz">AI clock.</param>
/// <param name="AxiClockHertz">AXI clock.</param>
/// <param name="ArcClockHertz">ARC clock.</param>
/// <param name="Heartbeat">Firmware heartbeat counter.</param>
/// <param name="HeartbeatAlive">True when the counter changed between reads ≥1 s apart; null until known.</param>
/// <param name="ThermalTripCount">Critical-temperature shutdowns since power cycle (Blackhole).</param>
/// <param name="NotYetAvailable">Attributes the firmware has not published yet.</param>
public sealed record CardTelemetry(
    double? TemperatureCelsius, double? TemperatureLimitCelsius,
    double? PowerWatts, double? PowerLimitWatts,
    double? CurrentAmperes, double? CurrentLimitAmperes,
    double? VoltageVolts, double? VoltageLimitVolts,
    double? FanRpm,
    double? AiClockHertz, double? AxiClockHertz, double? ArcClockHertz,
    long? Heartbeat, bool? HeartbeatAlive, long? ThermalTripCount,
    IReadOnlyList<string> NotYetAvailable);

/// <summary>A process holding the card's /dev node open (from /proc/driver/tenstorrent/N/pids).</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Command">cmdline (or comm).</param>
/// <param name="Uid">Owner uid, when readable.</param>
/// <param name="Foreign">True when ttnoded did not start it.</param>
public sealed record CardHolder(int Pid, string Command, int? Uid, bool Foreign);

/// <summary>One Tenstorrent PCI function (a card, or one chip of a Galaxy).</summary>
/// <param name="Index">Driver ordinal N (/dev/tenstorrent/N); a path only, not an identity.</param>
/// <param name="Identity">Stable identity: board serial + BDF.</param>
/// <param name="Bdf">PCI address DDDD:BB:SS.F.</param>
/// <param name="Serial">Board id (tt_serial), 16 hex digits.</param>
/// <param name="AsicId">tt_asic_id.</param>
/// <param name="Arch">wormhole / blackhole / grayskull.</param>
/// <param name="DeviceId">PCI device id, e.g. "0x401e".</param>
/// <param name="BoardType">Board type from the board id's UPI (n150, n300, p150a…).</param>
/// <param name="ReportedCardType">tt_card_type as the driver printed it.</param>
/// <param name="Chips">Chips reached through this function (n300 = 2).</param>
/// <param name="MmioChips">PCIe-visible chips (1).</param>
/// <param name="RemoteChips">Chips reached over Ethernet through this one.</param>
/// <param name="NumaNode">NUMA node, null if unknown.</param>
/// <param name="Link">PCIe link.</param>
/// <param name="IommuMode">iommu_group/type, or "none".</param>
/// <param name="DevicePath">/dev/tenstorrent/N (path inside the real root).</param>
/// <param name="CharDevice">maj:min from sysfs.</param>
/// <param name="Firmware">Firmware versions.</param>
/// <param name="Telemetry">Telemetry.</param>
/// <param name="Holders">Processes holding the device.</param>
/// <param name="State">Whether it can take work.</param>
/// <param name="StateReason">Why it is not usable, one line.</param>
/// <param name="LockedBy">Owner of the ttnoded lock, if locked.</param>
public sealed record CardInfo(
    int? Index, string Identity, string Bdf, string? Serial, string? AsicId,
    string Arch, string DeviceId, string BoardType, string? ReportedCardType,
    int Chips, int MmioChips, int RemoteChips, int? NumaNode, PcieLinkInfo Link, string IommuMode,
    string? DevicePath, string? CharDevice, CardFirmware Firmware, CardTelemetry Telemetry,
    IReadOnlyList<CardHolder> Holders, CardState State, string? StateReason, string? LockedBy);

/// <summary>GET /api/v1/cards.</summary>
/// <param name="Boards">Distinct boards (by serial).</param>
/// <param name="Chips">Chips, remote ones included.</param>
/// <param name="Cards">One entry per PCI function.</param>
public sealed record CardListResponse(int Boards, int Chips, IReadOnlyList<CardInfo> Cards);

/// <summary>GET /api/v1/node/checks.</summary>
/// <param name="Overall">Worst status of all checks.</param>
/// <param name="Checks">Every check.</param>
public sealed record NodeCheckResponse(CheckStatus Overall, IReadOnlyList<HostCheckResult> Checks);

/// <summary>GET /api/v1/node/hardware: the hardware part of the node view.</summary>
/// <param name="ProbedAt">When the sysroot was read.</param>
/// <param name="Sysroot">Root the hardware was read under.</param>
/// <param name="DriverVersion">/sys/module/tenstorrent/version, null if not loaded.</param>
/// <param name="Boards">Distinct boards.</param>
/// <param name="Chips">Chips, remote included.</param>
/// <param name="SystemClass">Recognised system (T3K, N150X4, P150X4…), null if none.</param>
/// <param name="Health">"ok", "degraded" (some card unusable) or "unfit" (a check fails).</param>
/// <param name="Reasons">Why the node is degraded/unfit, one line each.</param>
/// <param name="Cards">Cards.</param>
/// <param name="Checks">Host checks.</param>
public sealed record NodeHardwareInfo(
    DateTimeOffset ProbedAt, string Sysroot, string? DriverVersion, int Boards, int Chips, string? SystemClass,
    string Health, IReadOnlyList<string> Reasons, IReadOnlyList<CardInfo> Cards, IReadOnlyList<HostCheckResult> Checks);
