using System.Text.RegularExpressions;

namespace TtEngine.Tokenization;

/// <summary>
/// Splits text into words before BPE, as llama.cpp's unicode_regex_split: each regex in turn splits every current
/// piece into its matches and the unmatched text between them (both kept). Patterns per <c>tokenizer.ggml.pre</c>.
/// Limitation: .NET regexes see UTF-16, so letters outside the BMP count as non-letters.
/// </summary>
internal sealed partial class PreTokenizer
{
    private const string Llama3 =
        @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

    public static readonly string[] KnownNames = ["default", "llama-bpe", "llama3", "llama-v3", "gpt-2", "deepseek-coder"];

    /// <summary>The regex list for a pre-tokenizer name, or null if unknown.</summary>
    public static string[]? RegexesFor(string pre) => pre switch
    {
        "llama-bpe" or "llama3" or "llama-v3" => [Llama3],
        "gpt-2" => [Gpt2],
        "default" => [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"],
        "deepseek-coder" => [@"[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", @"\p{N}"],
        _ => null,
    };

    /// <summary>Llama 3 tokenizers look a whole word up in the vocabulary before merging (ignore_merges).</summary>
    public static bool IgnoresMerges(string pre) => pre is "llama-bpe" or "llama3" or "llama-v3";

    /// <summary>The Split pattern of Meta's Llama 3 tokenizer.json (same language as <see cref="Llama3"/>).</summary>
    public const string Llama3HuggingFace =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Llama3, RegexOptions.CultureInvariant)]
    private static partial Regex Llama3Regex();

    private readonly Regex[] _regexes;

    public PreTokenizer(string[] patterns)
    {
        _regexes = new Regex[patterns.Length];
        for (int i = 0; i < patterns.Length; i++)
            _regexes[i] = patterns[i] == Llama3 ? Llama3Regex() : new Regex(patterns[i], RegexOptions.CultureInvariant);
    }

    /// <summary>Appends the (start, length) of each word of <paramref name="text"/>.</summary>
    public void Split(string text, List<(int start, int length)> words)
    {
        words.Clear();
        if (text.Length == 0) return;
        words.Add((0, text.Length));
        var next = new List<(int, int)>();
        foreach (Regex re in _regexes)
        {
            next.Clear();
            foreach (var (start, length) in words)
            {
                int prev = start;
                foreach (ValueMatch m in re.EnumerateMatches(text.AsSpan(start, length)))
                {
                    if (m.Length == 0) continue;
                    int at = start + m.Index;
                    if (at > prev) next.Add((prev, at - prev));
                    next.Add((at, m.Length));
                    prev = at + m.Length;
                }
                if (prev < start + length) next.Add((prev, start + length - prev));
            }
            words.Clear();
            words.AddRange(next);
        }
    }
}
