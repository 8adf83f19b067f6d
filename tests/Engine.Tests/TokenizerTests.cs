using System.Text;
using TtEngine.Gguf;
using TtEngine.Tokenization;

namespace TtEngine.Tests;

public class TokenizerTests
{
    private static readonly Lazy<Tokenizer> Spm = new(() => FromGguf("ggml-vocab-llama-spm.gguf"));
    private static readonly Lazy<Tokenizer> DeepSeek = new(() => FromGguf("ggml-vocab-deepseek-coder.gguf"));
    private static readonly Lazy<Tokenizer> Llama3 = new(() => Tokenizer.FromHuggingFaceJson(TestData.Model("llama3-tokenizer", "tokenizer.json")));

    private static Tokenizer FromGguf(string name)
    {
        using var f = GgufFile.Open(TestData.Model("llama.cpp-vocab", name));
        return Tokenizer.FromGguf(f);
    }

    /// <summary>llama.cpp test-tokenizer-0 cases: strings separated by "\n__ggml_vocab_test__\n", one line of ids per string.</summary>
    private static (string text, int[] ids)[] Cases(string baseName)
    {
        string inp = File.ReadAllText(TestData.Model("llama.cpp-vocab", baseName + ".inp"), Encoding.UTF8);
        string[] texts = inp.Split("\n__ggml_vocab_test__\n");
        string[] lines = File.ReadAllText(TestData.Model("llama.cpp-vocab", baseName + ".out")).Split('\n');
        var cases = new (string, int[])[46];
        for (int i = 0; i < 46; i++)
            cases[i] = (texts[i], lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray());
        return cases;
    }

    private static void AssertAll(Tokenizer tok, string baseName)
    {
        var failures = new List<string>();
        foreach (var (text, want) in Cases(baseName))
        {
            int[] got = tok.Encode(text, addSpecial: false, parseSpecial: false);
            if (!got.SequenceEqual(want))
                failures.Add($"'{text}': got [{string.Join(' ', got)}] want [{string.Join(' ', want)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count}/46 failed:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void LlamaSpm_46of46() => AssertAll(Spm.Value, "ggml-vocab-llama-spm.gguf");

    [Fact]
    public void DeepSeekCoder_46of46() => AssertAll(DeepSeek.Value, "ggml-vocab-deepseek-coder.gguf");

    [Fact]
    public void Llama3TokenizerJson_46of46() => AssertAll(Llama3.Value, "ggml-vocab-llama-bpe.gguf");

    /// <summary>
    /// Llama 3 GGUFs carry this vocabulary as tokenizer.ggml.model = gpt2, pre = llama-bpe. No such GGUF is available, so
    /// write one from tokenizer.json (as llama.cpp's converter does) and hold the GGUF path to the same 46 cases.
    /// </summary>
    [Fact]
    public void Llama3Gguf_GeneratedFromTokenizerJson_46of46()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(TestData.Model("llama3-tokenizer", "tokenizer.json")));
        var model = doc.RootElement.GetProperty("model");
        var tokens = new string[128256];
        var types = new int[128256];
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) { tokens[p.Value.GetInt32()] = p.Name; types[p.Value.GetInt32()] = 1; }
        foreach (var a in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            tokens[a.GetProperty("id").GetInt32()] = a.GetProperty("content").GetString()!;
            types[a.GetProperty("id").GetInt32()] = 3;
        }
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList();
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddString("tokenizer.ggml.model", "gpt2");
        w.AddString("tokenizer.ggml.pre", "llama-bpe");
        w.AddStringArray("tokenizer.ggml.tokens", tokens);
        w.AddInt32Array("tokenizer.ggml.token_type", types);
        w.AddStringArray("tokenizer.ggml.merges", merges);
        w.AddUInt32("tokenizer.ggml.bos_token_id", 128000);
        w.AddUInt32("tokenizer.ggml.eos_token_id", 128009);
        w.AddBool("tokenizer.ggml.add_bos_token", true);
        string path = TestData.TempFile("llama3-vocab.gguf");
        w.WriteTo(path);
        using (var f = GgufFile.Open(path))
        {
            var tok = Tokenizer.FromGguf(f);
            Assert.Equal("gpt2", tok.Model);
            Assert.Equal(128009, tok.EotId);
            Assert.True(tok.IsEndOfGeneration(128009));
            AssertAll(tok, "ggml-vocab-llama-bpe.gguf");
            Assert.Equal(128000, tok.Encode("x")[0]);
        }
        File.Delete(path);
    }

