using System.Globalization;
using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>
/// Prometheus text exposition (format 0.0.4) of the hardware: per-card gauges in base units
/// (ttnoded_card_temperature_celsius, _power_watts, _clock_hertz…), card state and host checks as state
/// sets (one series per state, 1 for the current one). A value the firmware has not published is left out,
/// never written as 0. Families are written whole, HELP/TYPE first, label values escaped.
/// </summary>
public static class HardwarePrometheus
{
    /// <summary>Content-Type of the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Writes every hardware family.</summary>
    public static void Write(TextWriter w, NodeHardwareSnapshot s)
    {
        var cards = s.Cards;
        Family(w, "ttnoded_card_info", "gauge", "Card identity; always 1.", cards, c => 1,
            c => [("board_type", c.BoardType), ("arch", c.Arch), ("asic_id", c.AsicId ?? ""), ("fw_bundle", c.Firmware.Bundle ?? "")]);
        Family(w, "ttnoded_card_chips", "gauge", "Chips reached through the card (n300 = 2).", cards, c => c.Chips);
        Family(w, "ttnoded_card_temperature_celsius", "gauge", "ASIC temperature.", cards, c => c.Telemetry.TemperatureCelsius);
        Family(w, "ttnoded_card_temperature_limit_celsius", "gauge", "ASIC throttle temperature limit.", cards, c => c.Telemetry.TemperatureLimitCelsius);
        Family(w, "ttnoded_card_power_watts", "gauge", "ASIC power.", cards, c => c.Telemetry.PowerWatts);
        Family(w, "ttnoded_card_power_limit_watts", "gauge", "TDP limit.", cards, c => c.Telemetry.PowerLimitWatts);
        Family(w, "ttnoded_card_current_amperes", "gauge", "ASIC current.", cards, c => c.Telemetry.CurrentAmperes);
        Family(w, "ttnoded_card_current_limit_amperes", "gauge", "TDC limit.", cards, c => c.Telemetry.CurrentLimitAmperes);
        Family(w, "ttnoded_card_voltage_volts", "gauge", "Core voltage.", cards, c => c.Telemetry.VoltageVolts);
        Family(w, "ttnoded_card_voltage_limit_volts", "gauge", "Maximum core voltage.", cards, c => c.Telemetry.VoltageLimitVolts);
        Family(w, "ttnoded_card_fan_rpm", "gauge", "Fan speed (Blackhole).", cards, c => c.Telemetry.FanRpm);
        FamilyMulti(w, "ttnoded_card_clock_hertz", "gauge", "Chip clocks.", cards,
            c => [("aiclk", c.Telemetry.AiClockHertz), ("axiclk", c.Telemetry.AxiClockHertz), ("arcclk", c.Telemetry.ArcClockHertz)], "clock");
        Family(w, "ttnoded_card_heartbeat", "gauge", "Firmware heartbeat counter.", cards, c => c.Telemetry.Heartbeat);
        Family(w, "ttnoded_card_heartbeat_alive", "gauge", "1 when the heartbeat changed between reads at least 1 s apart.", cards,
            c => c.Telemetry.HeartbeatAlive is bool b ? (b ? 1 : 0) : null);
        Family(w, "ttnoded_card_thermal_trips_total", "counter", "Critical-temperature shutdowns since power cycle (Blackhole).", cards, c => c.Telemetry.ThermalTripCount);
        Family(w, "ttnoded_card_pcie_link_width", "gauge", "Current PCIe link width (lanes).", cards, c => c.Link.CurrentWidth);
        Family(w, "ttnoded_card_pcie_link_generation", "gauge", "Current PCIe generation.", cards, c => c.Link.CurrentGeneration);
        Family(w, "ttnoded_card_holders", "gauge", "Processes holding the card's device node.", cards, c => c.Holders.Count);
        Family(w, "ttnoded_card_telemetry_unavailable", "gauge", "Telemetry attributes not yet published.", cards, c => c.Telemetry.NotYetAvailable.Count);
        FamilyMulti(w, "ttnoded_card_state", "gauge", "Card state (state set: 1 for the current state).", cards,
            c => Enum.GetValues<CardState>().Select(st => (Wire(st), (double?)(c.State == st ? 1 : 0))), "state");
        Family(w, "ttnoded_card_healthy", "gauge", "1 when the card is present, ready and alive.", cards,
            c => c.State is CardState.Usable or CardState.Locked or CardState.Busy ? 1 : 0);

        Header(w, "ttnoded_host_check_status", "gauge", "Host check state (state set: 1 for the current status).");
        foreach (var chk in s.Checks)
            foreach (var st in (ReadOnlySpan<CheckStatus>)[CheckStatus.Ok, CheckStatus.Warn, CheckStatus.Fail])
                Sample(w, "ttnoded_host_check_status", [("check", chk.Name), ("status", Wire(st))], chk.Status == st ? 1 : 0);
        Header(w, "ttnoded_node_boards", "gauge", "Boards present.");
        Sample(w, "ttnoded_node_boards", [], s.Boards);
        Header(w, "ttnoded_node_chips", "gauge", "Chips present, remote chips included.");
        Sample(w, "ttnoded_node_chips", [], s.Chips);
        Header(w, "ttnoded_node_degraded", "gauge", "1 when a card is unusable or a host check fails.");
        Sample(w, "ttnoded_node_degraded", [], s.Health == "ok" ? 0 : 1);
    }

