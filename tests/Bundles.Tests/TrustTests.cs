using TtBundles.Signing;

namespace TtBundles.Tests;

/// <summary>Trust policies and key files.</summary>
public sealed class TrustTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task UntrustedKey_RejectedUnderStrict_AcceptedUnderWarnWithWarning()
    {
        using var signer = BundleKeys.Generate();
        using var other = BundleKeys.Generate();
        var bundle = Fixtures.SmallBundle(signer);

        var ex = await Assert.ThrowsAsync<BundleException>(() => BundleReader.VerifyAsync(new MemoryStream(bundle), Fixtures.Trusting(TrustMode.Strict, other)));
        Assert.Equal(BundleErrorKind.Trust, ex.Kind);
        Assert.Equal($"manifest.sig: signed by key {BundleKeys.KeyId(signer)}, which is not in the trusted keys and the trust policy is strict", ex.Message);

        var v = await BundleReader.VerifyAsync(new MemoryStream(bundle), Fixtures.Trusting(TrustMode.Warn, other));
        Assert.Equal(SignatureState.Untrusted, v.Signature);
        Assert.Equal(BundleKeys.KeyId(signer), v.SignerKeyId);
        Assert.Equal($"signed by untrusted key {BundleKeys.KeyId(signer)}; accepted because the trust policy is warn", Assert.Single(v.Warnings));
    }

    [Fact]
    public async Task KeygenFiles_LoadIntoTrustStore_AndSign()
    {
        string dir = Directory.CreateDirectory(_tmp.File("keys")).FullName;
        string id = BundleKeys.WriteKeyPair(Path.Combine(dir, "release"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "release.key")));
        Assert.Throws<IOException>(() => BundleKeys.WriteKeyPair(Path.Combine(dir, "release")));

        var policy = TrustPolicy.Load(TrustMode.Strict, dir);
        Assert.Equal("release.pub", Assert.Single(policy.Keys).Value.Source);
        using var priv = BundleKeys.LoadPrivate(Path.Combine(dir, "release.key"));
        var v = await BundleReader.VerifyAsync(new MemoryStream(Fixtures.SmallBundle(priv)), policy);
        Assert.Equal(SignatureState.Trusted, v.Signature);
        Assert.Equal(id, v.SignerKeyId);
        Assert.Equal("release.pub", v.SignerKeySource);
    }

    [Fact]
    public void MalformedPubInKeysDir_IsAnErrorNamingTheFile()
    {
        string dir = Directory.CreateDirectory(_tmp.File("keys")).FullName;
        File.WriteAllText(Path.Combine(dir, "broken.pub"), "not a key");
        var ex = Assert.Throws<InvalidDataException>(() => TrustPolicy.Load(TrustMode.Strict, dir));
        Assert.Contains("broken.pub", ex.Message);
    }

    [Fact]
    public void PublicKeyIsNotAPrivateKey()
    {
        BundleKeys.WriteKeyPair(_tmp.File("k"));
        var ex = Assert.Throws<InvalidDataException>(() => BundleKeys.LoadPrivate(_tmp.File("k.pub")));
        Assert.Contains("k.pub", ex.Message);
    }

    [Fact]
    public void NonP256Key_Refused()
    {
        using var p384 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        File.WriteAllText(_tmp.File("p384.pub"), p384.ExportSubjectPublicKeyInfoPem());
        Assert.Throws<InvalidDataException>(() => BundleKeys.LoadPublic(_tmp.File("p384.pub")));
    }

    [Theory]
    [InlineData("18.2.0", "2.0.0", new[] { "n150" }, 0, 0)]
    [InlineData("18.1.9", "2.0.0", new[] { "n150" }, 1, 1)]
    [InlineData("18.2.0", "1.9", new[] { "n150" }, 1, 0)]
    [InlineData(null, "2.0.0", new[] { "cpu" }, 1, 1)]
    [InlineData("19.0", "3.0", new[] { "p150" }, 1, 1)]
    public void HardwareCheck(string? fw, string? drv, string[] devices, int problems, int fatal)
    {
        var m = Fixtures.Manifest(Fixtures.Describe("m.gguf", PayloadKinds.Gguf, [1]));
        var p = m.Hardware.Check(fw, drv, devices);
        Assert.Equal(problems, p.Count);
        Assert.Equal(fatal, p.Count(x => x.Fatal));
    }
}
