using System.Text.RegularExpressions;

namespace TtEngine.Tokenization;

/// <summary>
/// Splits text into words before BPE, as llama.cpp's unicode_regex_split: each regex in turn splits every current
/// piece into its matches and the unmatched text between them (both kept). Patterns per <c>tokenizer.ggml.pre</c>.
/// .NET regexes see UTF-16 units, while the reference tokenizers see code points: text with characters outside the BMP
/// (emoji, mathematical letters, ...) is matched on a projection with one stand-in character per code point, of the same
/// Unicode class, and the word bounds are mapped back.
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
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0) { SplitUnits(text, words); return; }
        var (projected, origin) = Project(text);
        SplitUnits(projected, words);
        for (int i = 0; i < words.Count; i++)
        {
            var (start, length) = words[i];
            words[i] = (origin[start], origin[start + length] - origin[start]);
        }
    }

    /// <summary>
    /// One UTF-16 unit per code point: a supplementary character becomes a BMP stand-in the patterns classify the same way
    /// (\p{L}, \p{N}, \p{P}, \p{M}, symbol, other). <c>origin[i]</c> is the index in <paramref name="text"/> of unit i.
    /// </summary>
    private static (string Projected, int[] Origin) Project(string text)
    {
        var chars = new char[text.Length];
        var origin = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            origin[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                chars[n++] = StandIn(System.Globalization.CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i++;
            }
            else chars[n++] = text[i];
        }
        origin[n] = text.Length;
        return (new string(chars, 0, n), origin);
    }

    private static char StandIn(System.Globalization.UnicodeCategory c) => c switch
    {
        <= System.Globalization.UnicodeCategory.OtherLetter => '\u00AA',                  // ª, Lo (not a contraction letter)
        <= System.Globalization.UnicodeCategory.EnclosingMark => '\u0300',                // combining grave, Mn
        <= System.Globalization.UnicodeCategory.OtherNumber => '\u00B2',                  // ², No (not [0-9])
        >= System.Globalization.UnicodeCategory.ConnectorPunctuation and <= System.Globalization.UnicodeCategory.OtherPunctuation => '\u00A1', // ¡, Po
        >= System.Globalization.UnicodeCategory.MathSymbol and <= System.Globalization.UnicodeCategory.OtherSymbol => '\u00A9',              // ©, So
        _ => '\uE000',                                                                     // private use, Co
    };

    private void SplitUnits(string text, List<(int start, int length)> words)
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
