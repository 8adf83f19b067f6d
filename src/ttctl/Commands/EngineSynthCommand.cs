using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TtEngine.Synthesis;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl engine synth --shape NAME --type {f16,q8_0,q4_0,q4_k_m} [--seed S] [--tokenizer PATH] -o FILE`: writes a llama GGUF
/// with deterministic random weights of a real model's shapes and a real tokenizer, for benchmarking any GGUF engine.
/// </summary>
internal static class EngineSynthCommand
{
    /// <summary>Where the shared tokenizers live when --tokenizer is not given (override with TT_SHARED_MODELS).</summary>
    private static string ModelsDir => Environment.GetEnvironmentVariable("TT_SHARED_MODELS") is { Length: > 0 } d ? d : "/work/shared/models";

    public static Command Create()
    {
        var shape = new Option<string>("--shape") { Description = "model shape: " + string.Join(", ", SyntheticShape.All.Select(s => s.Name)), Required = true };
        var type = new Option<string>("--type") { Description = "weights: f16, q8_0, q4_0, q4_k_m", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "weight seed (same seed, same file)", DefaultValueFactory = _ => 1 };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "Llama 3 tokenizer.json (Llama-3 shapes) or a GGUF with the Llama 2 vocab (others); default: from $TT_SHARED_MODELS",
        };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write", Required = true };
        var cmd = new Command("synth", "Write a random-weight GGUF of a real Llama shape (for benchmarks)") { shape, type, seed, tokenizer, output };
        cmd.SetAction((pr, ct) => Task.FromResult(Run(pr.GetValue(shape)!, pr.GetValue(type)!, pr.GetValue(seed), pr.GetValue(tokenizer), pr.GetValue(output)!)));
        return cmd;
    }

    private static int Run(string shapeName, string typeName, ulong seed, string? tokenizer, string output)
    {
        var shape = SyntheticShape.Find(shapeName);
        if (shape is null)
        {
            Console.Error.WriteLine($"ttctl: --shape '{shapeName}' is not one of {string.Join(", ", SyntheticShape.All.Select(s => s.Name))}");
            return ExitCodes.Usage;
        }
        SyntheticWeights? weights = typeName.ToLowerInvariant() switch
        {
            "f16" => SyntheticWeights.F16, "q8_0" => SyntheticWeights.Q8_0, "q4_0" => SyntheticWeights.Q4_0, "q4_k_m" => SyntheticWeights.Q4_K_M, _ => null,
        };
        if (weights is null)
        {
            Console.Error.WriteLine($"ttctl: --type '{typeName}' is not one of f16, q8_0, q4_0, q4_k_m");
            return ExitCodes.Usage;
        }
        tokenizer ??= shape.Llama3Vocab
            ? Path.Combine(ModelsDir, "llama3-tokenizer", "tokenizer.json")
            : Path.Combine(ModelsDir, "llama.cpp-vocab", "ggml-vocab-llama-spm.gguf");
        if (!File.Exists(tokenizer))
        {
            Console.Error.WriteLine($"ttctl: tokenizer '{tokenizer}': no such file (give --tokenizer)");
            return ExitCodes.Usage;
        }
        string tmp = output + ".partial";
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            SyntheticLlama.Write(tmp, shape, weights.Value, seed, tokenizer);
            File.Move(tmp, output, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or TtEngine.Gguf.GgufFormatException)
        {
            File.Delete(tmp);
            Console.Error.WriteLine($"ttctl: synth {shape.Name} {typeName} → '{output}': {e.Message}");
            return ExitCodes.Failure;
        }
        long size = new FileInfo(output).Length;
        Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "wrote {0}: {1} {2}, {3:F1} MiB in {4:F1} s",
            output, shape.Name, typeName.ToLowerInvariant(), size / 1048576.0, Stopwatch.GetElapsedTime(t0).TotalSeconds));
        return ExitCodes.Ok;
    }
}
