using TestSupport;

namespace TtBundles.Tests;

/// <summary>`ttctl bundle …` as a process: outputs, files and exit codes (0 ok, 1 verification failed, 2 bad input).</summary>
public sealed class BundleCliTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static Task<(int Code, string Out, string Err)> Ttctl(params string[] args) =>
        Binaries.RunAsync(Binaries.StartInfo("ttctl", args), TimeSpan.FromSeconds(60));

    [Fact]
    public async Task KeygenCreateVerifyInspectSign_ExitCodes()
    {
        string key = _tmp.File("rel"), bundle = _tmp.File("s.ttmodel"), keys = Directory.CreateDirectory(_tmp.File("keys")).FullName;
        var kg = await Ttctl("bundle", "keygen", "-o", key);
        Assert.Equal(0, kg.Code);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key + ".key"));
        Assert.Equal(2, (await Ttctl("bundle", "keygen", "-o", key)).Code); // never overwrites a key

        var create = await Ttctl("bundle", "create", "--gguf", TestEnv.Stories260K, "--name", "stories260k", "--version", "1.0",
            "--license", "MIT", "--min-firmware", "18.2", "--device", "cpu", "--key", key + ".key", "-o", bundle);
        Assert.True(create.Code == 0, create.Err);
        Assert.StartsWith("wrote ", create.Out);

        Assert.Equal(1, (await Ttctl("bundle", "verify", bundle, "--keys", keys)).Code); // signer not trusted yet
        File.Copy(key + ".pub", Path.Combine(keys, "rel.pub"));
        var ok = await Ttctl("bundle", "verify", bundle, "--keys", keys);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("signed by trusted key", ok.Out);

        var inspect = await Ttctl("bundle", "inspect", bundle, "--json");
        var (_, manifestBytes) = await BundleReader.ReadManifestAsync(File.OpenRead(bundle));
        Assert.Equal(System.Text.Encoding.UTF8.GetString(manifestBytes), inspect.Out);

        var bytes = File.ReadAllBytes(bundle);
        bytes[2048 + 5000] ^= 1; // inside the GGUF payload
        string bad = _tmp.File("bad.ttmodel");
        File.WriteAllBytes(bad, bytes);
        var rejected = await Ttctl("bundle", "verify", bad, "--keys", keys);
        Assert.Equal(1, rejected.Code);
        Assert.StartsWith("ttctl: bundle entry 'stories260K.gguf': sha256 ", rejected.Err);
        Assert.Equal(1, rejected.Err.Count(c => c == '\n'));

        Assert.Equal(2, (await Ttctl("bundle", "verify", _tmp.File("missing.ttmodel"))).Code);
        Assert.Equal(2, (await Ttctl("bundle", "create", "--gguf", key + ".pub", "--name", "x", "-o", _tmp.File("x.ttmodel"))).Code);

        Assert.Equal(0, (await Ttctl("bundle", "keygen", "-o", _tmp.File("other"))).Code);
        Assert.Equal(0, (await Ttctl("bundle", "sign", bundle, "--key", _tmp.File("other.key"))).Code);
        Assert.Equal(1, (await Ttctl("bundle", "verify", bundle, "--keys", keys)).Code);
        Assert.Equal(0, (await Ttctl("bundle", "verify", bundle, "--keys", keys, "--policy", "warn")).Code);
    }
}
