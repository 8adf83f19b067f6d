using System.Security.Cryptography;
using System.Threading.Channels;
using TtBundles.Signing;
using TtBundles.Tar;

namespace TtBundles;

/// <summary>How the signature of a verified bundle turned out.</summary>
public enum SignatureState
{
    /// <summary>Valid signature by a key in the trust store.</summary>
    Trusted,
    /// <summary>Valid signature by a key not in the trust store (accepted only under <see cref="TrustMode.Warn"/>/<see cref="TrustMode.Off"/>).</summary>
    Untrusted,
    /// <summary>No <c>manifest.sig</c> entry.</summary>
    Unsigned,
    /// <summary>Policy <see cref="TrustMode.Off"/>: the signature entry was not examined.</summary>
    NotChecked,
}

/// <summary>The outcome of a successful verification or import.</summary>
public sealed class BundleVerification
{
    /// <summary>The validated manifest.</summary>
    public required BundleManifest Manifest { get; init; }
    /// <summary>The exact manifest bytes (what the signature covers). Keep them to re-export the bundle.</summary>
    public required byte[] ManifestBytes { get; init; }
    /// <summary>The exact <c>manifest.sig</c> bytes, or null when unsigned.</summary>
    public byte[]? SignatureBytes { get; init; }
    /// <summary>Signature outcome.</summary>
    public SignatureState Signature { get; init; }
    /// <summary>Key id of the signer when the signature was checked and valid.</summary>
    public string? SignerKeyId { get; init; }
    /// <summary>Trust-store file of the signer when trusted.</summary>
    public string? SignerKeySource { get; init; }
    /// <summary>Warnings (unsigned or untrusted under <see cref="TrustMode.Warn"/>), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>Bytes read from the input.</summary>
    public long BytesRead { get; init; }
    /// <summary>Offset of the <c>manifest.sig</c> entry, or of the end-of-archive marker when unsigned.</summary>
    public long SignatureOffset { get; init; }
}

/// <summary>
/// Streaming bundle verifier and importer. It reads the input exactly once, front to back, never seeks, and never
/// holds a payload in memory: each payload is hashed while it is copied to a destination the caller supplies.
/// Every rejection is a <see cref="BundleException"/> with a one-line message naming the entry or field.
/// </summary>
public static class BundleReader
{
    /// <summary>Buffers in flight per payload copy (each <see cref="BundleConstants.CopyBufferBytes"/>).</summary>
    private const int CopyDepth = 4;

    /// <summary>Verifies a bundle without keeping any payload.</summary>
    public static Task<BundleVerification> VerifyAsync(Stream input, TrustPolicy policy, CancellationToken ct = default) =>
        ImportAsync(input, static _ => Stream.Null, policy, ct);

    /// <summary>Verifies a bundle file.</summary>
    public static async Task<BundleVerification> VerifyFileAsync(string path, TrustPolicy policy, CancellationToken ct = default)
    {
        await using var fs = OpenSequential(path);
        return await VerifyAsync(fs, policy, ct);
    }

