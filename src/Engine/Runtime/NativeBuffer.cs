using System.Runtime.InteropServices;

namespace TtEngine.Runtime;

/// <summary>64-byte aligned native memory owned by a SafeHandle (scratch buffers and KV caches live outside the GC heap).</summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    public NativeBuffer(long bytes, bool clear = true) : base(IntPtr.Zero, true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        void* p = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 64), 64);
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
