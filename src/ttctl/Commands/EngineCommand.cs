using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using TtEngine.Gguf;
using TtEngine.Model;

namespace Ttctl.Commands;

/// <summary>`ttctl engine ...`: runs the built-in Llama engine in-process (no daemon).</summary>
internal static class EngineCommand
{
    public static Command Create() =>
        new("engine", "Run the built-in Llama engine in this process (no daemon)") { EngineRunCommand.Create(), EngineSynthCommand.Create(), EngineBenchCommand.Create() };

    /// <summary>Loads a GGUF for an engine verb; a malformed file is one line on stderr and false (exit 2).</summary>
    public static bool TryLoad(string path, int threads, [NotNullWhen(true)] out LlamaModel? model, KvCacheType kvCache = KvCacheType.F16,
        bool interleave = true)
    {
        try
        {
            model = LlamaModel.Load(path, new EngineOptions { Threads = threads, KvCacheType = kvCache, InterleaveWeights = interleave });
            return true;
        }
        catch (GgufFormatException e)
        {
            Console.Error.WriteLine($"ttctl: {e.Message}");
            model = null;
            return false;
        }
    }
}
