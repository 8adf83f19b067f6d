using System.Text.Json;

namespace TtEngine.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json whose model is byte-level BPE (Llama 3 style) with System.Text.Json's
/// reader (no reflection). Added tokens become control tokens when "special" and user-defined otherwise.
/// </summary>
internal static class HuggingFaceTokenizer
{
    public static Tokenizer Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        JsonElement root = doc.RootElement;
        JsonElement model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE") throw new FormatException($"{path}: model.type '{type}' is not supported (supported: BPE)");
        var vocab = new Dictionary<int, string>();
        foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Value.GetInt32()] = p.Name;
        var added = new Dictionary<int, (string text, bool special)>();
        if (root.TryGetProperty("added_tokens", out var at))
            foreach (JsonElement a in at.EnumerateArray())
                added[a.GetProperty("id").GetInt32()] = (a.GetProperty("content").GetString()!, a.TryGetProperty("special", out var sp) && sp.GetBoolean());
        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Keys.Max() + 1, added.Count == 0 ? 0 : added.Keys.Max() + 1);
        var pieces = new string[size];
        var types = new TokenType[size];
        for (int i = 0; i < size; i++)
        {
            if (added.TryGetValue(i, out var a))
            {
                pieces[i] = a.text;
                types[i] = a.special ? TokenType.Control : TokenType.UserDefined;
            }
            else if (vocab.TryGetValue(i, out string? v))
            {
                pieces[i] = v;
                types[i] = TokenType.Normal;
            }
            else
            {
                pieces[i] = $"[UNUSED_{i}]";
                types[i] = TokenType.Unused;
            }
        }
        var merges = new List<string>();
        foreach (JsonElement m in model.GetProperty("merges").EnumerateArray())
            merges.Add(m.ValueKind == JsonValueKind.Array ? m[0].GetString() + " " + m[1].GetString() : m.GetString()!);
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;

        string? pattern = FindSplitPattern(root.TryGetProperty("pre_tokenizer", out var pre) ? pre : default);
        string[] regexes = pattern is null || pattern == PreTokenizer.Llama3HuggingFace
            ? PreTokenizer.RegexesFor("llama-bpe")!
            : [pattern];

        int Find(string s) => Array.IndexOf(pieces, s);
        int bos = Find("<|begin_of_text|>"), eos = Find("<|end_of_text|>");
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            using var cfg = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (TokenText(cfg.RootElement, "bos_token") is string b && Find(b) >= 0) bos = Find(b);
            if (TokenText(cfg.RootElement, "eos_token") is string e && Find(e) >= 0) eos = Find(e);
        }
        var ids = new SpecialIds(bos, eos, -1, Find("<|eot_id|>"), AddBos: bos >= 0, AddEos: false);
        return new BpeTokenizer(pieces, types, merges, ids, new PreTokenizer(regexes), ignoreMerges);
    }

    private static string? TokenText(JsonElement cfg, string name)
    {
        if (!cfg.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c)) return c.GetString();
        return null;
    }

    private static string? FindSplitPattern(JsonElement pre)
    {
        if (pre.ValueKind != JsonValueKind.Object) return null;
        if (pre.TryGetProperty("type", out var t) && t.GetString() == "Split" &&
            pre.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var r))
            return r.GetString();
        if (pre.TryGetProperty("pretokenizers", out var list))
            foreach (JsonElement e in list.EnumerateArray())
                if (FindSplitPattern(e) is string s) return s;
        return null;
    }

    /// <summary>The chat_template in tokenizer_config.json beside <paramref name="tokenizerJsonPath"/>, if any.</summary>
    public static string? ReadChatTemplate(string tokenizerJsonPath)
    {
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!, "tokenizer_config.json");
        if (!File.Exists(configPath)) return null;
        using var cfg = JsonDocument.Parse(File.ReadAllBytes(configPath));
        return cfg.RootElement.TryGetProperty("chat_template", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
    }
}
