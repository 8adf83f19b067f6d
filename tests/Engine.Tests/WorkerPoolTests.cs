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
        using var pool = new WorkerPool(2);
        s_calls = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        pool.Run(&SlowOnWorker, null);
        pool.Run(&SlowOnWorker, null);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(4, s_calls);
        Assert.Equal(0, allocated);
    }
}
