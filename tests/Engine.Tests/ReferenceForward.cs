using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>
/// A naive, obviously-correct float64 Llama forward pass, written straight from the definitions: RMSNorm, adjacent-pair
/// RoPE, grouped-query causal attention, SwiGLU. Reads weights through the GGUF reader and the block decoders only.
/// </summary>
internal sealed class ReferenceForward
{
    private readonly int _dim, _heads, _kvHeads, _hd, _ff, _layers, _vocab, _ropeDim;
    private readonly double _base, _eps;
    private readonly double[]? _ropeFactors;
    private readonly double[][] _emb, _out;
    private readonly double[] _outNorm;
    private readonly (double[] an, double[][] q, double[][] k, double[][] v, double[][] o, double[] fn, double[][] g, double[][] u, double[][] d)[] _l;
    private readonly List<double[]>[] _kCache, _vCache;

    public ReferenceForward(string path)
    {
        using var f = GgufFile.Open(path);
        uint U(string k) { Assert.True(f.TryGetUInt32(k, out uint v), k); return v; }
        _dim = (int)U("llama.embedding_length");
        _heads = (int)U("llama.attention.head_count");
        _kvHeads = (int)U("llama.attention.head_count_kv");
        _hd = f.TryGetUInt32("llama.attention.key_length", out uint kl) ? (int)kl : _dim / _heads;
        _ff = (int)U("llama.feed_forward_length");
        _layers = (int)U("llama.block_count");
        _ropeDim = f.TryGetUInt32("llama.rope.dimension_count", out uint rd) ? (int)rd : _hd;
        _base = f.TryGetFloat32("llama.rope.freq_base", out float fb) ? fb : 10000.0;
        _eps = f.TryGetFloat32("llama.attention.layer_norm_rms_epsilon", out float e) ? e : 1e-5;
        double[][] M(string name)
        {
            Assert.True(f.TryGetTensor(name, out var t), name);
            int cols = (int)t.Dimensions[0], rows = (int)t.RowCount;
            float[] all = Quants.Dequantize(t.Type, f.GetTensorBytes(t), t.ElementCount);
            var r = new double[rows][];
            for (int i = 0; i < rows; i++) r[i] = all.AsSpan(i * cols, cols).ToArray().Select(x => (double)x).ToArray();
            return r;
        }
        double[] V(string name) => M(name)[0];
        _emb = M("token_embd.weight");
        _vocab = _emb.Length;
        _out = f.TryGetTensor("output.weight", out _) ? M("output.weight") : _emb;
        _outNorm = V("output_norm.weight");
        if (f.TryGetTensor("rope_freqs.weight", out _)) _ropeFactors = V("rope_freqs.weight");
        _l = new (double[], double[][], double[][], double[][], double[][], double[], double[][], double[][], double[][])[_layers];
        for (int l = 0; l < _layers; l++)
        {
            string b = $"blk.{l}.";
            _l[l] = (V(b + "attn_norm.weight"), M(b + "attn_q.weight"), M(b + "attn_k.weight"), M(b + "attn_v.weight"),
                M(b + "attn_output.weight"), V(b + "ffn_norm.weight"), M(b + "ffn_gate.weight"), M(b + "ffn_up.weight"), M(b + "ffn_down.weight"));
        }
        _kCache = Enumerable.Range(0, _layers).Select(_ => new List<double[]>()).ToArray();
        _vCache = Enumerable.Range(0, _layers).Select(_ => new List<double[]>()).ToArray();
    }

    private double[] RmsNorm(double[] x, double[] w)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double inv = 1.0 / Math.Sqrt(ms + _eps);
        return x.Select((v, i) => v * inv * w[i]).ToArray();
    }

    private static double[] MatVec(double[][] m, double[] x) =>
        m.Select(row => row.Zip(x, (a, b) => a * b).Sum()).ToArray();

    private void Rope(double[] v, int heads, int pos)
    {
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < _ropeDim / 2; i++)
            {
                double theta = pos * Math.Pow(_base, -2.0 * i / _ropeDim);
                if (_ropeFactors != null) theta /= _ropeFactors[i];
                double a = v[h * _hd + 2 * i], b = v[h * _hd + 2 * i + 1];
                v[h * _hd + 2 * i] = a * Math.Cos(theta) - b * Math.Sin(theta);
                v[h * _hd + 2 * i + 1] = a * Math.Sin(theta) + b * Math.Cos(theta);
            }
    }

    /// <summary>Feeds the next token (position = number fed so far) and returns the logits.</summary>
    public double[] Forward(int token)
    {
        int pos = _kCache[0].Count;
        double[] x = (double[])_emb[token].Clone();
        for (int l = 0; l < _layers; l++)
        {
            var L = _l[l];
            double[] xn = RmsNorm(x, L.an);
            double[] q = MatVec(L.q, xn), k = MatVec(L.k, xn), v = MatVec(L.v, xn);
            Rope(q, _heads, pos);
            Rope(k, _kvHeads, pos);
            _kCache[l].Add(k);
            _vCache[l].Add(v);
            double[] att = new double[_heads * _hd];
            for (int h = 0; h < _heads; h++)
            {
                int kvh = h * _kvHeads / _heads; // query head h uses kv head floor(h / (heads/kvHeads))
                double[] s = new double[pos + 1];
                for (int t = 0; t <= pos; t++)
                {
                    double dot = 0;
                    for (int i = 0; i < _hd; i++) dot += q[h * _hd + i] * _kCache[l][t][kvh * _hd + i];
                    s[t] = dot / Math.Sqrt(_hd);
                }
                double max = s.Max();
                double[] p = s.Select(z => Math.Exp(z - max)).ToArray();
                double sum = p.Sum();
                for (int t = 0; t <= pos; t++)
                    for (int i = 0; i < _hd; i++) att[h * _hd + i] += p[t] / sum * _vCache[l][t][kvh * _hd + i];
            }
            double[] o = MatVec(L.o, att);
            for (int i = 0; i < _dim; i++) x[i] += o[i];
            xn = RmsNorm(x, L.fn);
            double[] g = MatVec(L.g, xn), u = MatVec(L.u, xn);
            double[] hgl = g.Select((z, i) => z / (1 + Math.Exp(-z)) * u[i]).ToArray();
            double[] d = MatVec(L.d, hgl);
            for (int i = 0; i < _dim; i++) x[i] += d[i];
        }
        return MatVec(_out, RmsNorm(x, _outNorm));
    }
}
