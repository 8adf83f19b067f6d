using System.Security.Cryptography;
using System.Text;
using TtBundles.Signing;

namespace TtBundles.Tests;

/// <summary>Each hostile tar is refused with a one-line message naming the entry or field, and nothing is written for it.</summary>
public sealed class HostileBundleTests : IDisposable
{
    private readonly ECDsa _key = BundleKeys.Generate();
    private readonly TempDir _tmp = new();
    private readonly byte[] _gguf = Encoding.ASCII.GetBytes(new string('g', 1500));
    private readonly byte[] _lic = Fixtures.License;
    private readonly BundleManifest _m;
    private readonly byte[] _mb;
    private readonly byte[] _sig;

    public HostileBundleTests()
    {
        _m = Fixtures.Manifest(Fixtures.Describe("model.gguf", PayloadKinds.Gguf, _gguf), Fixtures.Describe("LICENSE", PayloadKinds.License, _lic));
        _mb = _m.ToBytes();
        _sig = BundleSignature.Create(_mb, _key);
    }

    public void Dispose()
    {
        _key.Dispose();
        _tmp.Dispose();
    }

    private RawTar Good() => new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", _gguf).Entry("LICENSE", _lic);

    private string Reject(byte[] bundle, TrustMode mode = TrustMode.Strict)
    {
        var ex = Assert.Throws<BundleException>(() => Import(bundle, mode));
        Assert.DoesNotContain('\n', ex.Message);
        return ex.Message;
    }