    [Fact]
    public void UnknownPreTokenizer_NamedInError()
    {
        var w = new GgufWriter();
        w.AddString("tokenizer.ggml.model", "gpt2");
        w.AddString("tokenizer.ggml.pre", "qwen2");
        w.AddStringArray("tokenizer.ggml.tokens", ["a", "b"]);
        w.AddStringArray("tokenizer.ggml.merges", ["a b"]);
        string path = TestData.TempFile("pre.gguf");
        w.WriteTo(path);
        using var f = GgufFile.Open(path);
        var ex = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(f));
        Assert.Contains("pre-tokenizer 'qwen2' is not supported", ex.Message);
    }

    [Fact]
    public void Spm_SpecialIdsAndBos()
    {
        var t = Spm.Value;
        Assert.Equal("llama", t.Model);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.True(t.IsEndOfGeneration(2));
        Assert.Equal([1, 15043, 3186], t.Encode("Hello world"));
        Assert.Equal("Hello world", t.Decode(t.Encode("Hello world")));
        // control text is not parsed unless asked
        Assert.Equal([1, 2], t.Encode("<s></s>", addSpecial: false, parseSpecial: true));
        Assert.NotEqual([1, 2], t.Encode("<s></s>", addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Llama3_SpecialTokens()
    {
        var t = Llama3.Value;
        Assert.Equal(128000, t.BosId);
        Assert.Equal(128009, t.EotId);
        Assert.True(t.IsEndOfGeneration(128009));
        Assert.True(t.IsEndOfGeneration(t.EosId));
        int[] ids = t.Encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", addSpecial: true, parseSpecial: true);
        Assert.Equal(128000, ids[0]);
        Assert.Equal(128006, ids[1]);
        Assert.Equal(128009, ids[^1]);
        Assert.Equal("user\n\nHi", t.Decode(ids));
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", t.Decode(ids, renderSpecial: true));
    }

    [Fact]
    public void Stories260K_VocabEncodesGoldenPrompt()
    {
        using var f = GgufFile.Open(TestData.Stories260K);
        var t = Tokenizer.FromGguf(f);
        Assert.Equal([1, 403, 407, 261, 378], t.Encode("Once upon a time"));
    }

    public static TheoryData<string> RoundTripTokenizers => new() { "spm", "llama3", "deepseek" };

    [Theory]
    [MemberData(nameof(RoundTripTokenizers))]
    public void WarAndPeace_EncodeDecode_RoundTripsByteForByte(string which)
    {
        var t = which switch { "spm" => Spm.Value, "llama3" => Llama3.Value, _ => DeepSeek.Value };
        byte[] original = File.ReadAllBytes(TestData.Model("corpora", "war-and-peace.txt"));
        string text = Encoding.UTF8.GetString(original);
        int[] ids = t.Encode(text, addSpecial: false);
        Assert.True(ids.Length > original.Length / 8, $"{ids.Length} tokens");
        byte[] back = Encoding.UTF8.GetBytes(t.Decode(ids));
        Assert.Equal(original.Length, back.Length);
        Assert.True(original.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public void StreamingDetokenizer_NeverEmitsHalfACharacter()
    {
        var t = Spm.Value;
        string text = "Führer 🦙 ½ 我想在 нещо";
        int[] ids = t.Encode(text, addSpecial: true);
        Assert.Contains(ids, id => t.GetTokenType(id) == TokenType.Byte); // byte-fallback pieces are in play
        var d = new StreamingDetokenizer(t);
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            string piece = d.Push(id);
            Assert.DoesNotContain('\uFFFD', piece);
            foreach (char c in piece.Where(char.IsSurrogate)) Assert.True(char.IsSurrogatePair(piece, piece.IndexOf(c)) || char.IsLowSurrogate(c));
            sb.Append(piece);
        }
        sb.Append(d.Flush());
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void StreamingDetokenizer_ByteLevel_SplitsOnlyAtCharacterBoundaries()
    {
        var t = Llama3.Value;
        string text = "emoji 😶‍🌫️ and 🦙🦙 done";
        int[] ids = t.Encode(text, addSpecial: false);
        var d = new StreamingDetokenizer(t);
        var pieces = ids.Select(d.Push).ToList();
        pieces.Add(d.Flush());
        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal(text, string.Concat(pieces));
    }

    [Fact]
    public void CompleteLength_HoldsIncompleteTail()
    {
        Assert.Equal(1, StreamingDetokenizer.CompleteLength(new byte[] { 0x61, 0xF0, 0x9F }));
        Assert.Equal(5, StreamingDetokenizer.CompleteLength(new byte[] { 0x61, 0xF0, 0x9F, 0xA6, 0x99 }));
        Assert.Equal(2, StreamingDetokenizer.CompleteLength(new byte[] { 0x61, 0xFF })); // invalid byte is not held
        Assert.Equal(1, StreamingDetokenizer.CompleteLength(new byte[] { 0x61, 0xC3 }));
    }
}

/// <summary>Pre-tokenizer splits of text with characters outside the BMP, against the same pattern on code points.</summary>
public sealed class PreTokenizerAstralTests
{
    // Expected splits: the Llama-3 pattern as a JavaScript /u regex (code points, as tokenizers and llama.cpp match),
    // computed with node for these strings.
    [Theory]
    [InlineData("😀hello world", new[] { "😀hello", " world" })]
    [InlineData("𝒜bc def", new[] { "𝒜bc", " def" })]
    [InlineData("𝟏𝟐𝟑𝟒5", new[] { "𝟏𝟐𝟑", "𝟒5" })]
    [InlineData("a 😀😀 b", new[] { "a", " 😀😀", " b" })]
    [InlineData("x\U00010400\U00010401y 🎉!", new[] { "x\U00010400\U00010401y", " 🎉!" })]
    [InlineData("it's 𝐀's", new[] { "it", "'s", " 𝐀", "'s" })]
    [InlineData("plain text, no surrogates", new[] { "plain", " text", ",", " no", " surrogates" })]
    public void Llama3_pattern_splits_supplementary_characters_as_whole_code_points(string text, string[] expected)
    {
        var pre = new PreTokenizer(PreTokenizer.RegexesFor("llama-bpe")!);
        var words = new List<(int start, int length)>();
        pre.Split(text, words);
        Assert.Equal(expected, words.Select(w => text.Substring(w.start, w.length)).ToArray());
    }
}
