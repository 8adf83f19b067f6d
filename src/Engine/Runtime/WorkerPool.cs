namespace TtEngine.Runtime;

/// <summary>
/// The engine's own threads (not the shared .NET pool): <c>count - 1</c> dedicated workers plus the calling thread.
/// <see cref="Run"/> hands every thread the same unmanaged function pointer and context and returns when all are done;
/// nothing is allocated per call. Not re-entrant: one Run at a time (the model serialises forward passes).
/// </summary>
internal sealed unsafe class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    // Events spin before blocking: decode hands work out ~100 times per token, and a kernel wake-up per hand-off
    // (tens of µs) would eat the gain of the second core.
    private const int SpinCount = 2000;
    private readonly SpinThenBlockEvent[] _start;
    private readonly SpinThenBlockEvent _done = new(SpinCount);
    private int _remaining;
    private delegate*<void*, int, int, void> _fn;
    private void* _ctx;
    private volatile bool _stop;

    public WorkerPool(int threads)
    {
        Count = Math.Max(1, threads);
        _threads = new Thread[Count - 1];
        _start = new SpinThenBlockEvent[Count];
        for (int i = 1; i < Count; i++)
        {
            _start[i] = new SpinThenBlockEvent(SpinCount);
            int index = i;
            _threads[i - 1] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"ttengine-worker-{i}" };
            _threads[i - 1].Start();
        }
    }

    /// <summary>Threads taking part in each Run, the caller included.</summary>
    public int Count { get; }

    /// <summary>Workers that have stopped spinning and wait for the next Run in the kernel (tests wait for it).</summary>
    internal int BlockedWorkers
    {
        get
        {
            int n = 0;
            for (int i = 1; i < Count; i++) n += _start[i].Blocked;
            return n;
        }
    }

    /// <summary>Calls fn(ctx, index, Count) on every thread (index 0 is the caller) and waits for all.</summary>
    public void Run(delegate*<void*, int, int, void> fn, void* ctx)
    {
        if (Count == 1)
        {
            fn(ctx, 0, 1);
            return;
        }
        _fn = fn;
        _ctx = ctx;
        _done.Reset();
        Volatile.Write(ref _remaining, Count - 1);
        for (int i = 1; i < Count; i++) _start[i].Set();
        fn(ctx, 0, Count);
        _done.Wait();
    }

    private void Loop(int index)
    {
        while (true)
        {
            _start[index].Wait();
            _start[index].Reset(); // before signalling completion, so the next Run's Set cannot be lost
            if (_stop) return;
            _fn(_ctx, index, Count);
            if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
        }
    }

    public void Dispose()
    {
        _stop = true;
        for (int i = 1; i < Count; i++) _start[i].Set();
        foreach (var t in _threads) t.Join();
        for (int i = 1; i < Count; i++) _start[i].Dispose();
        _done.Dispose();
    }
}