    private BundleVerification Import(byte[] bundle, TrustMode mode = TrustMode.Strict)
    {
        string dest = Path.Combine(_tmp.Path, "out-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dest);
        return BundleReader.ImportAsync(new MemoryStream(bundle), f =>
        {
            Assert.Contains(_m.Files, x => x.Path == f.Path);
            return File.Create(Path.Combine(dest, f.Path.Replace('/', '_')));
        }, Fixtures.Trusting(mode, _key)).GetAwaiter().GetResult();
    }

    [Fact]
    public void RawTarOfGoodParts_IsAccepted()
    {
        // Guards the other tests: the independent builder makes a bundle the reader accepts.
        var v = Import(Good().Entry("manifest.sig", _sig).End().ToArray());
        Assert.Equal(SignatureState.Trusted, v.Signature);
    }

    [Fact]
    public void DotDotPath_Rejected() =>
        Assert.Equal("bundle entry '../evil': path contains '..'", Reject(Good().Entry("../evil", [1]).End().ToArray()));

    [Fact]
    public void DotDotInsidePath_Rejected() =>
        Assert.Contains("contains '..'", Reject(Good().Entry("a/../../etc/passwd", [1]).End().ToArray()));

    [Fact]
    public void AbsolutePath_Rejected() =>
        Assert.Equal("bundle entry '/etc/passwd': path is absolute", Reject(Good().Entry("/etc/passwd", [1]).End().ToArray()));

    [Fact]
    public void PaxPathTraversal_Rejected() =>
        Assert.Contains("'../../x': path contains '..'", Reject(Good().Pax("x", ("path", "../../x")).Entry("x", [1]).End().ToArray()));

    [Fact]
    public void PrefixTraversal_Rejected() =>
        Assert.Contains("'../up/x': path contains '..'", Reject(Good().Entry("x", [1], prefix: "../up").End().ToArray()));

    [Theory]
    [InlineData('1', "hard link")]
    [InlineData('2', "symbolic link")]
    [InlineData('3', "character device")]
    [InlineData('4', "block device")]
    [InlineData('5', "directory")]
    [InlineData('6', "FIFO")]
    [InlineData('L', "GNU long name/link")]
    [InlineData('g', "pax global header")]
    public void NonRegularEntry_Rejected(char type, string what) =>
        Assert.Equal($"bundle entry 'model.gguf': is a {what}; only regular files are allowed",
            Reject(new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", [], type).End().ToArray()));

    [Fact]
    public void DuplicatePayload_Rejected() =>
        Assert.Equal("bundle entry 'LICENSE': duplicate entry", Reject(Good().Entry("LICENSE", _lic).Entry("manifest.sig", _sig).End().ToArray()));

    [Fact]
    public void DuplicateManifest_Rejected() =>
        Assert.Equal("bundle entry 'manifest.json': duplicate entry", Reject(Good().Entry("manifest.json", _mb).End().ToArray()));

    [Fact]
    public void SizeDisagreesWithManifest_RejectedBeforeWriting()
    {
        var bad = new byte[_gguf.Length + 1];
        string msg = Reject(new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", bad).End().ToArray());
        Assert.Equal($"bundle entry 'model.gguf': tar size {bad.Length} disagrees with manifest size {_gguf.Length}", msg);
        Assert.Empty(Directory.EnumerateFiles(_tmp.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void BadHash_Rejected()
    {
        var evil = (byte[])_gguf.Clone();
        evil[700] ^= 1;
        string msg = Reject(new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", evil).Entry("LICENSE", _lic).Entry("manifest.sig", _sig).End().ToArray());
        Assert.StartsWith("bundle entry 'model.gguf': sha256 ", msg);
        Assert.EndsWith($"does not match manifest {_m.Files[0].Sha256}", msg);
    }

    [Fact]
    public void UnknownFile_Rejected() =>
        Assert.Equal("bundle entry 'extra.bin': not listed in manifest.json (unknown file)", Reject(Good().Entry("extra.bin", [1, 2]).End().ToArray()));

    [Fact]
    public void MissingPayload_Rejected() =>
        Assert.Equal("bundle entry 'LICENSE': listed in manifest.json but missing from the bundle",
            Reject(new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", _gguf).Entry("manifest.sig", _sig).End().ToArray()));

    [Fact]
    public void ManifestNotFirst_Rejected() =>
        Assert.Equal("bundle entry 'model.gguf': found where manifest.json must be the first entry",
            Reject(new RawTar().Entry("model.gguf", _gguf).Entry("manifest.json", _mb).End().ToArray()));

    [Fact]
    public void SignatureNotLast_Rejected() =>
        Assert.Equal("bundle entry 'LICENSE': found after manifest.sig, which must be the last entry",
            Reject(new RawTar().Entry("manifest.json", _mb).Entry("model.gguf", _gguf).Entry("manifest.sig", _sig).Entry("LICENSE", _lic).End().ToArray()));

    [Fact]
    public void HugeManifest_RejectedFromHeaderAlone()
    {
        // The header claims 1 GiB; the reader must refuse before trying to read or allocate it.
        var tar = new RawTar().Entry("manifest.json", [], headerSize: 1L << 30).ToArray();
        Assert.Equal($"bundle entry 'manifest.json': size {1L << 30} exceeds limit {BundleConstants.MaxManifestBytes}", Reject(tar));
    }

    [Fact]
    public void HugeSignature_Rejected() =>
        Assert.Contains("'manifest.sig': size 100000 exceeds limit", Reject(Good().Entry("manifest.sig", new byte[100000]).End().ToArray()));

    [Fact]
    public void TruncatedInsidePayload_Rejected()
    {
        var full = Good().Entry("manifest.sig", _sig).End().ToArray();
        Assert.Contains("'model.gguf': truncated", Reject(full.AsSpan(0, 512 + 1024 + 512 + 700).ToArray()));
    }

    [Fact]
    public void TruncatedInsideHeader_Rejected()
    {
        var full = Good().Entry("manifest.sig", _sig).End().ToArray();
        Assert.Contains("header at offset 1536 is incomplete", Reject(full.AsSpan(0, 1536 + 100).ToArray()));
    }

    [Fact]
    public void MissingEndMarker_Rejected() =>
        Assert.Contains("without an end-of-archive marker", Reject(Good().Entry("manifest.sig", _sig).ToArray()));

    [Fact]
    public void HalfEndMarker_Rejected() =>
        Assert.Contains("end-of-archive marker", Reject(Good().Entry("manifest.sig", _sig).Raw(new byte[512]).ToArray()));

    [Fact]
    public void DataAfterEnd_Rejected() =>
        Assert.Contains("unexpected data after the end-of-archive marker", Reject(Good().Entry("manifest.sig", _sig).End().Raw([0, 0, 7]).ToArray()));

    [Fact]
    public void BadChecksum_Rejected() =>
        Assert.Equal("tar header at offset 0: bad checksum (not a tar file, or corrupted)",
            Reject(new RawTar().Entry("manifest.json", _mb, badChecksum: true).End().ToArray()));

    [Fact]
    public void GnuMagic_Rejected() =>
        Assert.Contains("not a POSIX ustar header", Reject(new RawTar().Entry("manifest.json", _mb, magic: "ustar ", version: " \0").End().ToArray()));

    [Fact]
    public void Base256Size_Rejected() =>
        Assert.Contains("'manifest.json': size field is not octal", Reject(new RawTar().Entry("manifest.json", _mb, base256Size: true).End().ToArray()));

    [Fact]
    public void UnsupportedPaxKey_Rejected() =>
        Assert.Contains("pax key 'GNU.sparse.map' is not supported",
            Reject(new RawTar().Entry("manifest.json", _mb).Pax("model.gguf", ("GNU.sparse.map", "0,1")).Entry("model.gguf", _gguf).End().ToArray()));

    [Fact]
    public void EmptyInput_Rejected() =>
        Assert.Contains("without an end-of-archive marker", Reject([]));

    [Fact]
    public void NotATar_Rejected() =>
        Assert.Contains("bad checksum", Reject(File.ReadAllBytes(TestEnv.Stories260K).AsSpan(0, 4096).ToArray()));

    [Fact]
    public void UnsignedUnderStrict_Rejected() =>
        Assert.Equal("bundle is unsigned (manifest.sig missing) and the trust policy is strict", Reject(Good().End().ToArray()));

    [Fact]
    public void UnsignedUnderWarn_AcceptedWithWarning()
    {
        var v = Import(Good().End().ToArray(), TrustMode.Warn);
        Assert.Equal(SignatureState.Unsigned, v.Signature);
        Assert.Contains("unsigned", Assert.Single(v.Warnings));
    }

    [Fact]
    public void ManifestAlteredAfterSigning_RejectedEvenUnderWarn()
    {
        // Same sizes and hashes; only the license field changed, so only the signature can catch it.
        var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_mb).Replace("\"license\": \"MIT\"", "\"license\": \"GPL\""));
        Assert.NotEqual(_mb, altered);
        var tar = new RawTar().Entry("manifest.json", altered).Entry("model.gguf", _gguf).Entry("LICENSE", _lic).Entry("manifest.sig", _sig).End().ToArray();
        string msg = Reject(tar, TrustMode.Warn);
        Assert.Equal($"manifest.sig: signature by key {BundleKeys.KeyId(_key)} does not match manifest.json (bundle altered after signing)", msg);
        Assert.Equal(SignatureState.NotChecked, Import(tar, TrustMode.Off).Signature);
    }

    [Fact]
    public void SignatureKeyIdSwapped_Rejected()
    {
        var forged = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_sig).Replace(BundleKeys.KeyId(_key), "0123456789abcdef"));
        Assert.Contains("key_id '0123456789abcdef' does not match public_key", Reject(Good().Entry("manifest.sig", forged).End().ToArray()));
    }

    [Fact]
    public void SignatureGarbage_Rejected() =>
        Assert.StartsWith("manifest.sig: invalid JSON", Reject(Good().Entry("manifest.sig", [1, 2, 3]).End().ToArray()));

    [Fact]
    public void ManifestDuplicateProperty_Rejected()
    {
        var dup = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_mb).Replace("\"license\": \"MIT\"", "\"license\": \"MIT\", \"license\": \"GPL\""));
        Assert.Equal("manifest field '$.license': duplicate property", Reject(new RawTar().Entry("manifest.json", dup).End().ToArray()));
    }

    [Fact]
    public void ManifestUnknownProperty_Rejected()
    {
        var extra = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_mb).Replace("\"license\": \"MIT\"", "\"license\": \"MIT\", \"licence\": \"x\""));
        Assert.Contains("licence", Reject(new RawTar().Entry("manifest.json", extra).End().ToArray()));
    }

    [Fact]
    public void ManifestFutureVersion_Rejected()
    {
        var v2 = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_mb).Replace("\"format_version\": 1", "\"format_version\": 2"));
        Assert.Equal("manifest field 'format_version': value 2 not supported (this reader supports 1)", Reject(new RawTar().Entry("manifest.json", v2).End().ToArray()));
    }

    [Fact]
    public void ManifestPayloadPathTraversal_Rejected()
    {
        var evil = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_mb).Replace("\"path\": \"LICENSE\"", "\"path\": \"../LICENSE\""));
        Assert.Equal("manifest field 'files[1].path': '../LICENSE' contains '..'", Reject(new RawTar().Entry("manifest.json", evil).End().ToArray()));
    }

    [Fact]
    public void ManifestNotJson_Rejected() =>
        Assert.StartsWith("manifest field '$': invalid JSON", Reject(new RawTar().Entry("manifest.json", "nope"u8.ToArray()).End().ToArray()));

    [Fact]
    public void NonZeroPadding_Rejected()
    {
        var full = Good().Entry("manifest.sig", _sig).End().ToArray();
        int manifestPadAt = 512 + _mb.Length; // first padding byte after manifest.json
        Assert.NotEqual(0, (512 - _mb.Length % 512) % 512);
        full[manifestPadAt] = 1;
        Assert.Contains("'manifest.json': non-zero padding byte", Reject(full));
    }
}
