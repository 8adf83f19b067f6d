using System.Runtime.Intrinsics;

namespace TtEngine.Kernels;

/// <summary>Element-wise and normalisation kernels used by the forward pass (plain loops, vectorised where trivial).</summary>
public static unsafe class Ops
{
    /// <summary>o[i] = w[i] · x[i] / sqrt(mean(x²) + eps)  (RMSNorm, as llama2.c rmsnorm / ggml_rms_norm + mul).</summary>
    public static void RmsNorm(float* x, float* w, float* o, int n, float eps)
    {
        float ss = Dot.F32(x, x, n);
        ss = 1f / MathF.Sqrt(ss / n + eps);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(ss);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(w + i) * (s * Vector256.Load(x + i)), o + i);
        }
        for (; i < n; i++) o[i] = w[i] * (ss * x[i]);
    }

    /// <summary>In-place softmax over x[0..n).</summary>
    public static void Softmax(float* x, int n)
    {
        float max = x[0];
        for (int i = 1; i < n; i++) if (x[i] > max) max = x[i];
        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) x[i] *= inv;
    }

    /// <summary>y[i] += a · x[i].</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(y + i) + va * Vector256.Load(x + i), y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(y + i) + Vector256.Load(x + i), y + i);
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>g[i] = silu(g[i]) · u[i]  (SwiGLU).</summary>
    public static void SwiGlu(float* g, float* u, int n)
    {
        for (int i = 0; i < n; i++)
        {
            float v = g[i];
            g[i] = v / (1f + MathF.Exp(-v)) * u[i];
        }
    }
}
