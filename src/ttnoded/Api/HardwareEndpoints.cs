using TtProtocol.Hardware;
using Ttnoded.Hardware;

namespace Ttnoded.Api;

/// <summary>
/// HTTP surface of the hardware subsystem: GET /api/v1/cards, /api/v1/node/hardware, /api/v1/node/checks,
/// and the hardware part of /metrics. Reads go through <see cref="HardwareMonitor.GetSnapshot"/> so a stuck
/// sysfs read never hangs a request.
/// </summary>
public static class HardwareEndpoints
{
    /// <summary>How old a snapshot an API read may return before it re-probes.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(500);

    /// <summary>Maps the hardware routes.</summary>
    public static void Map(WebApplication app, HardwareMonitor hw)
    {
        app.MapGet("/api/v1/cards", () =>
            TypedResults.Json(hw.GetSnapshot(MaxAge).ToCardList(), HardwareJsonContext.Default.CardListResponse));
        app.MapGet("/api/v1/node/hardware", () =>
            TypedResults.Json(hw.GetSnapshot(MaxAge).ToWire(), HardwareJsonContext.Default.NodeHardwareInfo));
        app.MapGet("/api/v1/node/checks", () =>
            TypedResults.Json(hw.GetSnapshot(MaxAge).ToCheckResponse(), HardwareJsonContext.Default.NodeCheckResponse));
    }

    /// <summary>The hardware part of GET /api/v1/node.</summary>
    public static NodeHardwareInfo NodeHardware(HardwareMonitor hw) => hw.GetSnapshot(MaxAge).ToWire();

    /// <summary>Writes the hardware families of /metrics (Prometheus text format 0.0.4).</summary>
    public static void WriteMetrics(TextWriter writer, HardwareMonitor hw) =>
        HardwarePrometheus.Write(writer, hw.GetSnapshot(MaxAge));
}
