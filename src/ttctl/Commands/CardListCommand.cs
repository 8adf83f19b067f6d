using System.CommandLine;
using System.Globalization;
using TtProtocol.Hardware;

namespace Ttctl.Commands;

/// <summary>`ttctl card list [--json]`: the node's Tenstorrent cards (GET /api/v1/cards).</summary>
public static class CardListCommand
{
    /// <summary>The `card` verb with its `list` subcommand.</summary>
    public static Command Create()
    {
        var card = new Command("card", "Tenstorrent cards on this node");
        var json = GlobalOptions.Json();
        var list = new Command("list", "List cards: identity, board type, chips, firmware, telemetry, state") { json };
        list.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var r = await client.GetAsync("api/v1/cards", HardwareJsonContext.Default.CardListResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(r, HardwareJsonContext.Default.CardListResponse); return ExitCodes.Ok; }
            Output.Table(Headers, Rows(r));
            Console.Out.WriteLine(Summary(r));
            return ExitCodes.Ok;
        }));
        card.Subcommands.Add(list);
        return card;
    }

    /// <summary>Table headers.</summary>
    public static readonly string[] Headers = ["CARD", "BDF", "BOARD", "CHIPS", "SERIAL", "FIRMWARE", "TEMP", "POWER", "AICLK", "STATE"];

    /// <summary>One row per card; "-" for what is not (yet) available.</summary>
    public static IEnumerable<IReadOnlyList<string>> Rows(CardListResponse r) =>
        r.Cards.Select(c => (IReadOnlyList<string>)
        [
            c.Index?.ToString(CultureInfo.InvariantCulture) ?? "-",
            c.Bdf,
            c.BoardType,
            c.Chips == 0 ? "-" : c.RemoteChips > 0 ? $"{c.Chips} ({c.MmioChips}+{c.RemoteChips}r)" : c.Chips.ToString(CultureInfo.InvariantCulture),
            c.Serial ?? "-",
            c.Firmware.Bundle ?? "-",
            c.Telemetry.TemperatureCelsius is double t ? $"{t.ToString("0.0", CultureInfo.InvariantCulture)} °C" : "-",
            c.Telemetry.PowerWatts is double p ? $"{p.ToString("0.0", CultureInfo.InvariantCulture)} W" : "-",
            c.Telemetry.AiClockHertz is double f ? $"{(f / 1e6).ToString("0", CultureInfo.InvariantCulture)} MHz" : "-",
            c.StateReason is { Length: > 0 } why && c.State != CardState.Usable ? $"{StateName(c.State)}: {why}" : StateName(c.State),
        ]);

    /// <summary>"4 boards, 8 chips".</summary>
    public static string Summary(CardListResponse r) => $"{r.Boards} board(s), {r.Chips} chip(s)";

    private static string StateName(CardState s) => s switch
    {
        CardState.Usable => "usable", CardState.Locked => "locked", CardState.Busy => "busy",
        CardState.NotReady => "not-ready", CardState.HeartbeatStopped => "heartbeat-stopped",
        CardState.Unbound => "unbound", _ => "missing",
    };
}
