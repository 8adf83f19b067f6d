using System.Security.Cryptography;
using System.Text;
using TtBundles.Signing;

namespace TtBundles.Tests;

/// <summary>Locates the repo and the shared model directory; makes per-test temp dirs.</summary>
internal static class TestEnv
{
    public static string RepoRoot { get; } = FindRoot();

    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    public static string Stories260K => Path.Combine(SharedModels, "stories260K", "stories260K.gguf");

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "BareMetal.sln"))) return d.FullName;
        throw new InvalidOperationException("BareMetal.sln not found above " + AppContext.BaseDirectory);
    }
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ttbundles-test-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Builds bundles for tests from small in-memory payloads plus, optionally, the real stories260K GGUF.</summary>
internal static class Fixtures
{
    public static byte[] License => Encoding.UTF8.GetBytes("MIT License\n\nCopyright (c) test\n");

    public static PayloadFile Describe(string path, string kind, byte[] content) => new()
    {
        Path = path, Kind = kind, Size = content.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(content)),
    };

    public static BundleManifest Manifest(params PayloadFile[] files) => new()
    {
        Name = "stories260k",
        Version = "1.0",
        Architecture = "llama",
        Quantization = "F32",
        ParameterCount = 260_000,
        ContextLength = 512,
        ChatTemplate = "none",
        EngineVersion = "0.1.0",
        Hardware = new HardwareRequirements
        {
            Firmware = new VersionRequirement { Min = "18.2.0", Policy = RequirementPolicies.Strict },
            Driver = new VersionRequirement { Min = "2.0.0", Policy = RequirementPolicies.Suggested },
            Devices = ["cpu", "n150"],
        },
        License = "MIT",
        Created = "2025-01-31T12:00:00Z",
        Files = [.. files],
    };

    /// <summary>A small bundle held in memory: a fake GGUF payload and a license, signed by <paramref name="key"/> when given.</summary>
    public static byte[] SmallBundle(ECDsa? key, byte[]? gguf = null)
    {
        gguf ??= Encoding.ASCII.GetBytes(new string('g', 3000));
        var lic = License;
        var m = Manifest(Describe("model.gguf", PayloadKinds.Gguf, gguf), Describe("LICENSE", PayloadKinds.License, lic));
        var mb = m.ToBytes();
        var ms = new MemoryStream();
        BundleWriter.WriteAsync(ms, mb,
            [new PayloadSource(m.Files[0], () => new MemoryStream(gguf)), new PayloadSource(m.Files[1], () => new MemoryStream(lic))],
            key is null ? null : BundleSignature.Create(mb, key)).GetAwaiter().GetResult();
        return ms.ToArray();
    }

    public static TrustPolicy Trusting(TrustMode mode, params ECDsa[] keys) =>
        new(mode, keys.Select(k => new TrustedKey(BundleKeys.KeyId(k), "test.pub", k.ExportSubjectPublicKeyInfo())));
}

/// <summary>
/// A deliberately independent, permissive tar builder for hostile inputs: it writes whatever header fields it is
/// given (any type flag, any name, any size), computing a correct checksum unless told otherwise.
/// </summary>
internal sealed class RawTar
{
    private readonly MemoryStream _ms = new();

    public RawTar Entry(string name, byte[] data, char type = '0', long? headerSize = null, string magic = "ustar\0", string version = "00",
        bool badChecksum = false, string prefix = "", bool base256Size = false)
    {
        var h = new byte[512];
        Encoding.UTF8.GetBytes(name).AsSpan(0, Math.Min(100, Encoding.UTF8.GetByteCount(name))).CopyTo(h);
        Octal(h, 100, 8, 420);
        Octal(h, 108, 8, 0);
        Octal(h, 116, 8, 0);
        long size = headerSize ?? data.Length;
        if (base256Size)
        {
            h[124] = 0x80;
            for (int i = 0; i < 8; i++) h[135 - i] = (byte)(size >> (8 * i));
        }
        else Octal(h, 124, 12, size);
        Octal(h, 136, 12, 1700000000);
        h[156] = (byte)type;
        Encoding.ASCII.GetBytes(magic).CopyTo(h, 257);
        Encoding.ASCII.GetBytes(version).CopyTo(h, 263);
        Encoding.UTF8.GetBytes(prefix).CopyTo(h, 345);
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        int sum = h.Sum(b => (int)b) + (badChecksum ? 1 : 0);
        Octal(h, 148, 7, sum);
        _ms.Write(h);
        _ms.Write(data);
        _ms.Write(new byte[(512 - data.Length % 512) % 512]);
        return this;
    }

    public RawTar Pax(string forName, params (string Key, string Value)[] records)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in records)
        {
            int body = Encoding.UTF8.GetByteCount($" {k}={v}\n");
            int len = body + 1;
            while (len.ToString().Length + body != len) len++;
            sb.Append($"{len} {k}={v}\n");
        }
        return Entry("PaxHeaders/" + forName, Encoding.UTF8.GetBytes(sb.ToString()), 'x');
    }

    public RawTar Raw(byte[] bytes) { _ms.Write(bytes); return this; }

    public RawTar End() { _ms.Write(new byte[1024]); return this; }

    public byte[] ToArray() => _ms.ToArray();

    private static void Octal(byte[] h, int off, int len, long v)
    {
        string s = Convert.ToString(v, 8).PadLeft(len - 1, '0');
        Encoding.ASCII.GetBytes(s).CopyTo(h, off);
        h[off + len - 1] = 0;
    }
}
