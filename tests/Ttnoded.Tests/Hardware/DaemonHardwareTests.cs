using System.Text.Json;
using TestSupport;
using TtProtocol.Hardware;

namespace Ttnoded.Tests.Hardware;

/// <summary>
/// The "done when", end to end: a real ttnoded on a fixture sysroot, queried with the real ttctl.
/// The fixture is a private copy whose tt_heartbeat files keep moving (as live firmware does).
/// </summary>
public sealed class DaemonHardwareTests
{
    private sealed class LiveFixture : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _bumper;
        public FixtureTree Tree { get; }
        public DaemonProcess Daemon { get; }

        public LiveFixture(string name)
        {
            Tree = new FixtureTree(name);
            _bumper = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try { Tree.BumpHeartbeats(); } catch (IOException) { }
                    try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
                }
            });
            Daemon = new DaemonProcess(sysroot: Tree.Root).StartReady();
        }

        public Task<(int Code, string Out, string Err)> Ttctl(params string[] args) =>
            Binaries.RunAsync(Binaries.StartInfo("ttctl", ["--socket", Daemon.SocketPath, .. args]));

        public async ValueTask DisposeAsync()
        {
            await Daemon.DisposeAsync();
            _stop.Cancel();
            await _bumper;
            Tree.Dispose();
        }
    }

    [Fact]
    public async Task Loudbox_card_list_json_shows_4_boards_8_chips_with_serials_bdfs_and_firmware()
    {
        await using var f = new LiveFixture("loudbox");
        var (code, stdout, stderr) = await f.Ttctl("card", "list", "--json");
        Assert.True(code == 0, stderr);
        var list = JsonSerializer.Deserialize(stdout, HardwareJsonContext.Default.CardListResponse)!;
        Assert.Equal((4, 8), (list.Boards, list.Chips));
        Assert.Equal(["0000:04:00.0", "0000:05:00.0", "0000:84:00.0", "0000:85:00.0"], list.Cards.Select(c => c.Bdf));
        Assert.Equal(["0100014511800001", "0100014511800002", "0100014511800003", "0100014511800004"], list.Cards.Select(c => c.Serial));
        Assert.All(list.Cards, c => Assert.Equal(("n300", "19.4.2.0", 2), (c.BoardType, c.Firmware.Bundle, c.Chips)));

        var table = await f.Ttctl("card", "list");
        Assert.Equal(0, table.Code);
        Assert.Contains("4 board(s), 8 chip(s)", table.Out);

        var check = await f.Ttctl("node", "check");
        Assert.True(check.Code == 0, check.Out + check.Err);
        Assert.Contains("hugepages-mount", check.Out);

        using var http = f.Daemon.Http();
        var metrics = await http.GetStringAsync("metrics");
        var families = PrometheusTextParser.Parse(metrics);
        Assert.Equal(4, families["ttnoded_card_temperature_celsius"].Samples.Count);
        var hw = JsonSerializer.Deserialize(await http.GetStringAsync("api/v1/node/hardware"), HardwareJsonContext.Default.NodeHardwareInfo)!;
        Assert.Equal(("T3K", "ok"), (hw.SystemClass, hw.Health));
    }

    [Theory]
    [InlineData("no-hugepages", "hugepages")]
    [InlineData("old-firmware", "firmware-minimum")]
    [InlineData("mixed-firmware", "firmware-consistency")]
    [InlineData("driver-too-old", "driver")]
    [InlineData("card-vanished", "cards")]
    public async Task Node_check_exits_1_naming_the_failed_check(string fixture, string check)
    {
        await using var f = new LiveFixture(fixture);
        var (code, stdout, _) = await f.Ttctl("node", "check");
        Assert.Equal(1, code);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith(check + " ", StringComparison.Ordinal) && l.Contains("FAIL"));
        var json = await f.Ttctl("node", "check", "--json");
        Assert.Equal(1, json.Code);
        var r = JsonSerializer.Deserialize(json.Out, HardwareJsonContext.Default.NodeCheckResponse)!;
        Assert.Equal(CheckStatus.Fail, r.Overall);
        Assert.Equal(CheckStatus.Fail, r.Checks.Single(c => c.Name == check).Status);
    }
}
