using System.Diagnostics;
using TtEngine.Runtime;

namespace TtEngine.Tests;

/// <summary>The engine's own threads: every thread runs the job once per Run, and waiting allocates nothing.</summary>
public sealed unsafe class WorkerPoolTests
{
    private static int s_calls;

    private static void SlowOnWorker(void* ctx, int index, int count)
    {
        Interlocked.Increment(ref s_calls);
        if (index == 1) Thread.Sleep(30); // long past the caller's spinning: its wait has to block
    }

    [Fact]
    public void A_run_whose_caller_must_block_allocates_nothing_even_the_first_time()
    {
        // a throw-away pool first, so the JIT's one-time work on this path (the futex call's P/Invoke stub, compiled on the
        // first thread that blocks: 2.4 KB on a fresh-clone run where no earlier test had blocked this thread) is done;
        // the measured pool's events still block for the first time
        using (var warm = new WorkerPool(2)) warm.Run(&SlowOnWorker, null);
        using var pool = new WorkerPool(2);
        s_calls = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        pool.Run(&SlowOnWorker, null);
        pool.Run(&SlowOnWorker, null);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(4, s_calls);
        Assert.Equal(0, allocated);
    }

    private static void WaitUntilTheWorkerBlocks(WorkerPool pool)
    {
        var limit = Stopwatch.StartNew();
        while (pool.BlockedWorkers == 0)
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), "the worker never stopped spinning");
            Thread.Sleep(10);
        }
        Thread.Sleep(20); // on into the futex call (made even if the next Run comes first: it then returns at once)
    }

    private static readonly long[] s_workerBytes = new long[3];
    private static int s_round;

    private static void RecordWorkerAllocations(void* ctx, int index, int count)
    {
        if (index == 1) s_workerBytes[s_round] = GC.GetAllocatedBytesForCurrentThread();
    }

    [Fact]
    public void A_worker_that_blocks_for_the_first_time_allocates_nothing()
    {
        // one pool whose worker blocks once, so the JIT's one-time work on this path (the P/Invoke stub of the futex call,
        // compiled on the first thread that makes it) is done; the AOT binaries have none (EngineBenchTests covers them).
        // Waiting for the block itself, not a fixed sleep: on a loaded machine (CI runs the test projects side by side)
        // the worker's spinning outlasted a 100 ms sleep, the warm-up never blocked, and the measured pool's first block
        // then showed the JIT's 32 bytes.
        using (var warm = new WorkerPool(2))
        {
            warm.Run(&RecordWorkerAllocations, null);
            WaitUntilTheWorkerBlocks(warm);
            warm.Run(&RecordWorkerAllocations, null);
        }
        using var pool = new WorkerPool(2);
        // the first Run comes while the worker still spins; then its spinning runs out and it blocks before each next Run
        for (s_round = 0; s_round < 3; s_round++)
        {
            pool.Run(&RecordWorkerAllocations, null);
            WaitUntilTheWorkerBlocks(pool);
        }
        Assert.Equal(s_workerBytes[0], s_workerBytes[1]);
        Assert.Equal(s_workerBytes[0], s_workerBytes[2]);
    }
}
