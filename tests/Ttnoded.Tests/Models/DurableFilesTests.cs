using Ttnoded.Models;

namespace Ttnoded.Tests.Models;

/// <summary>The model store's temp files (O_DIRECT where the filesystem allows, buffered elsewhere) hold exactly what was written.</summary>
public sealed class DurableFilesTests : IDisposable
{
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        foreach (var d in _dirs) Directory.Delete(d, recursive: true);
    }

    private string Dir(string parent)
    {
        string d = Path.Combine(parent, "ttdurable-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        _dirs.Add(d);
        return d;
    }

    public static TheoryData<string, int[]> Cases()
    {
        var data = new TheoryData<string, int[]>();
        // The temp dir (a disk here: O_DIRECT) and /dev/shm (tmpfs: O_DIRECT refused on older kernels, buffered then).
        foreach (string parent in new[] { Path.GetTempPath(), "/dev/shm" })
        {
            data.Add(parent, [1 << 20, 1 << 20, 12345]);         // whole aligned buffers, then a short tail (what an import does)
            data.Add(parent, [4096, 1, 4095, 8192, 7, 3 << 20]); // unaligned lengths and offsets through the staging buffer
            data.Add(parent, [100]);                             // shorter than a page
            data.Add(parent, []);                                // empty payload
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CreateTemp_WritesExactlyTheBytes_AnyChunking(string parent, int[] chunks)
    {
        if (!Directory.Exists(parent)) return;
        string path = Path.Combine(Dir(parent), "blob");
        var rng = new Random(chunks.Length);
        var expected = new MemoryStream();
        long total = chunks.Sum(c => (long)c);
        using (var s = DurableFiles.CreateTemp(path, total))
        {
            foreach (int n in chunks)
            {
                // Both page-aligned (pinned, offset to a page) and arbitrary buffers, as a caller may pass either.
                var array = GC.AllocateUninitializedArray<byte>(n + 8192, pinned: true);
                int offset = n % 2 == 0 ? (int)((4096 - System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(array, 0) % 4096) % 4096) : 3;
                var chunk = array.AsSpan(offset, n);
                rng.NextBytes(chunk);
                s.Write(chunk);
                expected.Write(chunk);
            }
            s.Flush();
        }
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void CreateTemp_RefusesAnExistingFile()
    {
        string path = Path.Combine(Dir(Path.GetTempPath()), "blob");
        File.WriteAllText(path, "x");
        Assert.Throws<IOException>(() => DurableFiles.CreateTemp(path, 10));
        Assert.Equal("x", File.ReadAllText(path));
    }
}
