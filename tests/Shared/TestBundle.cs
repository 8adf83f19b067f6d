namespace TestSupport;

/// <summary>
/// A signed stories260K bundle made once per test run with the real ttctl (keygen + bundle create), and its trust dir.
/// </summary>
public static class TestBundle
{
    public const string ModelName = "stories260k";

    private static readonly Lazy<(string Bundle, string KeysDir)> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string BundlePath => Made.Value.Bundle;

    /// <summary>A directory holding only the bundle's public key (the daemon's trust.keysDir).</summary>
    public static string KeysDir => Made.Value.KeysDir;

    public static string Gguf => Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");

    private static (string, string) Make()
    {
        string dir = Directory.CreateTempSubdirectory("ttbundle-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0x1ED);
        string keys = Path.Combine(dir, "keys");
        Directory.CreateDirectory(keys);
        Run("bundle", "keygen", "-o", Path.Combine(dir, "site"));
        File.Copy(Path.Combine(dir, "site.pub"), Path.Combine(keys, "site.pub"));
        string bundle = Path.Combine(dir, "stories260k.ttmodel");
        Run("bundle", "create", "--gguf", Gguf, "--name", ModelName, "--version", "1", "--license", "MIT", "--device", "cpu",
            "--key", Path.Combine(dir, "site.key"), "-o", bundle);
        File.SetUnixFileMode(bundle, (UnixFileMode)0x1A4);
        return (bundle, keys);
    }

    private static void Run(params string[] args)
    {
        var (code, _, err) = Binaries.RunAsync("ttctl", args).GetAwaiter().GetResult();
        if (code != 0) throw new InvalidOperationException($"ttctl {string.Join(' ', args)} failed ({code}): {err}");
    }

    /// <summary>Config JSON trusting the test key, plus extra top-level members (e.g. "\"socketGroup\": \"nogroup\"").</summary>
    public static string Config(string extra = "") =>
        $$"""{ "trust": { "policy": "strict", "keysDir": "{{KeysDir}}" }{{(extra.Length > 0 ? ", " + extra : "")}} }""";

    /// <summary>Imports the bundle into a running daemon through `ttctl model import`.</summary>
    public static async Task ImportAsync(DaemonProcess daemon)
    {
        var (code, _, err) = await Binaries.RunAsync("ttctl", "--socket", daemon.SocketPath, "model", "import", BundlePath);
        if (code != 0) throw new InvalidOperationException($"model import failed ({code}): {err}");
    }
}
