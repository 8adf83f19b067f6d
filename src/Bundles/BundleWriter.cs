using System.Buffers;
using System.Security.Cryptography;
using TtBundles.Signing;
using TtBundles.Tar;

namespace TtBundles;

/// <summary>A payload to write: its manifest entry and a way to open its content.</summary>
/// <param name="File">Manifest entry (size and sha256 must be right; the writer checks the size while copying).</param>
/// <param name="Open">Opens the content for one sequential read.</param>
public sealed record PayloadSource(PayloadFile File, Func<Stream> Open);

/// <summary>Writes bundles: <c>manifest.json</c>, the payloads in manifest order, then <c>manifest.sig</c> when signed.</summary>
public static class BundleWriter
{
    /// <summary>
    /// Writes a bundle from exact manifest bytes (so a signed manifest is reproduced byte for byte, e.g. on export).
    /// The payload sources must be in the manifest's order. Each payload's size and sha256 are checked as it is copied.
    /// </summary>
    public static async Task WriteAsync(Stream output, byte[] manifestBytes, IReadOnlyList<PayloadSource> payloads,
        byte[]? signatureBytes, CancellationToken ct = default)
    {
        var manifest = BundleManifest.Parse(manifestBytes);
        if (payloads.Count != manifest.Files.Count) throw new ArgumentException("payload count differs from the manifest", nameof(payloads));
        if (signatureBytes is { Length: > BundleConstants.MaxSignatureBytes }) throw new ArgumentException("signature too large", nameof(signatureBytes));
        var mtime = DateTimeOffset.Parse(manifest.Created, System.Globalization.CultureInfo.InvariantCulture);
        var tar = new UstarWriter(output, mtime);
        await tar.WriteFileAsync(BundleConstants.ManifestName, manifestBytes, ct);
        byte[] buf = ArrayPool<byte>.Shared.Rent(BundleConstants.CopyBufferBytes);
        try
        {
            for (int i = 0; i < payloads.Count; i++)
            {
                var f = manifest.Files[i];
                if (payloads[i].File.Path != f.Path) throw new ArgumentException($"payload {i} is '{payloads[i].File.Path}', manifest says '{f.Path}'", nameof(payloads));
                await tar.WriteHeaderAsync(f.Path, f.Size, ct);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long copied = 0;
                await using (var src = payloads[i].Open())
                {
                    while (copied < f.Size)
                    {
                        int n = await src.ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, f.Size - copied)), ct);
                        if (n == 0) throw new IOException($"payload '{f.Path}' ended after {copied} of {f.Size} bytes");
                        hash.AppendData(buf, 0, n);
                        await output.WriteAsync(buf.AsMemory(0, n), ct);
                        copied += n;
                    }
                    if (await src.ReadAsync(buf.AsMemory(0, 1), ct) != 0) throw new IOException($"payload '{f.Path}' is larger than {f.Size} bytes");
                }
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (actual != f.Sha256) throw new IOException($"payload '{f.Path}' changed: sha256 {actual}, manifest {f.Sha256}");
                await tar.WritePaddingAsync(f.Size, ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
        if (signatureBytes is not null) await tar.WriteFileAsync(BundleConstants.SignatureName, signatureBytes, ct);
        await tar.WriteEndAsync(ct);
        await output.FlushAsync(ct);
    }

    /// <summary>Exact byte length of the bundle <see cref="WriteAsync"/> produces (for Content-Length and progress).</summary>
    public static long BundleLength(int manifestBytes, IEnumerable<long> payloadSizes, int? signatureBytes)
    {
        const int B = UstarFormat.BlockSize;
        static long Entry(long size) => B + size + UstarFormat.Padding(size);
        long n = Entry(manifestBytes);
        foreach (long size in payloadSizes)
        {
            if (size > UstarFormat.MaxOctalSize) n += Entry(UstarFormat.PaxRecord("size", size.ToString(System.Globalization.CultureInfo.InvariantCulture)).Length);
            n += Entry(size);
        }
        if (signatureBytes is int s) n += Entry(s);
        return n + 2 * B;
    }

    /// <summary>Hashes a local file and returns its manifest entry.</summary>
    public static async Task<PayloadFile> DescribeFileAsync(string localPath, string bundlePath, string kind, CancellationToken ct = default)
    {
        if (BundlePaths.Check(bundlePath) is { } why) throw new ArgumentException($"bundle path '{bundlePath}' {why}", nameof(bundlePath));
        await using var fs = BundleReader.OpenSequential(localPath);
        using var sha = SHA256.Create();
        byte[] hash = await sha.ComputeHashAsync(fs, ct);
        return new PayloadFile { Path = bundlePath, Kind = kind, Size = fs.Length, Sha256 = Convert.ToHexStringLower(hash) };
    }

    /// <summary>
    /// Re-signs a bundle: reads <paramref name="input"/> once, verifying structure, sizes and hashes (trust policy off),
    /// while copying it to <paramref name="output"/> (seekable, empty); then cuts the copy before any old signature and
    /// appends a new <c>manifest.sig</c> and the end marker. The manifest bytes are unchanged.
    /// </summary>
    public static async Task<BundleVerification> ResignAsync(Stream input, Stream output, ECDsa key, CancellationToken ct = default)
    {
        if (!output.CanSeek) throw new ArgumentException("output must be seekable", nameof(output));
        var tee = new TeeReadStream(input, output);
        var v = await BundleReader.VerifyAsync(tee, TrustPolicy.Off, ct);
        await output.FlushAsync(ct);
        output.SetLength(v.SignatureOffset);
        output.Position = v.SignatureOffset;
        var mtime = DateTimeOffset.Parse(v.Manifest.Created, System.Globalization.CultureInfo.InvariantCulture);
        var tar = new UstarWriter(output, mtime);
        byte[] sig = BundleSignature.Create(v.ManifestBytes, key);
        await tar.WriteFileAsync(BundleConstants.SignatureName, sig, ct);
        await tar.WriteEndAsync(ct);
        await output.FlushAsync(ct);
        return v;
    }

    /// <summary>A read-only stream that copies everything read from the source into a sink.</summary>
    private sealed class TeeReadStream(Stream source, Stream sink) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = source.Read(buffer, offset, count);
            sink.Write(buffer, offset, n);
            return n;
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            int n = await source.ReadAsync(buffer, ct);
            await sink.WriteAsync(buffer[..n], ct);
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
