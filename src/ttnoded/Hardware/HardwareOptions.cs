namespace Ttnoded.Hardware;

/// <summary>Thresholds of the host checks. Defaults come from tenstorrent-hardware.md §3–§4 (see docs/hardware.md).</summary>
public sealed record HardwareOptions
{
    /// <summary>Below this KMD the node fails (UMD refuses KMD &lt; 2.0.0).</summary>
    public DriverVersion MinDriver { get; init; } = DriverVersion.UmdFloor;
    /// <summary>Below this KMD the node warns (2.4.1: arch-agnostic reset; tis P150X8 minimum).</summary>
    public DriverVersion RecommendedDriver { get; init; } = new(2, 4, 1);
    /// <summary>UMD minimum bundle for Wormhole.</summary>
    public FirmwareVersion MinWormholeBundle { get; init; } = FirmwareVersion.Parse("18.3.0");
    /// <summary>UMD minimum bundle for Blackhole.</summary>
    public FirmwareVersion MinBlackholeBundle { get; init; } = FirmwareVersion.Parse("18.5.0");
    /// <summary>UMD's "latest fully tested" bundle; newer ones get a note.</summary>
    public FirmwareVersion LatestTestedBundle { get; init; } = FirmwareVersion.Parse("19.7.1");
    /// <summary>1 GiB hugepages tt-system-tools provisions per PCI function.</summary>
    public int HugepagesPerDevice { get; init; } = 4;
    /// <summary>Telemetry may appear up to ~120 s after probe; after this long unpublished attributes fail.</summary>
    public TimeSpan TelemetryGrace { get; init; } = TimeSpan.FromSeconds(150);
    /// <summary>Heartbeat reads must be at least this far apart to judge liveness.</summary>
    public TimeSpan HeartbeatMinInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Warn when the ASIC is this close to its throttle limit.</summary>
    public double ThermalMarginCelsius { get; init; } = 5;
    /// <summary>A probe running longer than this marks the node degraded instead of blocking callers.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
