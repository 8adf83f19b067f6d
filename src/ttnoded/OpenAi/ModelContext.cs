using System.Collections.Concurrent;
using TtEngine.Gguf;
using Ttnoded.Inference;

namespace Ttnoded.OpenAi;

/// <summary>A registered model's context length ({arch}.context_length in its GGUF header), read once per file.</summary>
public static class ModelContext
{
    private static readonly ConcurrentDictionary<string, int> Lengths = new(StringComparer.Ordinal);

    /// <summary>The context length of <paramref name="name"/>, or null when unknown (not registered, unreadable).</summary>
    public static int? Length(IModelCatalog catalog, string name)
    {
        if (catalog.Find(name) is not { } loc) return null;
        int n = Lengths.GetOrAdd(loc.GgufPath, static path =>
        {
            try
            {
                using var gguf = GgufFile.Open(path);
                if (!gguf.TryGetString("general.architecture", out string arch)) return 0;
                return gguf.TryGetUInt32(arch + ".context_length", out uint v) ? (int)Math.Min(v, int.MaxValue) : 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or GgufFormatException)
            {
                return 0;
            }
        });
        return n > 0 ? n : null;
    }
}
