using System.Globalization;
using System.Security.Cryptography;
using TtBundles.Signing;

namespace TtBundles;

/// <summary>What <see cref="BundleCreator.CreateAsync"/> needs. Only <see cref="GgufPath"/>, <see cref="Name"/> and <see cref="OutputPath"/> are required.</summary>
public sealed class BundleCreateOptions
{
    /// <summary>The GGUF to bundle.</summary>
    public required string GgufPath { get; init; }
    /// <summary>Model name (validated as in the manifest).</summary>
    public required string Name { get; init; }
    /// <summary>Where to write the bundle (written to a temp file beside it, then renamed).</summary>
    public required string OutputPath { get; init; }
    /// <summary>Model version; default <c>1</c>.</summary>
    public string Version { get; init; } = "1";
    /// <summary>SPDX license id; default <c>NOASSERTION</c>.</summary>
    public string License { get; init; } = "NOASSERTION";
    /// <summary>Optional license file, bundled as <c>LICENSE</c>.</summary>
    public string? LicenseFile { get; init; }
    /// <summary>Optional README, bundled as <c>README.md</c>.</summary>
    public string? ReadmeFile { get; init; }
    /// <summary>Minimum firmware, or null.</summary>
    public VersionRequirement? Firmware { get; init; }
    /// <summary>Minimum driver, or null.</summary>
    public VersionRequirement? Driver { get; init; }
    /// <summary>Device kinds; empty = any.</summary>
    public IReadOnlyList<string> Devices { get; init; } = [];
    /// <summary>Minimum engine version; default this library's version.</summary>
    public string? EngineVersion { get; init; }
    /// <summary>Signing key, or null for an unsigned bundle.</summary>
    public ECDsa? Key { get; init; }
    /// <summary>Creation time; default now.</summary>
    public DateTimeOffset? Created { get; init; }
}

/// <summary>Creates a bundle from a GGUF: reads its metadata, hashes the payloads, writes manifest, payloads, signature.</summary>
public static class BundleCreator
{
    /// <summary>The engine version this build implements (the repo VERSION), used as the default minimum.</summary>
    public static string CurrentEngineVersion
    {
        get
        {
            var v = typeof(TtEngine.Gguf.GgufFile).Assembly.GetName().Version ?? new Version(0, 0, 0);
            return $"{v.Major}.{v.Minor}.{Math.Max(0, v.Build)}";
        }
    }

    /// <summary>Builds the manifest (two reads of each payload in all: one here to hash, one to write).</summary>
    public static async Task<BundleManifest> DescribeAsync(BundleCreateOptions o, CancellationToken ct = default)
    {
        BundleManifest.CheckName("name", o.Name);
        BundleManifest.CheckName("version", o.Version);
        var info = GgufModelInfo.Read(o.GgufPath);
        string ggufName = Path.GetFileName(o.GgufPath);
        if (BundlePaths.Check(ggufName) is not null) ggufName = "model.gguf";
        var files = new List<PayloadFile> { await BundleWriter.DescribeFileAsync(o.GgufPath, ggufName, PayloadKinds.Gguf, ct) };
        if (o.LicenseFile is not null) files.Add(await BundleWriter.DescribeFileAsync(o.LicenseFile, "LICENSE", PayloadKinds.License, ct));
        if (o.ReadmeFile is not null) files.Add(await BundleWriter.DescribeFileAsync(o.ReadmeFile, "README.md", PayloadKinds.Readme, ct));
        var m = new BundleManifest
        {
            Name = o.Name,
            Version = o.Version,
            Architecture = info.Architecture,
            Quantization = info.Quantization,
            ParameterCount = info.ParameterCount,
            ContextLength = info.ContextLength,
            ChatTemplate = info.ChatTemplate,
            EngineVersion = o.EngineVersion ?? CurrentEngineVersion,
            Hardware = new HardwareRequirements { Firmware = o.Firmware, Driver = o.Driver, Devices = [.. o.Devices] },
            License = o.License,
            Created = (o.Created ?? DateTimeOffset.UtcNow).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            Files = files,
        };
        m.Validate();
        return m;
    }

    /// <summary>Creates the bundle at <see cref="BundleCreateOptions.OutputPath"/> atomically and returns its manifest.</summary>
    public static async Task<BundleManifest> CreateAsync(BundleCreateOptions o, CancellationToken ct = default)
    {
        var m = await DescribeAsync(o, ct);
        byte[] mb = m.ToBytes();
        byte[]? sig = o.Key is null ? null : BundleSignature.Create(mb, o.Key);
        var locals = new Dictionary<string, string> { [m.Files[0].Path] = o.GgufPath };
        if (o.LicenseFile is not null) locals["LICENSE"] = o.LicenseFile;
        if (o.ReadmeFile is not null) locals["README.md"] = o.ReadmeFile;
        var sources = m.Files.Select(f => new PayloadSource(f, () => BundleReader.OpenSequential(locals[f.Path]))).ToList();
        await AtomicFile.WriteAsync(o.OutputPath, s => BundleWriter.WriteAsync(s, mb, sources, sig, ct), ct);
        return m;
    }

    /// <summary>Re-signs the bundle at <paramref name="path"/> in place: verified copy to a temp file, then rename.</summary>
    public static async Task<BundleVerification> ResignFileAsync(string path, ECDsa key, CancellationToken ct = default)
    {
        BundleVerification? v = null;
        await using var input = BundleReader.OpenSequential(path);
        await AtomicFile.WriteAsync(path, async s => { v = await BundleWriter.ResignAsync(input, s, key, ct); }, ct);
        return v!;
    }
}

/// <summary>Writes a file through a temp file in the same directory, fsyncs it and renames it over the target.</summary>
public static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temp file beside <paramref name="path"/>; on success renames it into place.</summary>
    public static async Task WriteAsync(string path, Func<FileStream, Task> write, CancellationToken ct = default)
    {
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():n}");
        try
        {
            await using (var fs = new FileStream(tmp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, BufferSize = 0 }))
            {
                await write(fs);
                await fs.FlushAsync(ct);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
