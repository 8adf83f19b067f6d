using System.Runtime.InteropServices;

namespace TtEngine.Runtime;

/// <summary>
/// A manual-reset event for <see cref="WorkerPool"/>: spins a while, then sleeps on a Linux futex. Nothing is allocated
/// after construction, on any path: ManualResetEventSlim and Monitor allocate their waiters, conditions and wait events
/// lazily in the AOT runtime, the first time a thread blocks or a lock is contended, which happened inside the engine
/// benchmark's timed windows (it counts the whole process's allocations per token).
/// </summary>
internal sealed unsafe partial class SpinThenBlockEvent : IDisposable
{
    private readonly int* _word; // 1 = set; native memory, so the kernel's futex address never moves
    private readonly int _spinCount;
    private int _waiters;

    public SpinThenBlockEvent(int spinCount)
    {
        _spinCount = spinCount;
        _word = (int*)NativeMemory.AlignedAlloc(64, 64); // a line of its own: workers poll it while the others write theirs
        *_word = 0;
    }

    public void Set()
    {
        Interlocked.Exchange(ref *_word, 1);
        // a waiter counts itself (full fence) before it looks at the word, and this reads _waiters after setting it (full
        // fence): one of the two sees the other; and FUTEX_WAIT sleeps only if the word is still 0, atomically
        if (Volatile.Read(ref _waiters) > 0) Futex(_word, FutexWake, int.MaxValue);
    }

    public void Reset() => Volatile.Write(ref *_word, 0);

    /// <summary>Threads that have stopped spinning and are blocked (or about to block) in <see cref="Wait"/>.</summary>
    internal int Blocked => Volatile.Read(ref _waiters);

    public void Wait()
    {
        var spinner = new SpinWait();
        for (int i = 0; i < _spinCount; i++)
        {
            if (Volatile.Read(ref *_word) != 0) return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        Interlocked.Increment(ref _waiters);
        while (Volatile.Read(ref *_word) == 0) Futex(_word, FutexWait, 0); // returns at once if the word is no longer 0; EINTR loops
        Interlocked.Decrement(ref _waiters);
    }

    public void Dispose() => NativeMemory.AlignedFree(_word);

    private const int FutexWait = 0 | 128, FutexWake = 1 | 128; // FUTEX_PRIVATE_FLAG: the word is not shared across processes

    private static readonly long SysFutex = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 98 : 202;

    private static void Futex(int* word, int op, int value) => syscall(SysFutex, word, op, value, null, null, 0);

    [LibraryImport("libc")]
    private static partial long syscall(long number, int* uaddr, int op, int val, void* timeout, void* uaddr2, int val3);
}
