using TtBundles.Signing;
using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtBundles.Tests;

/// <summary>Manifest fields filled from GGUF metadata, and the create / sign-in-place file workflows.</summary>
public sealed class CreateTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Stories260K_Metadata()
    {
        var info = GgufModelInfo.Read(TestEnv.Stories260K);
        Assert.Equal("llama", info.Architecture);
        Assert.Equal("F32", info.Quantization);
        Assert.Equal("none", info.ChatTemplate);
        Assert.Equal(2048, info.ContextLength); // what llama.cpp's converter wrote into this file
        using var g = GgufFile.Open(TestEnv.Stories260K);
        Assert.Equal(g.Tensors.Sum(t => t.ElementCount), info.ParameterCount);
        Assert.InRange(info.ParameterCount, 250_000, 300_000);
    }

    [Theory]
    [InlineData(15u, "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>{{ m.content }}<|eot_id|>{% endfor %}", "Q4_K_M", "llama3")]
    [InlineData(7u, "{{ bos_token }}[INST] {{ m }} [/INST]", "Q8_0", "llama2")]
    [InlineData(1u, "{{ messages }}", "F16", "custom")]
    public void SyntheticGguf_Metadata(uint fileType, string template, string quant, string templateId)
    {
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddString("general.name", "Synthetic");
        w.AddUInt32("llama.context_length", 8192);
        w.AddUInt32("general.file_type", fileType);
        w.AddString("tokenizer.chat_template", template);
        w.AddTensor("a", [4, 8], new float[32]);
        w.AddTensor("b", [16], new float[16]);
        string path = _tmp.File("s.gguf");
        w.WriteTo(path);
        var info = GgufModelInfo.Read(path);
        Assert.Equal((quant, templateId, 8192L, 48L, "Synthetic"), (info.Quantization, info.ChatTemplate, info.ContextLength, info.ParameterCount, info.Name));
    }

    [Fact]
    public void GgufWithoutArchitecture_Refused()
    {
        var w = new GgufWriter();
        w.AddTensor("a", [4], new float[4]);
        string path = _tmp.File("noarch.gguf");
        w.WriteTo(path);
        Assert.Contains("general.architecture", Assert.Throws<GgufFormatException>(() => GgufModelInfo.Read(path)).Message);
    }

    [Fact]
    public async Task Create_Sign_Verify_OnFiles()
    {
        string keyBase = _tmp.File("release");
        string keyId = BundleKeys.WriteKeyPair(keyBase);
        File.WriteAllText(_tmp.File("LICENSE.txt"), "MIT\n");
        string output = _tmp.File("stories.ttmodel");
        var m = await BundleCreator.CreateAsync(new BundleCreateOptions
        {
            GgufPath = TestEnv.Stories260K, Name = "stories260k", OutputPath = output, Version = "2.0", License = "MIT",
            LicenseFile = _tmp.File("LICENSE.txt"),
            Firmware = new VersionRequirement { Min = "18.2", Policy = RequirementPolicies.Suggested },
            Devices = ["cpu"],
        });
        Assert.Equal(["stories260K.gguf", "LICENSE"], m.Files.Select(f => f.Path));
        Assert.Equal(BundleCreator.CurrentEngineVersion, m.EngineVersion);
        Assert.Empty(Directory.EnumerateFiles(_tmp.Path, ".*tmp*"));

        var keys = Directory.CreateDirectory(_tmp.File("trusted")).FullName;
        File.Copy(keyBase + ".pub", Path.Combine(keys, "release.pub"));
        var strict = TrustPolicy.Load(TrustMode.Strict, keys);
        var ex = await Assert.ThrowsAsync<BundleException>(() => BundleReader.VerifyFileAsync(output, strict));
        Assert.Contains("unsigned", ex.Message);

        using (var key = BundleKeys.LoadPrivate(keyBase + ".key"))
            await BundleCreator.ResignFileAsync(output, key);
        var v = await BundleReader.VerifyFileAsync(output, strict);
        Assert.Equal(keyId, v.SignerKeyId);
        Assert.Equal("2.0", v.Manifest.Version);
        Assert.Single(Directory.EnumerateFiles(_tmp.Path, "*.ttmodel*"));
    }

    [Fact]
    public async Task Create_BadName_RefusedBeforeWriting()
    {
        var ex = await Assert.ThrowsAsync<BundleException>(() => BundleCreator.CreateAsync(new BundleCreateOptions
        {
            GgufPath = TestEnv.Stories260K, Name = "Bad Name", OutputPath = _tmp.File("x.ttmodel"),
        }));
        Assert.StartsWith("manifest field 'name'", ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_tmp.Path));
    }

    [Fact]
    public async Task ResignFile_CorruptedBundle_LeavesOriginalUntouched()
    {
        using var key = BundleKeys.Generate();
        string output = _tmp.File("s.ttmodel");
        await BundleCreator.CreateAsync(new BundleCreateOptions { GgufPath = TestEnv.Stories260K, Name = "s", OutputPath = output });
        var bytes = File.ReadAllBytes(output);
        bytes[100_000] ^= 4;
        File.WriteAllBytes(output, bytes);
        await Assert.ThrowsAsync<BundleException>(() => BundleCreator.ResignFileAsync(output, key));
        Assert.Equal(bytes, File.ReadAllBytes(output));
        Assert.Single(Directory.EnumerateFileSystemEntries(_tmp.Path));
    }
}
