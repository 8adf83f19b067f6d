using System.Security.Cryptography;
using TestSupport;
using TtBundles;
using TtBundles.Signing;
using Ttnoded.Models;
using Ttnoded.Store;

namespace Ttnoded.Tests.Models;

/// <summary>The model store over a real SQLite store and real files (the stories260K GGUF as payload).</summary>
public sealed class ModelStoreTests : IDisposable
{
    private static readonly string Gguf = Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ttmodels-" + Guid.NewGuid().ToString("n"));
    private readonly ECDsa _key = BundleKeys.Generate();
    private readonly StateStore _db;
    private NodeFacts _facts = new("18.3.0", "2.1.0", ["cpu", "n150"]);

    public ModelStoreTests()
    {
        Directory.CreateDirectory(_dir);
        _db = StateStore.Open(Path.Combine(_dir, "state.db"), [.. Migrations.All, ModelSchema.Migration]);
    }

    public void Dispose()
    {
        _db.Dispose();
        _key.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ModelStore NewStore(TrustMode mode = TrustMode.Strict, string sub = "models", string? engine = "0.1.0", bool initialize = true)
    {
        var trust = new TrustPolicy(mode, [new TrustedKey(BundleKeys.KeyId(_key), "test.pub", _key.ExportSubjectPublicKeyInfo())]);
        var s = new ModelStore(Path.Combine(_dir, sub), _db, () => trust, () => _facts, engine);
        if (initialize) s.Initialize();
        return s;
    }

    private async Task<string> BundleAsync(string name = "stories", string version = "1", ECDsa? key = null, bool signed = true,
        VersionRequirement? firmware = null, string? engine = null, string[]? devices = null)
    {
        string path = Path.Combine(_dir, $"{name}-{version}-{Guid.NewGuid():n}.ttmodel");
        File.WriteAllText(Path.Combine(_dir, "LICENSE"), "MIT\n");
        await BundleCreator.CreateAsync(new BundleCreateOptions
        {
            GgufPath = Gguf, Name = name, Version = version, OutputPath = path, License = "MIT", LicenseFile = Path.Combine(_dir, "LICENSE"),
            Key = signed ? key ?? _key : null, Firmware = firmware, EngineVersion = engine, Devices = devices ?? [],
            Created = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero),
        });
        return path;
    }

    private static async Task<ModelStore.ImportOutcome> ImportFileAsync(ModelStore s, string bundle)
    {
        await using var fs = File.OpenRead(bundle);
        return await s.ImportAsync(fs, "tester", CancellationToken.None);
    }

    private static async Task<ModelStoreException> RejectAsync(ModelStore s, Stream body) =>
        await Assert.ThrowsAsync<ModelStoreException>(() => s.ImportAsync(body, "tester", CancellationToken.None));

    private static string[] Entries(string dir) => Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public async Task Import_RegistersContentAddressedBlobs_AndCatalogFindsTheGguf()
    {
        var s = NewStore();
        var r = await ImportFileAsync(s, await BundleAsync());
        Assert.Equal(("stories", "1", "trusted", BundleKeys.KeyId(_key)), (r.Model.Name, r.Model.Version, r.Model.Signature, r.Model.SignerKeyId));
        Assert.Empty(r.Warnings);
        string blob = s.BlobPath("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
        Assert.Equal(File.ReadAllBytes(Gguf), File.ReadAllBytes(blob));
        Assert.Equal(2, Directory.GetFiles(s.BlobsDir).Length);
        Assert.Empty(Entries(s.TempDir));
        Assert.Equal(blob, s.Find("stories")!.GgufPath);
        Assert.Equal(blob, s.Find("stories:1")!.GgufPath);
        Assert.Null(s.Find("stories:2"));
        Assert.Equal(["stories:1"], s.Names());
    }

    [Fact]
    public async Task DuplicateImport_RefusedBeforeAnyPayloadIsWritten()
    {
        var s = NewStore();
        string bundle = await BundleAsync();
        await ImportFileAsync(s, bundle);
        var blobsBefore = Entries(s.BlobsDir);
        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => ImportFileAsync(s, bundle));
        Assert.Equal(409, ex.Status);
        Assert.Contains("stories:1 is already registered", ex.Message);
        Assert.Equal(blobsBefore, Entries(s.BlobsDir));
        Assert.Empty(Entries(s.TempDir));
    }

