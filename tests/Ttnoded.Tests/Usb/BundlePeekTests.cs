using System.Security.Cryptography;
using TestSupport;
using TtBundles;
using TtBundles.Signing;
using Ttnoded.Models;
using Ttnoded.Store;
using Ttnoded.Usb;

namespace Ttnoded.Tests.Usb;

/// <summary>The cheap manifest + signature peek used for listing, and the prefix pin that guards auto-imports.</summary>
public sealed class BundlePeekTests : IDisposable
{
    private static readonly string Gguf = Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");
    private readonly string _dir = Directory.CreateTempSubdirectory("ttpeek-test-").FullName;
    private readonly ECDsa _key = BundleKeys.Generate();

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private TrustPolicy Trust => new(TrustMode.Strict, [new TrustedKey(BundleKeys.KeyId(_key), "k.pub", _key.ExportSubjectPublicKeyInfo())]);

    private async Task<string> BundleAsync(string name, ECDsa? key, string file)
    {
        string path = Path.Combine(_dir, file);
        await BundleCreator.CreateAsync(new BundleCreateOptions { GgufPath = Gguf, Name = name, OutputPath = path, Key = key });
        return path;
    }

    [Fact]
    public async Task Peek_ReadsManifestAndSignature_WithoutThePayload()
    {
        var signed = await BundlePeek.ReadAsync(await BundleAsync("stories", _key, "a.ttmodel"), default);
        Assert.Equal(("stories", "1", "trusted", BundleKeys.KeyId(_key)), (signed.Name, signed.Version, signed.SignatureState(Trust), signed.SignerKeyId));
        Assert.Equal("untrusted", signed.SignatureState(new TrustPolicy(TrustMode.Strict, [])));
        Assert.True(signed.Prefix.Length < 64 * 1024);

        var unsigned = await BundlePeek.ReadAsync(await BundleAsync("plain", null, "b.ttmodel"), default);
        Assert.Equal(("plain", "unsigned", false), (unsigned.Name, unsigned.SignatureState(Trust), unsigned.IsTrusted(Trust)));

        // A signature that does not match the manifest (manifest.sig taken from another bundle).
        string other = await BundleAsync("other", _key, "c.ttmodel");
        byte[] bytes = File.ReadAllBytes(Path.Combine(_dir, "a.ttmodel"));
        byte[] otherBytes = File.ReadAllBytes(other);
        var sigA = (await BundleReader.VerifyFileAsync(Path.Combine(_dir, "a.ttmodel"), TrustPolicy.Off)).SignatureOffset;
        var sigC = (await BundleReader.VerifyFileAsync(other, TrustPolicy.Off)).SignatureOffset;
        byte[] mixed = [.. bytes.AsSpan(0, (int)sigA), .. otherBytes.AsSpan((int)sigC)];
        File.WriteAllBytes(Path.Combine(_dir, "mixed.ttmodel"), mixed);
        var invalid = await BundlePeek.ReadAsync(Path.Combine(_dir, "mixed.ttmodel"), default);
        Assert.Equal(("stories", "invalid", false), (invalid.Name, invalid.SignatureState(Trust), invalid.IsTrusted(Trust)));

        File.WriteAllText(Path.Combine(_dir, "junk.ttmodel"), "junk");
        var junk = await BundlePeek.ReadAsync(Path.Combine(_dir, "junk.ttmodel"), default);
        Assert.Equal("unreadable", junk.SignatureState(Trust));
        Assert.NotNull(junk.Error);

        File.WriteAllBytes(Path.Combine(_dir, "cut.ttmodel"), bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var cut = await BundlePeek.ReadAsync(Path.Combine(_dir, "cut.ttmodel"), default);
        Assert.Equal("unsigned", cut.SignatureState(Trust));
        Assert.Contains("truncated", cut.Error);
    }

    [Fact]
    public async Task PinnedPrefix_FailsTheImport_WhenTheFileWasSwappedAfterTheCheck()
    {
        string path = await BundleAsync("stories", _key, "a.ttmodel");
        var peek = await BundlePeek.ReadAsync(path, default);
        await BundleAsync("impostor", _key, "a.ttmodel"); // same file name, different (still signed) manifest

        using var db = StateStore.Open(Path.Combine(_dir, "state.db"), [.. Migrations.All, ModelSchema.Migration]);
        var store = new ModelStore(Path.Combine(_dir, "models"), db, () => TrustPolicy.Off, () => new NodeFacts(null, null, ["cpu"]));
        store.Initialize();
        await using (var swapped = new PinnedPrefixStream(File.OpenRead(path), peek.Prefix))
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => store.ImportAsync(swapped, "t", default)); // IOException, or the store's wrapping of it
            Assert.Contains("changed on the drive", e.Message);
        }
        Assert.Empty(store.List());

        var fresh = await BundlePeek.ReadAsync(path, default);
        await using var same = new PinnedPrefixStream(File.OpenRead(path), fresh.Prefix);
        Assert.Equal("impostor", (await store.ImportAsync(same, "t", default)).Model.Name);
    }
}
