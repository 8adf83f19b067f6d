using TestSupport;

namespace Packaging.Tests;

/// <summary>
/// Builds the .deb, the .rpm and a signed offline kit once for the whole collection, with the repository's own scripts.
/// The AOT binaries in artifacts/bin (scripts/test publishes them first) are reused; without them the scripts publish.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("ttpkg-test-").FullName;
    public string Version { get; } = File.ReadAllText(Path.Combine(RepoPaths.Root, "VERSION")).Trim();
    public string Deb => Path.Combine(Dir, "pkg", $"ttnoded_{Version}_amd64.deb");
    public string Rpm => Path.Combine(Dir, "pkg", $"ttnoded-{Version}-1.x86_64.rpm");
    public string KitTar => Path.Combine(Dir, "kit", $"ttnoded-kit-{Version}.tar");
    public string SignerKey => Path.Combine(Dir, "signer.key");
    public string SignerPub => Path.Combine(Dir, "signer.pub");
    public string Tools { get; } = Path.Combine(RepoPaths.Root, "packaging");

    public Dictionary<string, string> BuildEnv { get; } = new();

    public async Task InitializeAsync()
    {
        if (File.Exists(Path.Combine(RepoPaths.BinDir, "ttnoded")) && File.Exists(Path.Combine(RepoPaths.BinDir, "libe_sqlite3.so")))
            BuildEnv["TT_BIN_DIR"] = RepoPaths.BinDir;
        else
            BuildEnv["TT_NO_DOTNET_LOCK"] = "1"; // the test run may itself hold the build lock
        var timeout = TimeSpan.FromMinutes(10);
        await Build(Path.Combine(Tools, "deb", "build"), ["-o", Path.Combine(Dir, "pkg")], timeout);
        await Build(Path.Combine(Tools, "rpm", "build"), ["-o", Path.Combine(Dir, "pkg")], timeout);
        // The kit signer's key pair, as `ttctl bundle keygen` writes them (PKCS#8 / SubjectPublicKeyInfo PEM).
        await Build("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", SignerKey], timeout);
        await Build("openssl", ["pkey", "-in", SignerKey, "-pubout", "-out", SignerPub], timeout);
        await Build(Path.Combine(RepoPaths.Root, "offline-bundle", "build"),
            ["-o", Path.Combine(Dir, "kit"), "--sign", SignerKey, "--trust", SignerPub], timeout);
    }

    private async Task Build(string file, string[] args, TimeSpan timeout)
    {
        var (code, o, e) = await Sh.RunAsync(file, args, timeout, BuildEnv);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}\n{o}\n{e}");
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackagesFixture>
{
    /// <summary>One collection: the install tests change this machine's package database and must not overlap.</summary>
    public const string Name = "packages";
}
