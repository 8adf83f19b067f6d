namespace TtEngine.Model;

/// <summary>Options fixed when a model is loaded.</summary>
public sealed class EngineOptions
{
    /// <summary>Threads used for matrix-vector products (caller included). 0 = one per physical core (<see cref="Runtime.CpuTopology.PhysicalCores"/>).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Default per-sequence KV-cache capacity in tokens when <see cref="LlamaModel.CreateSequence"/> is not given one.
    /// 0 = min(trained context length, 4096).
    /// </summary>
    public int DefaultContextLength { get; init; }

    /// <summary>
    /// Quantize activations to Q8 blocks once per row and multiply Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q4_K/Q5_K/Q6_K weights in the integer domain
    /// (default, as llama.cpp does; adds ~0.1-1% relative error per matrix product). False keeps float activations and
    /// the float-domain kernels (bit-for-bit the reference arithmetic; used by the conformance tests).
    /// </summary>
    public bool QuantizedActivations { get; init; } = true;

    /// <summary>
    /// Element type of every sequence's KV cache. <see cref="KvCacheType.F16"/> (default) halves the cache's memory and
    /// the bytes attention streams per token (keys/values rounded to half precision, as llama.cpp's default cache);
    /// <see cref="KvCacheType.F32"/> keeps them exact.
    /// </summary>
    public KvCacheType KvCacheType { get; init; } = KvCacheType.F16;

    /// <summary>
    /// Copy Q4_0, Q8_0, Q4_K and Q6_K matrices once, at load, into the 8-row interleaved forms of <see cref="Kernels.Q4_0x8"/>,
    /// <see cref="Kernels.Q8_0x8"/>, <see cref="Kernels.Q4_Kx8"/> and <see cref="Kernels.Q6_Kx8"/> (default; the same size as the file's matrices, 2.8%
    /// more for Q4_K, whose mapped pages
    /// are then released, so resident memory does not grow). Decode
    /// then costs far fewer instructions per weight byte. Needs <see cref="QuantizedActivations"/> and AVX2; false keeps
    /// every matrix mapped from the file and multiplied row by row.
    /// </summary>
    public bool InterleaveWeights { get; init; } = true;
}

/// <summary>Element type of the KV cache.</summary>
public enum KvCacheType
{
    /// <summary>IEEE half precision (2 bytes per element), converted to float in attention.</summary>
    F16,
    /// <summary>Single precision (4 bytes per element).</summary>
    F32,
}

/// <summary>Thrown when a sequence would grow past its context (KV cache) capacity.</summary>
public sealed class ContextLimitExceededException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ContextLimitExceededException(int position, int capacity)
        : base($"context limit reached: position {position} is past the sequence capacity of {capacity} tokens")
    {
        Position = position;
        Capacity = capacity;
    }

    /// <summary>The position that did not fit.</summary>
    public int Position { get; }
    /// <summary>The sequence capacity.</summary>
    public int Capacity { get; }
}
