using System.Runtime.InteropServices;

namespace TtEngine.Runtime;

/// <summary>
/// 64-byte aligned native memory owned by a SafeHandle (scratch buffers, KV caches and interleaved weights live outside
/// the GC heap). Streamed buffers of 2 MiB or more can ask for transparent huge pages (<see cref="PageAdvice.PreferHugePages"/>).
/// </summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    public NativeBuffer(long bytes, bool clear = true, bool hugePages = false) : base(IntPtr.Zero, true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        bool huge = hugePages && bytes >= PageAdvice.HugePageBytes;
        void* p = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 64), huge ? (nuint)PageAdvice.HugePageBytes : 64);
        if (huge) PageAdvice.PreferHugePages((byte*)p, bytes); // before the first touch, which is when pages are chosen
        if (clear) NativeMemory.Clear(p, (nuint)Math.Max(bytes, 64));
        SetHandle((IntPtr)p);
    }

    public long Bytes { get; }

    public float* Floats => (float*)handle;

    public byte* Pointer => (byte*)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
