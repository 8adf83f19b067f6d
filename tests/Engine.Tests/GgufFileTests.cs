using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtEngine.Tests;

public class GgufFileTests
{
    [Fact]
    public void Open_Stories260K_ReadsHeaderMetadataAndTensors()
    {
        using var f = GgufFile.Open(TestData.Stories260K);
        Assert.Equal(3u, f.Version);
        Assert.Equal(19, f.Keys.Count());
        Assert.Equal(48, f.Tensors.Count);
        Assert.Equal(14176, f.DataOffset);
        Assert.True(f.TryGetString("general.architecture", out string arch));
        Assert.Equal("llama", arch);
        Assert.True(f.TryGetUInt32("llama.context_length", out uint ctx));
        Assert.Equal(2048u, ctx);
        Assert.True(f.TryGetUInt32("llama.attention.head_count_kv", out uint kv));
        Assert.Equal(4u, kv);
        Assert.True(f.TryGetFloat32("llama.attention.layer_norm_rms_epsilon", out float eps));
        Assert.Equal(1e-5f, eps);
        Assert.False(f.TryGetFloat32("llama.rope.freq_base", out _));
        Assert.True(f.TryGetStringArray("tokenizer.ggml.tokens", out string[] toks));
        Assert.Equal(512, toks.Length);
        Assert.Equal("<unk>", toks[0]);
        Assert.Equal("<0x00>", toks[3]);
        Assert.True(f.TryGetFloat32Array("tokenizer.ggml.scores", out float[] scores));
        Assert.Equal(512, scores.Length);
        Assert.True(f.TryGetInt32Array("tokenizer.ggml.token_type", out int[] types));
        Assert.Equal(2, types[0]);
        Assert.Equal(6, types[3]);
        Assert.True(f.TryGetUInt32("tokenizer.ggml.seperator_token_id", out uint sep));
        Assert.Equal(0xFFFFFFFFu, sep);
        Assert.False(f.TryGetInt32("tokenizer.ggml.seperator_token_id", out _));
        Assert.False(f.TryGetString("llama.block_count", out _)); // wrong type is not coerced

        Assert.True(f.TryGetTensor("token_embd.weight", out var emb));
        Assert.Equal(GgmlType.F32, emb.Type);
        Assert.Equal(new long[] { 64, 512 }, emb.Dimensions);
        Assert.Equal(512, emb.RowCount);
        Assert.Equal(64L * 512 * 4, emb.ByteSize);
        Assert.True(f.TryGetTensor("blk.0.ffn_down.weight", out var down));
        Assert.Equal(new long[] { 172, 64 }, down.Dimensions);
        // parameter count is the sum of the element counts
        Assert.Equal(f.Tensors.Sum(t => t.ElementCount), f.ParameterCount);
    }

