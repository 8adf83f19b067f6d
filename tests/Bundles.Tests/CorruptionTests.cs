using System.Text;
using TtBundles.Signing;

namespace TtBundles.Tests;

/// <summary>
/// 200 corrupted variants of one signed bundle (seeded bit flips, truncations at random offsets, hostile tar edits):
/// every one is rejected with a one-line BundleException, and the importer only ever opens destinations for
/// manifest-listed payloads inside the test's temp area.
/// </summary>
public sealed class CorruptionTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task TwoHundredCorruptedVariants_AllRejected()
    {
        using var key = BundleKeys.Generate();
        var gguf = File.ReadAllBytes(TestEnv.Stories260K).AsSpan(0, 64 * 1024).ToArray(); // real GGUF bytes, kept small
        byte[] good = Fixtures.SmallBundle(key, gguf);
        var policy = Fixtures.Trusting(TrustMode.Strict, key);
        Assert.Equal(SignatureState.Trusted, (await BundleReader.VerifyAsync(new MemoryStream(good), policy)).Signature);

        string area = Path.GetFullPath(Directory.CreateDirectory(_tmp.File("area")).FullName);
        var rng = new Random(20250131);
        var kinds = new Dictionary<string, int>();
        for (int i = 0; i < 200; i++)
        {
            var (kind, bad) = Mutate(good, rng, i);
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            var ex = await Assert.ThrowsAsync<BundleException>(() => BundleReader.ImportAsync(new MemoryStream(bad), f =>
            {
                string dest = Path.GetFullPath(Path.Combine(area, $"{i}-{f.Path.Replace('/', '_')}"));
                Assert.StartsWith(area + Path.DirectorySeparatorChar, dest);
                Assert.True(f.Path is "model.gguf" or "LICENSE", $"variant {i} ({kind}) opened '{f.Path}'");
                return File.Create(dest);
            }, policy));
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
            Assert.DoesNotContain('\n', ex.Message);
        }
        Assert.Equal(4, kinds.Count);
        Assert.All(kinds.Values, n => Assert.True(n >= 30));
    }

    private static (string Kind, byte[] Bytes) Mutate(byte[] good, Random rng, int i)
    {
        var b = (byte[])good.Clone();
        switch (i % 4)
        {
            case 0: // one bit flip anywhere in the meaningful part (headers, manifest, payload, signature, end marker)
            {
                int at = rng.Next(b.Length);
                b[at] ^= (byte)(1 << rng.Next(8));
                return ("bitflip", b);
            }
            case 1: // several bit flips
            {
                for (int k = rng.Next(2, 9); k > 0; k--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return ("bitflips", b);
            }
            case 2: // truncation at a random offset
                return ("truncate", b.AsSpan(0, rng.Next(b.Length)).ToArray());
            default: // a hostile entry spliced in right after the manifest
            {
                int manifestEnd = 512 + (int)Align(ManifestSize(good));
                string[] names = ["../evil", "/etc/cron.d/x", "a/../../b", "model.gguf", "manifest.json", "LICENSE", "x\u0001y", "unknown.bin"];
                char[] types = ['0', '1', '2', '3', '4', '5', '6', 'g', 'L'];
                var raw = new RawTar().Entry(names[rng.Next(names.Length)], Encoding.ASCII.GetBytes("evil"), types[rng.Next(types.Length)]).ToArray();
                var spliced = new byte[b.Length + raw.Length];
                b.AsSpan(0, manifestEnd).CopyTo(spliced);
                raw.CopyTo(spliced, manifestEnd);
                b.AsSpan(manifestEnd).CopyTo(spliced.AsSpan(manifestEnd + raw.Length));
                return ("hostile-tar", spliced);
            }
        }
    }

    private static long Align(long n) => (n + 511) / 512 * 512;

    private static long ManifestSize(byte[] tar) => Convert.ToInt64(Encoding.ASCII.GetString(tar, 124, 11), 8);
}
