using Ttctl.Commands;
using TtProtocol.Hardware;

namespace Ttnoded.Tests.Hardware;

/// <summary>What `ttctl card list` and `ttctl node check` print, from the same snapshots the daemon serves.</summary>
public sealed class CliRenderingTests
{
    [Fact]
    public void Card_rows_show_chips_units_and_dashes_for_unpublished_values()
    {
        using var a = new FixtureTree("loudbox");
        var rows = CardListCommand.Rows(a.ProbeTwice(a.Monitor()).ToCardList()).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(["0", "0000:04:00.0", "n300", "2 (1+1r)", "0100014511800001", "19.4.2.0", "45.3 °C", "14.0 W", "500 MHz", "usable"], rows[0]);
        using var b = new FixtureTree("not-published");
        var row = CardListCommand.Rows(b.Monitor().Probe().ToCardList()).Single();
        Assert.Equal("-", row[6]);
        Assert.StartsWith("not-ready: ", row[9]);
    }

    [Fact]
    public void Node_check_exit_code_is_1_only_on_fail()
    {
        static NodeCheckResponse R(params CheckStatus[] s) =>
            new(s.Max(), s.Select((x, i) => new HostCheckResult($"c{i}", x, "o", x == CheckStatus.Ok ? "" : "f")).ToList());
        Assert.Equal(0, NodeCheckCommand.ExitCode(R(CheckStatus.Ok, CheckStatus.Ok)));
        Assert.Equal(0, NodeCheckCommand.ExitCode(R(CheckStatus.Ok, CheckStatus.Warn)));
        Assert.Equal(1, NodeCheckCommand.ExitCode(R(CheckStatus.Warn, CheckStatus.Fail)));
        Assert.Equal(["c1", "FAIL", "o", "f"], NodeCheckCommand.Rows(R(CheckStatus.Ok, CheckStatus.Fail)).ElementAt(1));
    }
}
