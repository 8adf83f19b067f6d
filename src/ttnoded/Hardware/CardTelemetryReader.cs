using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>
/// Reads one card's telemetry from its tenstorrent class dir (tt_* files) and its hwmon dir, converting to
/// SI units (m°C → °C, mV → V, mA → A, µW → W, MHz → Hz). A file the firmware has not published yet is
/// reported in NotYetAvailable and its value is null, never zero. Only the PCIe-visible chip has these.
/// </summary>
internal static class CardTelemetryReader
{
    /// <summary>tt_heartbeat and tt_therm_trip_count exist only on KMD ≥ 2.7.0.</summary>
    private static readonly DriverVersion HeartbeatSince = new(2, 7, 0);

    public static string? FindHwmon(string pciDir)
    {
        foreach (var dir in Sysroot.Entries(Path.Join(pciDir, "hwmon"), "hwmon*").Order(StringComparer.Ordinal))
        {
            var name = Sysroot.ReadOrNull(Path.Join(dir, "name"));
            if (name is "wormhole" or "blackhole" or "grayskull") return dir;
        }
        return null;
    }

    public static CardTelemetry Read(string? classDir, string? hwmonDir, string arch, DriverVersion? driver)
    {
        var missing = new List<string>();
        bool bh = arch == "blackhole";
        bool newKmd = driver is null || driver.Value >= HeartbeatSince;

        double? Hw(string file, double scale, bool expected = true)
        {
            if (hwmonDir is not null && Sysroot.ReadLong(Path.Join(hwmonDir, file)) is long v) return v * scale;
            if (expected) missing.Add(file);
            return null;
        }
        long? Tt(string file, bool expected = true)
        {
            if (classDir is not null && Sysroot.ReadLong(Path.Join(classDir, file)) is long v) return v;
            if (expected) missing.Add(file);
            return null;
        }

        var temp = Hw("temp1_input", 1e-3);
        var tempMax = Hw("temp1_max", 1e-3);
        var power = Hw("power1_input", 1e-6);
        var powerMax = Hw("power1_max", 1e-6);
        var curr = Hw("curr1_input", 1e-3);
        var currMax = Hw("curr1_max", 1e-3);
        var volt = Hw("in0_input", 1e-3);
        var voltMax = Hw("in0_max", 1e-3);
        var fan = Hw("fan1_input", 1, expected: bh);
        var ai = Tt("tt_aiclk") * 1e6;
        var axi = Tt("tt_axiclk") * 1e6;
        var arc = Tt("tt_arcclk") * 1e6;
        var hb = Tt("tt_heartbeat", expected: newKmd);
        var trips = Tt("tt_therm_trip_count", expected: bh && newKmd);
        foreach (var f in IdentityFiles)
            if (classDir is null || !File.Exists(Path.Join(classDir, f))) missing.Add(f);

        return new CardTelemetry(Round(temp), Round(tempMax), Round(power), Round(powerMax), Round(curr), Round(currMax),
            Round(volt), Round(voltMax), fan, ai, axi, arc, hb, null, trips, missing);
    }

    /// <summary>Telemetry-backed identity files (tags 1, 2, 28): absent until the firmware publishes them.</summary>
    private static readonly string[] IdentityFiles = ["tt_serial", "tt_card_type", "tt_fw_bundle_ver"];

    private static double? Round(double? v) => v is null ? null : Math.Round(v.Value, 6);

    public static CardFirmware ReadFirmware(string? classDir)
    {
        string? F(string f) => classDir is null ? null : Sysroot.ReadOrNull(Path.Join(classDir, f));
        return new CardFirmware(F("tt_fw_bundle_ver"), F("tt_arc_fw_ver"), F("tt_m3app_fw_ver"),
            F("tt_m3bl_fw_ver"), F("tt_eth_fw_ver"), F("tt_ttflash_ver"));
    }
}
