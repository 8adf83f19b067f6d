using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtBundles;

/// <summary>
/// The manifest fields that come from a GGUF file, read through <see cref="GgufFile"/> (metadata only; tensor data is
/// never touched).
/// </summary>
/// <param name="Architecture"><c>general.architecture</c>.</param>
/// <param name="Name"><c>general.name</c>, or null.</param>
/// <param name="Quantization">Name of <c>general.file_type</c>, or of the dominant tensor type when absent.</param>
/// <param name="ParameterCount">Sum of tensor element counts.</param>
/// <param name="ContextLength"><c>&lt;arch&gt;.context_length</c>, or 0.</param>
/// <param name="ChatTemplate"><c>llama3</c>, <c>llama2</c>, <c>none</c> or <c>custom</c>.</param>
public sealed record GgufModelInfo(string Architecture, string? Name, string Quantization, long ParameterCount, long ContextLength, string ChatTemplate)
{
    /// <summary>Reads the metadata of the GGUF at <paramref name="path"/>.</summary>
    /// <exception cref="GgufFormatException">Not a valid GGUF, or <c>general.architecture</c> missing.</exception>
    public static GgufModelInfo Read(string path)
    {
        using var g = GgufFile.Open(path);
        if (!g.TryGetString("general.architecture", out string arch) || arch.Length == 0)
            throw new GgufFormatException(path, "general.architecture", "missing; cannot describe the model");
        string? name = g.TryGetString("general.name", out string n) && n.Length > 0 ? n : null;
        long ctx = g.TryGetUInt64(arch + ".context_length", out ulong c) ? (long)Math.Min(c, long.MaxValue) : 0;
        string quant = g.TryGetUInt32("general.file_type", out uint ft) ? FileTypeName(ft) : DominantType(g);
        string template = g.TryGetString("tokenizer.chat_template", out string t) ? TemplateId(t) : "none";
        return new GgufModelInfo(arch, name, quant, g.ParameterCount, ctx, template);
    }

    /// <summary>llama.cpp's <c>llama_ftype</c> names (without the <c>MOSTLY_</c> prefix).</summary>
    public static string FileTypeName(uint fileType) => fileType switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 7 => "Q8_0", 8 => "Q5_0", 9 => "Q5_1",
        10 => "Q2_K", 11 => "Q3_K_S", 12 => "Q3_K_M", 13 => "Q3_K_L", 14 => "Q4_K_S", 15 => "Q4_K_M",
        16 => "Q5_K_S", 17 => "Q5_K_M", 18 => "Q6_K", 19 => "IQ2_XXS", 20 => "IQ2_XS", 21 => "Q2_K_S",
        22 => "IQ3_XS", 23 => "IQ3_XXS", 24 => "IQ1_S", 25 => "IQ4_NL", 26 => "IQ3_S", 27 => "IQ3_M",
        28 => "IQ2_S", 29 => "IQ2_M", 30 => "IQ4_XS", 31 => "IQ1_M", 32 => "BF16", 36 => "TQ1_0", 37 => "TQ2_0",
        _ => $"ftype-{fileType}",
    };

    /// <summary>
    /// Recognises the chat template by its markers: Llama 3 headers, Llama 2 <c>[INST]</c>; anything else is
    /// <c>custom</c> (the engine then refuses chat until a template is chosen).
    /// </summary>
    public static string TemplateId(string template)
    {
        if (string.IsNullOrWhiteSpace(template)) return "none";
        if (template.Contains("<|start_header_id|>", StringComparison.Ordinal) && template.Contains("<|eot_id|>", StringComparison.Ordinal)) return "llama3";
        if (template.Contains("[INST]", StringComparison.Ordinal)) return "llama2";
        return "custom";
    }

    private static string DominantType(GgufFile g)
    {
        // No general.file_type (older converters): name the type holding the most elements.
        var byType = new Dictionary<GgmlType, long>();
        foreach (var t in g.Tensors) byType[t.Type] = byType.GetValueOrDefault(t.Type) + t.ElementCount;
        return byType.Count == 0 ? "unknown" : byType.MaxBy(kv => kv.Value).Key.ToString();
    }
}
