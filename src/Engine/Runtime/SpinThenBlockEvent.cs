namespace TtEngine.Runtime;

/// <summary>
/// A manual-reset event for <see cref="WorkerPool"/>: spins a while, then blocks on a monitor. Unlike ManualResetEventSlim,
/// everything its blocking path allocates (the runtime's lock and condition for the gate, a waiter per thread) can be
/// created up front with <see cref="Prime"/>, so a thread that blocks for the first time in the middle of decoding does
/// not allocate there (the engine benchmark counts the whole process's allocations per token).
/// </summary>
internal sealed class SpinThenBlockEvent
{
    private readonly object _gate = new();
    private readonly int _spinCount;
    private int _set;
    private int _waiters;

    public SpinThenBlockEvent(int spinCount) => _spinCount = spinCount;

    /// <summary>Runs the blocking path once without waiting, on the calling thread: afterwards it allocates nothing there.</summary>
    public void Prime()
    {
        lock (_gate) Monitor.Wait(_gate, 0);
    }

    public void Set()
    {
        Interlocked.Exchange(ref _set, 1);
        // a waiter counts itself (full fence) before it looks at _set, and this reads _waiters after setting (full fence):
        // one of the two sees the other, so a waiter is never left blocked
        if (Volatile.Read(ref _waiters) > 0)
            lock (_gate) Monitor.PulseAll(_gate);
    }

    public void Reset() => Volatile.Write(ref _set, 0);

    public void Wait()
    {
        var spinner = new SpinWait();
        for (int i = 0; i < _spinCount; i++)
        {
            if (Volatile.Read(ref _set) != 0) return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        lock (_gate)
        {
            Interlocked.Increment(ref _waiters);
            while (Volatile.Read(ref _set) == 0) Monitor.Wait(_gate);
            Interlocked.Decrement(ref _waiters);
        }
    }
}