    [Fact]
    public async Task SharedBlob_StoredOnce_DeletedWithItsLastModel()
    {
        var s = NewStore();
        await ImportFileAsync(s, await BundleAsync(version: "1"));
        await ImportFileAsync(s, await BundleAsync(version: "2"));
        Assert.Equal(2, Directory.GetFiles(s.BlobsDir).Length); // GGUF + LICENSE, each once
        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => s.RemoveAsync("stories", CancellationToken.None));
        Assert.Equal(409, ex.Status);
        Assert.Equal(0, (await s.RemoveAsync("stories:1", CancellationToken.None)).BlobsRemoved);
        Assert.Equal(2, Directory.GetFiles(s.BlobsDir).Length);
        Assert.Equal(2, (await s.RemoveAsync("stories", CancellationToken.None)).BlobsRemoved);
        Assert.Empty(Entries(s.BlobsDir));
        Assert.Empty(s.List());
    }

    [Fact]
    public async Task CorruptedBundle_Rejected_NothingRegistered_NoTempOrBlobLeft()
    {
        var s = NewStore();
        var bytes = File.ReadAllBytes(await BundleAsync());
        bytes[600_000] ^= 0x01; // inside the GGUF payload
        var ex = await RejectAsync(s, new MemoryStream(bytes));
        Assert.Equal(400, ex.Status);
        Assert.StartsWith("bundle entry 'stories260K.gguf': sha256 ", ex.Message);
        Assert.Empty(s.List());
        Assert.Empty(Entries(s.TempDir));
        Assert.Empty(Entries(s.BlobsDir));
    }

    [Fact]
    public async Task UntrustedSigner_RejectedUnderStrict_AcceptedUnderWarn()
    {
        using var stranger = BundleKeys.Generate();
        string bundle = await BundleAsync(key: stranger);
        var ex = await Assert.ThrowsAsync<ModelStoreException>(() => ImportFileAsync(NewStore(), bundle));
        Assert.Contains($"signed by key {BundleKeys.KeyId(stranger)}, which is not in the trusted keys", ex.Message);
        Assert.Empty(NewStore().List());

        var r = await ImportFileAsync(NewStore(TrustMode.Warn), bundle);
        Assert.Equal("untrusted", r.Model.Signature);
        Assert.Contains("untrusted key", Assert.Single(r.Warnings));
    }

    [Fact]
    public async Task UnsignedBundle_RejectedUnderStrict()
    {
        var ex = await Assert.ThrowsAsync<ModelStoreException>(async () => await ImportFileAsync(NewStore(), await BundleAsync(signed: false)));
        Assert.Contains("unsigned", ex.Message);
    }

    [Fact]
    public async Task HardwareRequirements_StrictRefuses_SuggestedWarns()
    {
        _facts = new NodeFacts("18.1.0", "2.1.0", ["cpu"]);
        var s = NewStore();
        var ex = await Assert.ThrowsAsync<ModelStoreException>(async () =>
            await ImportFileAsync(s, await BundleAsync(firmware: new VersionRequirement { Min = "18.2.0", Policy = "strict" })));
        Assert.Equal(422, ex.Status);
        Assert.Equal("manifest field 'hardware.firmware': needs firmware >= 18.2.0 (strict); this node has 18.1.0", ex.Message);
        Assert.Empty(Entries(s.TempDir));

        var r = await ImportFileAsync(s, await BundleAsync(version: "2", firmware: new VersionRequirement { Min = "18.2.0", Policy = "suggested" }));
        Assert.Contains("needs firmware >= 18.2.0 (suggested)", Assert.Single(r.Warnings));

        var dev = await Assert.ThrowsAsync<ModelStoreException>(async () => await ImportFileAsync(s, await BundleAsync(version: "3", devices: ["p300"])));
        Assert.Contains("hardware.devices", dev.Message);
    }

    [Fact]
    public async Task NewerEngineRequired_Refused()
    {
        var ex = await Assert.ThrowsAsync<ModelStoreException>(async () => await ImportFileAsync(NewStore(engine: "0.1.0"), await BundleAsync(engine: "9.0")));
        Assert.Equal(422, ex.Status);
        Assert.Contains("engine_version", ex.Message);
    }

    [Fact]
    public async Task Initialize_RemovesLeftoverTemps_AndUnreferencedBlobs()
    {
        var s = NewStore();
        await ImportFileAsync(s, await BundleAsync());
        // What an import killed mid-stream or between rename and commit leaves behind:
        Directory.CreateDirectory(Path.Combine(s.TempDir, "import-dead"));
        File.WriteAllText(Path.Combine(s.TempDir, "import-dead", "0"), "partial");
        File.WriteAllText(s.BlobPath(new string('a', 64)), "orphan");
        var (temps, orphans) = NewStore(initialize: false).Initialize(); // what the next daemon start does
        Assert.Equal((1, 1), (temps, orphans));
        Assert.Empty(Entries(s.TempDir));
        Assert.Equal(2, Directory.GetFiles(s.BlobsDir).Length);
        Assert.NotNull(s.Find("stories"));
    }

    [Fact]
    public async Task Verify_ReportsRot_AndExportRefusesRottenBlob()
    {
        var s = NewStore();
        await ImportFileAsync(s, await BundleAsync());
        Assert.True((await s.VerifyAsync("stories", CancellationToken.None)).Ok);
        string blob = s.Find("stories")!.GgufPath;
        using (var fs = new FileStream(blob, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Position = 1000;
            int b = fs.ReadByte();
            fs.Position = 1000;
            fs.WriteByte((byte)(b ^ 0x80));
        }
        var v = await s.VerifyAsync("stories", CancellationToken.None);
        Assert.False(v.Ok);
        Assert.Equal(["hash-mismatch", "ok"], v.Files.Select(f => f.Status));
        await Assert.ThrowsAsync<IOException>(() => s.ExportAsync(s.Get("stories"), Stream.Null, CancellationToken.None));
    }

    [Fact]
    public async Task Export_IsByteIdenticalToTheImportedBundle_AndImportsElsewhere()
    {
        var s = NewStore();
        string bundle = await BundleAsync();
        await ImportFileAsync(s, bundle);
        var model = s.Get("stories:1");
        var ms = new MemoryStream();
        await s.ExportAsync(model, ms, CancellationToken.None);
        Assert.Equal(File.ReadAllBytes(bundle), ms.ToArray());
        Assert.Equal(ms.Length, ModelStore.ExportLength(model));

        // A second node (its own store and database) accepts it under strict: the signature survived.
        using var db2 = StateStore.Open(Path.Combine(_dir, "other.db"), [.. Migrations.All, ModelSchema.Migration]);
        var trust = new TrustPolicy(TrustMode.Strict, [new TrustedKey(BundleKeys.KeyId(_key), "k.pub", _key.ExportSubjectPublicKeyInfo())]);
        var other = new ModelStore(Path.Combine(_dir, "other"), db2, () => trust, () => _facts, "0.1.0");
        other.Initialize();
        ms.Position = 0;
        Assert.Equal("trusted", (await other.ImportAsync(ms, "tester", CancellationToken.None)).Model.Signature);
    }

    [Fact]
    public async Task LargePayload_StreamsThroughWritebackPath_ByteExact()
    {
        // 80 MiB: crosses the 32 MiB early-writeback step of the blob writer twice.
        var payload = new byte[80 << 20];
        new Random(3).NextBytes(payload);
        var file = new PayloadFile { Path = "big.gguf", Kind = PayloadKinds.Gguf, Size = payload.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(payload)) };
        var m = new BundleManifest
        {
            Name = "big", Version = "1", Architecture = "llama", Quantization = "F32", EngineVersion = "0.1.0", License = "MIT",
            Created = "2025-01-31T12:00:00Z", Files = [file],
        };
        var mb = m.ToBytes();
        var bundle = new MemoryStream();
        await BundleWriter.WriteAsync(bundle, mb, [new PayloadSource(file, () => new MemoryStream(payload))], BundleSignature.Create(mb, _key));
        bundle.Position = 0;
        var s = NewStore();
        await s.ImportAsync(bundle, "tester", CancellationToken.None);
        Assert.Equal(payload, File.ReadAllBytes(s.BlobPath(file.Sha256)));
    }

    [Fact]
    public async Task FiftyRandomCorruptions_NeverRegisterAnything()
    {
        var s = NewStore();
        var good = File.ReadAllBytes(await BundleAsync());
        var rng = new Random(7);
        for (int i = 0; i < 50; i++)
        {
            var bad = (byte[])good.Clone();
            if (i % 2 == 0) bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
            else bad = bad.AsSpan(0, rng.Next(bad.Length)).ToArray();
            var ex = await RejectAsync(s, new MemoryStream(bad));
            Assert.Equal(400, ex.Status);
        }
        Assert.Empty(s.List());
        Assert.Empty(Entries(s.TempDir));
        Assert.Empty(Entries(s.BlobsDir));
    }
}
