using TtProtocol.Hardware;
using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

/// <summary>Cards vanishing and coming back, heartbeats stopping and resuming, stuck probes.</summary>
public sealed class ChangeTests
{
    private const string Card3Port = "sys/devices/pci0000:80/0000:80:03.0";

    [Fact]
    public void Vanished_card_degrades_the_node_raises_a_change_and_is_usable_when_back()
    {
        using var t = new FixtureTree("loudbox");
        var m = t.Monitor();
        var changes = new List<CardChange>();
        m.Changed += changes.AddRange;
        var before = t.ProbeTwice(m);
        Assert.Equal("ok", before.Health);
        var id = before.Cards[3].Identity;

        // Surprise removal: the PCI device and everything linking to it disappear.
        var saved = Path.Combine(t.Base, "saved-port");
        FixtureTree.Copy(t.P(Card3Port), saved);
        t.Delete(Card3Port);
        t.Time.Advance(TimeSpan.FromSeconds(2));
        t.BumpHeartbeats();
        var gone = m.Probe();
        Assert.Equal("degraded", gone.Health);
        var card = gone.Card(id)!;
        Assert.Equal(CardState.Missing, card.State);
        Assert.Contains("vanished", card.StateReason);
        Assert.Equal("0100014511800004", card.Serial);        // last known identity kept
        Assert.Equal((3, 6), (gone.Boards, gone.Chips));
        Assert.Equal(CheckStatus.Fail, gone.Checks.Single(c => c.Name == "cards").Status);
        var change = Assert.Single(changes);
        Assert.Equal((id, CardChangeKind.Vanished), (change.Identity, change.Kind));
        Assert.False(m.TryLockCard(id, "job", out _, out var why));
        Assert.Contains("missing", why);

        // Still gone on the next probe: no second event.
        t.Time.Advance(TimeSpan.FromSeconds(2));
        t.BumpHeartbeats();
        m.Probe();
        Assert.Single(changes);

        // Back (rescan / reset).
        FixtureTree.Copy(saved, t.P(Card3Port));
        t.Time.Advance(TimeSpan.FromSeconds(2));
        t.BumpHeartbeats();
        m.Probe();
        t.Time.Advance(TimeSpan.FromSeconds(2));
        t.BumpHeartbeats();
        var back = m.Probe();
        Assert.Equal("ok", back.Health);
        Assert.Equal(CardState.Usable, back.Card(id)!.State);
        Assert.Equal((4, 8), (back.Boards, back.Chips));
        Assert.Equal(CardChangeKind.Returned, changes[^1].Kind);
        Assert.True(m.TryLockCard(id, "job", out var lease, out _));
        lease!.Dispose();
    }

    [Fact]
    public void Stopped_heartbeat_degrades_and_resumed_heartbeat_recovers()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor();
        var changes = new List<CardChange>();
        m.Changed += changes.AddRange;
        t.ProbeTwice(m);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        var stuck = m.Probe();                 // no bump: same value ≥ 1 s later
        Assert.Equal(CardState.HeartbeatStopped, stuck.Cards[0].State);
        Assert.False(stuck.Cards[0].Telemetry.HeartbeatAlive);
        Assert.Equal("degraded", stuck.Health);
        Assert.Equal(CardChangeKind.HeartbeatStopped, Assert.Single(changes).Kind);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        t.BumpHeartbeats();
        var alive = m.Probe();
        Assert.Equal(CardState.Usable, alive.Cards[0].State);
        Assert.True(alive.Cards[0].Telemetry.HeartbeatAlive);
        Assert.Equal(CardChangeKind.HeartbeatResumed, changes[^1].Kind);
    }

    [Fact]
    public void A_throwing_subscriber_does_not_break_probing()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor();
        m.Changed += _ => throw new InvalidOperationException("boom");
        t.ProbeTwice(m);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CardState.HeartbeatStopped, m.Probe().Cards[0].State);
    }

    [Fact]
    public void GetSnapshot_reuses_a_fresh_snapshot_and_reprobes_a_stale_one()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor();
        var first = m.GetSnapshot(TimeSpan.FromSeconds(1));
        Assert.Same(first, m.GetSnapshot(TimeSpan.FromSeconds(1)));
        t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.NotSame(first, m.GetSnapshot(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Watcher_notices_a_vanished_card_on_its_own()
    {
        using var t = new FixtureTree("loudbox");
        var m = new HardwareMonitor(t.Root, t.LockDir);   // real clock
        var seen = new TaskCompletionSource<CardChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        m.Changed += cs => { foreach (var c in cs) if (c.Kind == CardChangeKind.Vanished) seen.TrySetResult(c); };
        await using var w = new HardwareChangeWatcher(m, TimeSpan.FromMilliseconds(50));
        m.Probe();
        w.Start();
        t.Delete(Card3Port);
        var change = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30)); // generous: CI shares 2 cores with other tests
        Assert.Contains("0000:85:00.0", change.Identity);
    }
}

