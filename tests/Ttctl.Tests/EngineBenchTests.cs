using System.Text.Json;
using TestSupport;

namespace Ttctl.Tests;

/// <summary>`ttctl engine bench` (the native-AOT binary) on the trained stories260K model: what its JSON promises.</summary>
public sealed class EngineBenchTests
{
    private static string Stories260K => Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");

    private static async Task<JsonElement> BenchAsync(params string[] extra)
    {
        var psi = Binaries.StartInfo("ttctl", ["engine", "bench", "--gguf", Stories260K, "--json", .. extra]);
        // when the tests run the JIT build (a developer's Debug build newer than the AOT binary), tier-up compiles
        // allocate on the decoding thread; fully optimised code from the start allocates as little as the AOT binary
        psi.Environment["DOTNET_TieredCompilation"] = "0";
        var (code, stdout, stderr) = await Binaries.RunAsync(psi);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Fact]
    public async Task Roofline_uses_the_bandwidth_probed_after_each_decode_window()
    {
        var j = await BenchAsync("--threads", "1", "--pp", "8", "--tg", "17");
        Assert.Equal(16, j.GetProperty("probe_passes").GetInt32()); // 16 decode steps timed: 8 windows, two passes after each
        double mean = j.GetProperty("read_bandwidth_gb_s").GetDouble(), best = j.GetProperty("read_bandwidth_best_pass_gb_s").GetDouble();
        Assert.InRange(mean, 0.1, best + 0.01); // a time-weighted mean of per-window bests cannot exceed the best pass

        double bytes = j.GetProperty("bytes_per_token").GetDouble(), decode = j.GetProperty("decode_tok_s").GetDouble();
        Assert.True(bytes > j.GetProperty("weight_bytes_per_token").GetInt64(), "the KV cache read is part of a step's bytes");
        double roofline = mean * 1e9 / bytes;
        Assert.Equal(roofline, j.GetProperty("decode_roofline_tok_s").GetDouble(), roofline * 0.01 + 0.01);
        Assert.Equal(decode / roofline, j.GetProperty("decode_roofline_fraction").GetDouble(), 0.01 * decode / roofline + 0.002);
        Assert.Equal(decode * bytes / (best * 1e9), j.GetProperty("decode_roofline_fraction_best_pass").GetDouble(), 0.01 * decode / roofline + 0.002);

        // neither the decode steps nor the probe passes between them allocate
        Assert.Equal(0, j.GetProperty("alloc_bytes_per_token_thread").GetDouble());
    }

    [Fact]
    public async Task Two_threads_allocate_nothing_per_token_in_the_whole_process()
    {
        // the workers of the model's pool and of the probe's first block inside the timed windows: with
        // ManualResetEventSlim the AOT runtime allocated their waiters there (~160 bytes per run)
        var j = await BenchAsync("--threads", "2", "--pp", "8", "--tg", "17");
        Assert.Equal(2, j.GetProperty("threads").GetInt32());
        Assert.Equal(0, j.GetProperty("alloc_bytes_per_token_total").GetDouble());
    }

    [Fact]
    public async Task Short_decode_gets_one_window_per_step()
    {
        var j = await BenchAsync("--threads", "1", "--pp", "4", "--tg", "3");
        Assert.Equal(4, j.GetProperty("probe_passes").GetInt32());
        Assert.True(j.GetProperty("decode_tok_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Missing_model_is_a_one_line_usage_error()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.gguf");
        var (code, stdout, stderr) = await Binaries.RunAsync("ttctl", "engine", "bench", "--gguf", path);
        Assert.Equal(2, code);
        Assert.Equal($"ttctl: '{path}': no such file", stderr.Trim());
        Assert.Equal("", stdout);
    }
}
