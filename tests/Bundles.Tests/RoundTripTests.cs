using System.Security.Cryptography;
using TtBundles.Signing;

namespace TtBundles.Tests;

/// <summary>Create, sign, verify and import a bundle of the real stories260K GGUF, all through files on disk.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private async Task<(string Bundle, BundleManifest Manifest)> WriteStoriesBundleAsync(ECDsa? key)
    {
        var gguf = await BundleWriter.DescribeFileAsync(TestEnv.Stories260K, "stories260K.gguf", PayloadKinds.Gguf);
        var lic = Fixtures.Describe("LICENSE", PayloadKinds.License, Fixtures.License);
        var m = Fixtures.Manifest(gguf, lic);
        var mb = m.ToBytes();
        string path = _tmp.File("stories.ttmodel");
        await using (var fs = File.Create(path))
            await BundleWriter.WriteAsync(fs, mb,
                [new(gguf, () => File.OpenRead(TestEnv.Stories260K)), new(lic, () => new MemoryStream(Fixtures.License))],
                key is null ? null : BundleSignature.Create(mb, key));
        return (path, m);
    }

    [Fact]
    public async Task SignedBundle_VerifiesAsTrusted_AndImportReproducesPayloads()
    {
        using var key = BundleKeys.Generate();
        var (path, m) = await WriteStoriesBundleAsync(key);
        Assert.Equal(1_185_376, m.Files[0].Size);
        Assert.Equal("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d", m.Files[0].Sha256);

        string store = Directory.CreateDirectory(_tmp.File("store")).FullName;
        var opened = new List<string>();
        BundleVerification v;
        await using (var input = BundleReader.OpenSequential(path))
            v = await BundleReader.ImportAsync(input, f =>
            {
                opened.Add(f.Path);
                return File.Create(Path.Combine(store, "tmp-" + f.Sha256));
            }, Fixtures.Trusting(TrustMode.Strict, key));

        Assert.Equal(SignatureState.Trusted, v.Signature);
        Assert.Equal(BundleKeys.KeyId(key), v.SignerKeyId);
        Assert.Empty(v.Warnings);
        Assert.Equal(["stories260K.gguf", "LICENSE"], opened);
        Assert.Equal(new FileInfo(path).Length, v.BytesRead);
        Assert.Equal(File.ReadAllBytes(TestEnv.Stories260K), File.ReadAllBytes(Path.Combine(store, "tmp-" + m.Files[0].Sha256)));
        Assert.Equal(Fixtures.License, File.ReadAllBytes(Path.Combine(store, "tmp-" + m.Files[1].Sha256)));
        Assert.Equal("stories260k", v.Manifest.Name);
        Assert.Equal(RequirementPolicies.Strict, v.Manifest.Hardware.Firmware!.Policy);
    }

    [Fact]
    public async Task Export_FromManifestBytesAndSignature_IsByteIdentical()
    {
        using var key = BundleKeys.Generate();
        var (path, _) = await WriteStoriesBundleAsync(key);
        var v = await BundleReader.VerifyFileAsync(path, Fixtures.Trusting(TrustMode.Strict, key));
        var ms = new MemoryStream();
        await BundleWriter.WriteAsync(ms, v.ManifestBytes,
            [new(v.Manifest.Files[0], () => File.OpenRead(TestEnv.Stories260K)), new(v.Manifest.Files[1], () => new MemoryStream(Fixtures.License))],
            v.SignatureBytes);
        Assert.Equal(File.ReadAllBytes(path), ms.ToArray());
    }

    [Fact]
    public async Task Resign_ReplacesSigner_KeepsManifestAndPayloads()
    {
        using var oldKey = BundleKeys.Generate();
        using var newKey = BundleKeys.Generate();
        var (path, _) = await WriteStoriesBundleAsync(oldKey);
        string resigned = _tmp.File("resigned.ttmodel");
        await using (var input = BundleReader.OpenSequential(path))
        await using (var output = File.Create(resigned))
            await BundleWriter.ResignAsync(input, output, newKey);

        var v = await BundleReader.VerifyFileAsync(resigned, Fixtures.Trusting(TrustMode.Strict, newKey));
        Assert.Equal(BundleKeys.KeyId(newKey), v.SignerKeyId);
        var old = await BundleReader.VerifyFileAsync(path, TrustPolicy.Off);
        Assert.Equal(old.ManifestBytes, v.ManifestBytes);
        Assert.Equal(old.SignatureOffset, v.SignatureOffset);
        var ex = await Assert.ThrowsAsync<BundleException>(() => BundleReader.VerifyFileAsync(resigned, Fixtures.Trusting(TrustMode.Strict, oldKey)));
        Assert.Contains($"signed by key {BundleKeys.KeyId(newKey)}, which is not in the trusted keys", ex.Message);
    }

    [Fact]
    public async Task Resign_AddsSignatureToUnsignedBundle()
    {
        using var key = BundleKeys.Generate();
        var (path, _) = await WriteStoriesBundleAsync(null);
        Assert.Equal(SignatureState.Unsigned, (await BundleReader.VerifyFileAsync(path, TrustPolicy.Off)).Signature);
        string signed = _tmp.File("signed.ttmodel");
        await using (var input = BundleReader.OpenSequential(path))
        await using (var output = File.Create(signed))
            await BundleWriter.ResignAsync(input, output, key);
        Assert.Equal(SignatureState.Trusted, (await BundleReader.VerifyFileAsync(signed, Fixtures.Trusting(TrustMode.Strict, key))).Signature);
    }

    [Fact]
    public async Task Resign_RefusesCorruptedInput()
    {
        using var key = BundleKeys.Generate();
        var (path, _) = await WriteStoriesBundleAsync(key);
        var bytes = File.ReadAllBytes(path);
        bytes[4096] ^= 0x10; // inside the GGUF payload
        var ex = await Assert.ThrowsAsync<BundleException>(() => BundleWriter.ResignAsync(new MemoryStream(bytes), new MemoryStream(), key));
        Assert.Equal(BundleErrorKind.Integrity, ex.Kind);
    }

    [Fact]
    public async Task LargePayload_GetsPaxSizeRecord_AndReadsBack()
    {
        // A payload over the 8 GiB octal limit cannot be materialized in a test; exercise the pax size path with a
        // hand-made pax header carrying the size instead, plus the writer's record formatting.
        var rec = System.Text.Encoding.ASCII.GetString(Tar.UstarFormat.PaxRecord("size", "8589934592"));
        Assert.Equal("19 size=8589934592\n", rec);
        var gguf = new byte[777];
        var m = Fixtures.Manifest(Fixtures.Describe("model.gguf", PayloadKinds.Gguf, gguf));
        var mb = m.ToBytes();
        var tar = new RawTar().Entry("manifest.json", mb).Pax("model.gguf", ("size", "777"), ("mtime", "1700000000.5")).Entry("model.gguf", gguf, headerSize: 0).End().ToArray();
        var v = await BundleReader.VerifyAsync(new MemoryStream(tar), new TrustPolicy(TrustMode.Warn, []));
        Assert.Equal(777, v.Manifest.Files[0].Size);
    }
}

/// <summary>The importer's write side: a failing destination surfaces its own error and never hangs the copy.</summary>
public sealed class DestinationFailureTests
{
    private sealed class FailingStream(long failAfter) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_written + count > failAfter) throw new IOException("No space left on device");
            _written += count;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3_000_000)]
    public async Task DiskFull_IsReported_NotHung(long failAfter)
    {
        // 8 MiB payload: more chunks than the copy ring holds, so the reader is blocked on a full ring when the write fails.
        var payload = new byte[8 << 20];
        new Random(1).NextBytes(payload);
        byte[] bundle = Fixtures.SmallBundle(null, payload);
        var ex = await Assert.ThrowsAsync<IOException>(() =>
            BundleReader.ImportAsync(new MemoryStream(bundle), _ => new FailingStream(failAfter), TtBundles.Signing.TrustPolicy.Off));
        Assert.Equal("No space left on device", ex.Message);
    }
}