    internal static string Wire(CardState s) => s switch
    {
        CardState.Usable => "usable", CardState.Locked => "locked", CardState.Busy => "busy",
        CardState.NotReady => "not-ready", CardState.HeartbeatStopped => "heartbeat-stopped",
        CardState.Unbound => "unbound", _ => "missing",
    };

    private static string Wire(CheckStatus s) => s switch { CheckStatus.Ok => "ok", CheckStatus.Warn => "warn", _ => "fail" };

    private static (string, string)[] CardLabels(CardInfo c) =>
        [("card", c.Index?.ToString(CultureInfo.InvariantCulture) ?? ""), ("bdf", c.Bdf), ("serial", c.Serial ?? "")];

    private static void Family(TextWriter w, string name, string type, string help, IReadOnlyList<CardInfo> cards,
        Func<CardInfo, double?> value, Func<CardInfo, (string, string)[]>? extra = null)
    {
        Header(w, name, type, help);
        foreach (var c in cards)
            if (value(c) is double v) Sample(w, name, [.. CardLabels(c), .. extra?.Invoke(c) ?? []], v);
    }

    private static void FamilyMulti(TextWriter w, string name, string type, string help, IReadOnlyList<CardInfo> cards,
        Func<CardInfo, IEnumerable<(string Key, double? Value)>> values, string label)
    {
        Header(w, name, type, help);
        foreach (var c in cards)
            foreach (var (key, val) in values(c))
                if (val is double v) Sample(w, name, [.. CardLabels(c), (label, key)], v);
    }

    private static void Header(TextWriter w, string name, string type, string help)
    {
        w.Write("# HELP "); w.Write(name); w.Write(' '); w.Write(help.Replace("\\", "\\\\").Replace("\n", "\\n")); w.Write('\n');
        w.Write("# TYPE "); w.Write(name); w.Write(' '); w.Write(type); w.Write('\n');
    }

    private static void Sample(TextWriter w, string name, (string Key, string Value)[] labels, double value)
    {
        w.Write(name);
        if (labels.Length > 0)
        {
            w.Write('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0) w.Write(',');
                w.Write(labels[i].Key); w.Write("=\"");
                w.Write(labels[i].Value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n"));
                w.Write('"');
            }
            w.Write('}');
        }
        w.Write(' ');
        w.Write(double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
            : value.ToString("R", CultureInfo.InvariantCulture));
        w.Write('\n');
    }
}