public sealed class IdentityChangeTests
{
    [Fact]
    public void A_card_publishing_its_serial_late_is_not_reported_as_vanished()
    {
        using var t = new FixtureTree("not-published");
        var m = t.Monitor();
        var changes = new List<CardChange>();
        m.Changed += changes.AddRange;
        Assert.Equal(CardState.NotReady, m.Probe().Cards[0].State);
        using (var full = new FixtureTree("n150"))
            foreach (var f in Directory.EnumerateFiles(full.P(full.Class(0)), "tt_*"))
                t.Write(t.Class(0) + "/" + Path.GetFileName(f), File.ReadAllText(f).Trim());
        t.Time.Advance(TimeSpan.FromSeconds(1));
        var s = m.Probe();
        var c = Assert.Single(s.Cards);
        Assert.Equal("0100018511700001@0000:01:00.0", c.Identity);
        Assert.Equal(CardState.Usable, c.State);
        Assert.Empty(changes);
    }

    [Fact]
    public void A_card_whose_serial_is_unreadable_for_one_probe_is_still_reported_when_it_vanishes()
    {
        // The watcher can probe while the kernel tears a device down (or during a reset): one read sees the slot
        // without its serial. That must not make the daemon forget the card, or its removal goes unreported.
        using var t = new FixtureTree("loudbox");
        var m = t.Monitor();
        var changes = new List<CardChange>();
        m.Changed += changes.AddRange;
        m.Probe();
        t.Delete(t.Class(3) + "/tt_serial");
        t.Time.Advance(TimeSpan.FromSeconds(1));
        m.Probe();
        Assert.DoesNotContain(changes, c => c.Kind == CardChangeKind.Vanished);
        t.Delete("sys/devices/pci0000:80/0000:80:03.0");
        t.Time.Advance(TimeSpan.FromSeconds(1));
        m.Probe();
        var gone = Assert.Single(changes, c => c.Kind == CardChangeKind.Vanished);
        Assert.Equal("0100014511800004@0000:85:00.0", gone.Identity);
    }

    [Fact]
    public void A_vanished_card_exports_no_stale_telemetry()
    {
        using var t = new FixtureTree("loudbox");
        var m = t.Monitor();
        m.Probe();
        t.Delete("sys/devices/pci0000:80/0000:80:03.0");
        var gone = m.Probe().Cards.Single(c => c.State == CardState.Missing);
        Assert.Null(gone.Telemetry.TemperatureCelsius);
        Assert.Equal("0100014511800004", gone.Serial);
    }
}

public sealed class StuckProbeTests
{
    [Fact]
    public void A_sysfs_read_that_never_returns_does_not_hang_callers()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor(new HardwareOptions { ProbeTimeout = TimeSpan.FromMilliseconds(300) });
        var first = m.Probe();
        // A FIFO with no writer blocks open(2) forever: the same effect as a sysfs read that never answers.
        var attr = t.P("sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/tenstorrent/tenstorrent!0/tt_aiclk");
        File.Delete(attr);
        using (var mk = System.Diagnostics.Process.Start("mkfifo", attr)) mk.WaitForExit();
        t.Time.Advance(TimeSpan.FromSeconds(5));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var s = m.GetSnapshot(TimeSpan.Zero);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Equal(first.ProbedAt, s.ProbedAt);
        Assert.Equal("degraded", s.Health);
        Assert.Contains(s.Reasons, r => r.Contains("probe stuck"));
        // Unblock the stuck reader (a writer opens and closes: the reader sees EOF) so the probe finishes.
        using (var w = new FileStream(attr, FileMode.Open, FileAccess.Write)) { }
        File.Delete(attr);
        File.WriteAllText(attr, "500\n");   // later probes read a normal file again
        var deadline = DateTime.UtcNow.AddSeconds(10);
        NodeHardwareSnapshot next;
        while ((next = m.GetSnapshot(TimeSpan.Zero)).Reasons.Any(r => r.Contains("probe stuck")) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.DoesNotContain(next.Reasons, r => r.Contains("probe stuck"));
    }
}
