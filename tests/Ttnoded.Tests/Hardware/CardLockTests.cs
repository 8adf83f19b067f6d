using System.Diagnostics;
using TtProtocol.Hardware;
using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

public sealed class CardLockTests
{
    [Fact]
    public void A_card_is_locked_once_and_released_on_dispose()
    {
        using var t = new FixtureTree("loudbox");
        var m = t.Monitor();
        var id = m.Probe().Cards[0].Identity;
        Assert.True(m.TryLockCard(id, "job-1", out var lease, out _));
        Assert.False(m.TryLockCard(id, "job-2", out _, out var why));
        Assert.Contains("job-1", why);
        var c = m.Probe().Card(id)!;
        Assert.Equal((CardState.Locked, "job-1"), (c.State, c.LockedBy));
        lease!.Dispose();
        Assert.False(lease.IsHeld);
        Assert.Equal(CardState.Usable, m.Probe().Card(id)!.State);
        Assert.True(m.TryLockCard(id, "job-2", out var again, out _));
        again!.Dispose();
    }

    [Fact]
    public void Two_monitors_sharing_a_lock_dir_exclude_each_other()
    {
        using var t = new FixtureTree("n150");
        var a = t.Monitor();
        var b = t.Monitor();
        var id = a.Probe().Cards[0].Identity;
        using var lease = a.Locks.TryAcquire(id, "job-a");
        Assert.NotNull(lease);
        Assert.Null(b.Locks.TryAcquire(id, "job-b"));
        Assert.StartsWith("other process: job-a", b.Locks.OwnerOf(id));
    }

    [Fact]
    public void Lock_dies_with_its_holder_process()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor();
        var id = m.Probe().Cards[0].Identity;
        var path = m.Locks.LockPath(id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // flock(1) takes the same flock(2) lock ttnoded uses; the child holds it until killed.
        using var holder = Process.Start(new ProcessStartInfo("flock", ["-x", path, "sleep", "60"]) { UseShellExecute = false })!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (m.Locks.OwnerOf(id) is null && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Assert.Null(m.Locks.TryAcquire(id, "job"));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
        // The kernel drops the lock when the last fd closes (the killed sleep held an inherited one).
        CardLease? lease = null;
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((lease = m.Locks.TryAcquire(id, "job")) is null && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.NotNull(lease);
        lease.Dispose();
    }

    [Fact]
    public void Unusable_cards_are_not_handed_out()
    {
        using var t = new FixtureTree("not-published");
        var m = t.Monitor();
        var id = m.Probe().Cards[0].Identity;
        Assert.False(m.TryLockCard(id, "job", out var lease, out var why));
        Assert.Null(lease);
        Assert.Contains("not-ready", why);
    }
}