    /// <summary>Opens a file for one sequential pass.</summary>
    public static FileStream OpenSequential(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });

    /// <summary>
    /// Reads only the first entry and returns the validated manifest and its exact bytes. Verifies nothing else
    /// (no hashes, no signature): for display, never for trust decisions.
    /// </summary>
    public static Task<(BundleManifest Manifest, byte[] Bytes)> ReadManifestAsync(Stream input, CancellationToken ct = default) =>
        ReadManifestAsync(new UstarReader(input), ct);

    private static async Task<(BundleManifest Manifest, byte[] Bytes)> ReadManifestAsync(UstarReader tar, CancellationToken ct)
    {
        var first = await tar.NextAsync(ct);
        if (first is null) BundleThrow.Format("bundle is empty (end-of-archive marker before manifest.json)");
        if (first.Value.Name != BundleConstants.ManifestName)
            BundleThrow.Entry(first.Value.Name, $"found where {BundleConstants.ManifestName} must be the first entry");
        if (first.Value.Size > BundleConstants.MaxManifestBytes)
            BundleThrow.Entry(BundleConstants.ManifestName, $"size {first.Value.Size} exceeds limit {BundleConstants.MaxManifestBytes}");
        var bytes = new byte[first.Value.Size];
        await tar.ReadExactAsync(bytes, BundleConstants.ManifestName, ct);
        return (BundleManifest.Parse(bytes), bytes);
    }

    /// <summary>
    /// Reads a bundle once and writes each payload to <paramref name="openDestination"/>(file), hashing as it writes.
    /// The destination is called only after the entry's path, kind, size and uniqueness were checked against the
    /// manifest, so nothing is written for an entry that is not listed; the returned stream is disposed by this method.
    /// On success, every payload was written in full and its size and sha256 matched, and the signature satisfied
    /// <paramref name="policy"/>. On failure, the destinations hold partial or unverified data: the caller (which made
    /// them, in its temporary area) deletes them. Nothing is registered here; the caller commits after success.
    /// </summary>
    public static Task<BundleVerification> ImportAsync(Stream input, Func<PayloadFile, Stream> openDestination,
        TrustPolicy policy, CancellationToken ct = default) => ImportAsync(input, null, openDestination, policy, ct);

    /// <summary>
    /// As <see cref="ImportAsync(Stream, Func{PayloadFile, Stream}, TrustPolicy, CancellationToken)"/>, and calls
    /// <paramref name="onManifest"/> with the validated manifest before any payload is read, so the caller can refuse
    /// early (name already registered, hardware or engine requirements unmet) by throwing.
    /// </summary>
    public static async Task<BundleVerification> ImportAsync(Stream input, Action<BundleManifest>? onManifest,
        Func<PayloadFile, Stream> openDestination, TrustPolicy policy, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(openDestination);
        ArgumentNullException.ThrowIfNull(policy);
        var tar = new UstarReader(input);

        // 1. manifest.json, first.
        var (manifest, manifestBytes) = await ReadManifestAsync(tar, ct);
        onManifest?.Invoke(manifest);
        var expected = manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);

        // 2. payloads, then an optional manifest.sig, then the end marker.
        byte[]? sigBytes = null;
        long sigOffset;
        var buffers = new ArraySegment<byte>[CopyDepth];
        for (int i = 0; i < buffers.Length; i++) buffers[i] = AlignedBuffer(BundleConstants.CopyBufferBytes);
        while (true)
        {
            var e = await tar.NextAsync(ct);
            if (e is null) { sigOffset = tar.EndMarkerOffset; break; }
            var entry = e.Value;
            if (entry.Name == BundleConstants.ManifestName) BundleThrow.Entry(entry.Name, "duplicate entry");
            if (entry.Name == BundleConstants.SignatureName)
            {
                sigOffset = entry.HeaderOffset;
                if (entry.Size > BundleConstants.MaxSignatureBytes)
                    BundleThrow.Entry(entry.Name, $"size {entry.Size} exceeds limit {BundleConstants.MaxSignatureBytes}");
                sigBytes = new byte[entry.Size];
                await tar.ReadExactAsync(sigBytes, entry.Name, ct);
                var after = await tar.NextAsync(ct);
                if (after is not null)
                    BundleThrow.Entry(after.Value.Name, $"found after {BundleConstants.SignatureName}, which must be the last entry");
                break;
            }
            if (!expected.TryGetValue(entry.Name, out var file)) BundleThrow.Entry(entry.Name, "not listed in manifest.json (unknown file)");
            if (!seen.Add(entry.Name)) BundleThrow.Entry(entry.Name, "duplicate entry");
            if (entry.Size != file.Size)
                BundleThrow.Entry(entry.Name, $"tar size {entry.Size} disagrees with manifest size {file.Size}");
            await CopyAndHashAsync(tar, file, openDestination, buffers, ct);
        }
        foreach (var f in manifest.Files)
            if (!seen.Contains(f.Path)) BundleThrow.Entry(f.Path, "listed in manifest.json but missing from the bundle");

        // 3. signature against the trust policy.
        var warnings = new List<string>();
        SignatureState state;
        string? keyId = null, keySource = null;
        if (policy.Mode == TrustMode.Off)
            state = sigBytes is null ? SignatureState.Unsigned : SignatureState.NotChecked;
        else if (sigBytes is null)
        {
            if (policy.Mode == TrustMode.Strict) BundleThrow.Trust($"bundle is unsigned ({BundleConstants.SignatureName} missing) and the trust policy is strict");
            warnings.Add($"bundle is unsigned ({BundleConstants.SignatureName} missing); accepted because the trust policy is warn");
            state = SignatureState.Unsigned;
        }
        else
        {
            var (id, spki) = BundleSignature.Verify(sigBytes, manifestBytes);
            keyId = id;
            if (policy.Keys.TryGetValue(id, out var trusted) && trusted.Spki.AsSpan().SequenceEqual(spki))
            {
                state = SignatureState.Trusted;
                keySource = trusted.Source;
            }
            else
            {
                if (policy.Mode == TrustMode.Strict)
                    BundleThrow.Trust($"{BundleConstants.SignatureName}: signed by key {id}, which is not in the trusted keys and the trust policy is strict");
                warnings.Add($"signed by untrusted key {id}; accepted because the trust policy is warn");
                state = SignatureState.Untrusted;
            }
        }

        return new BundleVerification
        {
            Manifest = manifest,
            ManifestBytes = manifestBytes,
            SignatureBytes = sigBytes,
            Signature = state,
            SignerKeyId = keyId,
            SignerKeySource = keySource,
            Warnings = warnings,
            BytesRead = tar.Position,
            SignatureOffset = sigOffset,
        };
    }

    /// <summary>Alignment of copy buffers: a page, what O_DIRECT destinations need to write straight from them.</summary>
    public const int BufferAlignment = 4096;

    /// <summary>
    /// A pinned buffer whose start is page-aligned, so a destination opened with O_DIRECT (the model store's temp
    /// files) can hand it to the disk as is instead of copying it into the page cache.
    /// </summary>
    private static ArraySegment<byte> AlignedBuffer(int size)
    {
        var array = GC.AllocateUninitializedArray<byte>(size + BufferAlignment, pinned: true);
        long address = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        int offset = (int)((BufferAlignment - address % BufferAlignment) % BufferAlignment);
        return new ArraySegment<byte>(array, offset, size);
    }

    /// <summary>
    /// Copies one payload, hashing it, with the destination writes on their own thread: a bounded ring of
    /// <see cref="CopyDepth"/> buffers lets the socket read and the hash run while the disk write proceeds, so an
    /// import runs at the speed of the slowest of the three, not their sum.
    /// </summary>
    private static async Task CopyAndHashAsync(UstarReader tar, PayloadFile file, Func<PayloadFile, Stream> openDestination,
        ArraySegment<byte>[] buffers, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var dest = openDestination(file);
        var full = Channel.CreateBounded<(ArraySegment<byte> Buf, int Count)>(new BoundedChannelOptions(buffers.Length) { SingleReader = true, SingleWriter = true });
        var free = Channel.CreateBounded<ArraySegment<byte>>(new BoundedChannelOptions(buffers.Length) { SingleReader = true, SingleWriter = true });
        foreach (var b in buffers) free.Writer.TryWrite(b);
        var writer = Task.Run(async () =>
        {
            try
            {
                await foreach (var (buf, n) in full.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    dest.Write(buf.AsSpan(0, n));
                    free.Writer.TryWrite(buf);
                }
                dest.Flush();
            }
            catch (Exception e)
            {
                full.Writer.TryComplete(e); // wakes the reader loop, wherever it waits, with the write error
                free.Writer.TryComplete(e);
                throw;
            }
        }, ct);
        try
        {
            while (true)
            {
                var buf = await free.Reader.ReadAsync(ct).ConfigureAwait(false);
                int n = await tar.ReadAsync(buf, ct).ConfigureAwait(false);
                if (n == 0) break;
                hash.AppendData(buf.AsSpan(0, n));
                await full.Writer.WriteAsync((buf, n), ct).ConfigureAwait(false);
            }
            full.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            full.Writer.TryComplete();
            await writer.ConfigureAwait(false); // rethrows the write error itself
            throw;
        }
        catch
        {
            full.Writer.TryComplete();
            try { await writer.ConfigureAwait(false); } catch (Exception) { /* the read-side error is the one to report */ }
            throw;
        }
        finally
        {
            await dest.DisposeAsync().ConfigureAwait(false);
        }
        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != file.Sha256)
            BundleThrow.Integrity(file.Path, $"sha256 {actual} does not match manifest {file.Sha256}");
    }
}