    [Fact]
    public void Open_ThroughSymbolicLink_MeasuresTheTarget()
    {
        string link = Path.Combine(Path.GetTempPath(), $"ttengine-link-{Guid.NewGuid():N}.gguf");
        File.CreateSymbolicLink(link, Path.GetFullPath(TestData.Stories260K));
        try
        {
            using var f = GgufFile.Open(link);
            Assert.Equal(new FileInfo(TestData.Stories260K).Length, f.FileLength);
            Assert.NotEmpty(f.Tensors);
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public void Open_Stories260K_TensorsEqualLlama2cCheckpoint()
    {
        // The .bin holds the same floats: header 7 x int32, then tok_emb[512x64] first.
        byte[] bin = File.ReadAllBytes(TestData.Model("stories260K", "stories260K.bin"));
        using var f = GgufFile.Open(TestData.Stories260K);
        Assert.True(f.TryGetTensor("token_embd.weight", out var emb));
        Assert.True(f.GetTensorBytes(emb).SequenceEqual(bin.AsSpan(28, 512 * 64 * 4)));
        // rms_att for 5 layers follows tok_emb; layer 2's attn_norm
        Assert.True(f.TryGetTensor("blk.2.attn_norm.weight", out var n2));
        Assert.True(f.GetTensorBytes(n2).SequenceEqual(bin.AsSpan(28 + 512 * 64 * 4 + 2 * 64 * 4, 64 * 4)));
    }

    [Fact]
    public void Open_VocabOnlyGguf_HasNoTensors()
    {
        using var f = GgufFile.Open(TestData.Model("llama.cpp-vocab", "ggml-vocab-deepseek-coder.gguf"));
        Assert.Empty(f.Tensors);
        Assert.True(f.TryGetString("tokenizer.ggml.pre", out string pre));
        Assert.Equal("deepseek-coder", pre);
        Assert.True(f.TryGetArrayLength("tokenizer.ggml.merges", out long merges));
        Assert.Equal(31757, merges);
        Assert.True(f.TryGetBool("tokenizer.ggml.add_bos_token", out bool addBos));
        Assert.True(addBos);
    }

    internal static byte[] SmallFile(uint alignment = 32)
    {
        var w = new GgufWriter(alignment);
        w.AddString("general.architecture", "llama");
        w.AddUInt32("llama.block_count", 2);
        w.AddUInt64("big", 1UL << 40);
        w.AddInt32("neg", -5);
        w.AddFloat32("f", 1.5f);
        w.AddBool("b", true);
        w.AddStringArray("sa", ["a", "ßç", ""]);
        w.AddFloat32Array("fa", [1f, -2f]);
        w.AddInt32Array("ia", [3, -4]);
        w.AddTensor("t0", [4, 2], new float[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        w.AddTensor("t1", GgmlType.Q8_0, [32], new byte[34]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        return ms.ToArray();
    }

    private static string WriteTemp(byte[] data)
    {
        string p = TestData.TempFile("x.gguf");
        File.WriteAllBytes(p, data);
        return p;
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    public unsafe void Writer_RoundTrips(uint alignment)
    {
        string p = WriteTemp(SmallFile(alignment));
        using var f = GgufFile.Open(p);
        Assert.Equal(alignment, f.Alignment);
        Assert.Equal(0, f.DataOffset % alignment);
        Assert.True(f.TryGetUInt32("llama.block_count", out uint bc) && bc == 2);
        Assert.True(f.TryGetUInt64("big", out ulong big) && big == 1UL << 40);
        Assert.False(f.TryGetUInt32("big", out _));
        Assert.True(f.TryGetInt32("neg", out int neg) && neg == -5);
        Assert.False(f.TryGetUInt64("neg", out _));
        Assert.True(f.TryGetFloat32("f", out float fl) && fl == 1.5f);
        Assert.True(f.TryGetBool("b", out bool b) && b);
        Assert.True(f.TryGetStringArray("sa", out var sa));
        Assert.Equal(["a", "ßç", ""], sa);
        Assert.True(f.TryGetFloat32Array("fa", out var fa));
        Assert.Equal([1f, -2f], fa);
        Assert.True(f.TryGetInt32Array("ia", out var ia));
        Assert.Equal([3, -4], ia);
        Assert.True(f.TryGetTensor("t0", out var t0));
        float* data = (float*)f.GetTensorPointer(t0);
        Assert.Equal(8f, data[7]);
        Assert.True(f.TryGetTensor("t1", out var t1));
        Assert.Equal(34, t1.ByteSize);
        Assert.Equal(0, t1.Offset % alignment);
    }

    private static void AssertBad(byte[] data, string expectedInMessage)
    {
        var ex = Assert.Throws<GgufFormatException>(() => { using var _ = GgufFile.Open(WriteTemp(data)); });
        Assert.Contains(expectedInMessage, ex.Message);
    }

    [Fact]
    public void Open_BadMagic_NamesField()
    {
        byte[] d = SmallFile();
        d[0] = (byte)'X';
        AssertBad(d, "magic");
    }

    [Fact]
    public void Open_BadVersion_NamesValueAndLimit()
    {
        byte[] d = SmallFile();
        d[4] = 1;
        AssertBad(d, "version: 1 is outside the supported range 2..3");
    }

    [Fact]
    public void Open_Version2_Accepted()
    {
        byte[] d = SmallFile();
        d[4] = 2; // v2 and v3 share the little-endian layout
        using var f = GgufFile.Open(WriteTemp(d));
        Assert.Equal(2u, f.Version);
        Assert.Equal(2, f.Tensors.Count);
    }

    [Fact]
    public void Open_NestedArray_Rejected()
    {
        var w = new GgufWriter();
        w.AddInt32Array("ia", [1]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] d = ms.ToArray();
        // key "ia": 24 + 8 + 2 = 34 → value type u32 (Array), then element type at 38
        BitConverter.GetBytes((uint)GgufValueType.Array).CopyTo(d, 38);
        AssertBad(d, "nested arrays");
    }

    [Fact]
    public void Open_BadAlignment_Rejected()
    {
        var w = new GgufWriter();
        w.AddUInt32("general.alignment", 48);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        AssertBad(ms.ToArray(), "48 is not a non-zero power of two");
    }

    [Fact]
    public void Fuzz_RealFileHeader_MutationsNeverCrash()
    {
        byte[] good = File.ReadAllBytes(TestData.Stories260K);
        var rng = new Random(99);
        int rejected = 0;
        for (int iter = 0; iter < 150; iter++)
        {
            byte[] d = (byte[])good.Clone();
            if (iter % 3 == 0) d = d.AsSpan(0, rng.Next(14300)).ToArray(); // truncated inside the header or tensor table
            else
                for (int k = 0; k < 1 + rng.Next(3); k++) d[rng.Next(14176)] = (byte)rng.Next(256);
            string p = WriteTemp(d);
            try
            {
                using var f = GgufFile.Open(p);
                foreach (var t in f.Tensors) Assert.True(t.FileOffset + t.ByteSize <= d.Length);
                f.TryGetStringArray("tokenizer.ggml.tokens", out _);
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
            File.Delete(p);
        }
        Assert.True(rejected >= 50, $"rejected {rejected}");
    }

    [Fact]
    public void Open_HugeTensorCount_Rejected()
    {
        byte[] d = SmallFile();
        BitConverter.GetBytes(ulong.MaxValue).CopyTo(d, 8);
        AssertBad(d, "tensor_count");
    }

    [Fact]
    public void Open_HugeKvCount_Rejected()
    {
        byte[] d = SmallFile();
        BitConverter.GetBytes(1UL << 60).CopyTo(d, 16);
        AssertBad(d, "kv_count");
    }

    [Fact]
    public void Open_HugeStringLength_Rejected()
    {
        byte[] d = SmallFile();
        BitConverter.GetBytes(1UL << 62).CopyTo(d, 24); // first key length
        AssertBad(d, "kv[0].key");
    }

    [Fact]
    public void Open_ShapeNotMultipleOfBlock_NamesTensor()
    {
        var w = new GgufWriter();
        w.AddTensor("q", GgmlType.Q8_0, [32], new byte[34]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] d = ms.ToArray();
        // patch ne[0] of the only tensor: header 24 bytes, name len 8 + "q" 1, n_dims 4 → ne0 at 37
        BitConverter.GetBytes(31UL).CopyTo(d, 37);
        AssertBad(d, "tensor 'q': ne[0]=31 not a multiple of block size 32");
    }

    [Fact]
    public void Open_TensorPastEnd_Rejected()
    {
        byte[] d = SmallFile();
        AssertBad(d.AsSpan(0, d.Length - 1).ToArray(), "past the end");
    }

    [Fact]
    public void Open_TinyFile_Rejected()
    {
        AssertBad([0x47, 0x47], "header");
    }

    [Fact]
    public void Fuzz_MutationsAndTruncations_ThrowOnlyFormatException()
    {
        byte[] good = SmallFile();
        var rng = new Random(1234);
        int opened = 0, rejected = 0;
        for (int iter = 0; iter < 400; iter++)
        {
            byte[] d;
            if (iter % 4 == 0)
            {
                d = good.AsSpan(0, rng.Next(good.Length)).ToArray();
            }
            else
            {
                d = (byte[])good.Clone();
                int n = 1 + rng.Next(4);
                for (int k = 0; k < n; k++)
                {
                    int at = rng.Next(Math.Min(d.Length, 400)); // mostly the header region
                    d[at] = rng.Next(3) switch { 0 => 0xFF, 1 => 0, _ => (byte)rng.Next(256) };
                }
            }
            string p = WriteTemp(d);
            try
            {
                using var f = GgufFile.Open(p);
                foreach (var k in f.Keys)
                {
                    f.TryGetString(k, out _);
                    f.TryGetStringArray(k, out _);
                    f.TryGetInt32Array(k, out _);
                    f.TryGetFloat32Array(k, out _);
                }
                foreach (var t in f.Tensors)
                    Assert.True(t.FileOffset + t.ByteSize <= d.Length);
                opened++;
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
            File.Delete(p);
        }
        Assert.True(rejected > 100, $"rejected {rejected}");
        Assert.True(opened > 0, $"opened {opened}");
    }
}
