using System.Buffers.Text;
using System.Text;
using Microsoft.Win32.SafeHandles;
using TtBundles;
using TtBundles.Signing;

namespace Ttnoded.Usb;

/// <summary>
/// What a bundle on a drive claims, read cheaply: the manifest (first tar entry) and the <c>manifest.sig</c> entry found
/// by hopping from tar header to tar header (a few seeks, no payload read). The signature is checked against the exact
/// manifest bytes, so <see cref="SignatureValid"/> and <see cref="SignerKeyId"/> are real; the payload hashes are not
/// checked here (the import does that).
/// </summary>
internal sealed class BundlePeek
{
    public string? Name { get; private init; }
    public string? Version { get; private init; }
    public string? Architecture { get; private init; }
    public string? Quantization { get; private init; }
    /// <summary>True when a manifest.sig is present and its signature over the manifest is valid.</summary>
    public bool SignatureValid { get; private init; }
    public bool Signed { get; private init; }
    public string? SignerKeyId { get; private init; }
    private byte[]? SignerSpki { get; init; }
    /// <summary>Why the bundle could not be read or its signature is invalid (one line), else null.</summary>
    public string? Error { get; private init; }
    /// <summary>The file's first bytes as read for the manifest; an auto-import pins them (see <see cref="PinnedPrefixStream"/>).</summary>
    public byte[] Prefix { get; private init; } = [];

    /// <summary>trusted, untrusted, unsigned, invalid or unreadable, for <paramref name="trust"/>'s keys.</summary>
    public string SignatureState(TrustPolicy trust) => this switch
    {
        { Name: null } => "unreadable",
        { Signed: false } => "unsigned",
        { SignatureValid: false } => "invalid",
        _ => IsTrusted(trust) ? "trusted" : "untrusted",
    };

    /// <summary>Signed with a valid signature by a key of <paramref name="trust"/>.</summary>
    public bool IsTrusted(TrustPolicy trust) =>
        SignatureValid && SignerKeyId is not null && trust.Keys.TryGetValue(SignerKeyId, out var k) && k.Spki.AsSpan().SequenceEqual(SignerSpki);

    public static async Task<BundlePeek> ReadAsync(string path, CancellationToken ct)
    {
        byte[] prefix;
        BundleManifest manifest;
        try
        {
            await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            var rec = new RecordingStream(fs, BundleConstants.MaxManifestBytes + 64 * 1024);
            (manifest, _) = await BundleReader.ReadManifestAsync(rec, ct).ConfigureAwait(false);
            prefix = rec.Recorded;
        }
        catch (Exception e) when (e is BundleException or IOException or UnauthorizedAccessException)
        {
            return new BundlePeek { Error = e.Message };
        }
        var (manifestBytes, sig, error) = FindSignature(path, prefix);
        string? keyId = null;
        byte[]? spki = null;
        bool valid = false;
        if (sig is not null && manifestBytes is not null)
        {
            try
            {
                (keyId, spki) = BundleSignature.Verify(sig, manifestBytes);
                valid = true;
            }
            catch (BundleException e) { error = e.Message; }
        }
        return new BundlePeek
        {
            Name = manifest.Name, Version = manifest.Version, Architecture = manifest.Architecture, Quantization = manifest.Quantization,
            Signed = sig is not null, SignatureValid = valid, SignerKeyId = keyId, SignerSpki = spki, Error = error, Prefix = prefix,
        };
    }

    /// <summary>Walks tar headers (pax size/path records honoured) to the manifest.sig entry; reads nothing else.</summary>
    private static (byte[]? Manifest, byte[]? Signature, string? Error) FindSignature(string path, byte[] prefix)
    {
        try
        {
            using SafeFileHandle h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(h);
            var header = new byte[512];
            long pos = 0;
            byte[]? manifest = null;
            string? paxPath = null;
            long? paxSize = null;
            for (int i = 0; i < BundleConstants.MaxPayloadFiles + 8; i++)
            {
                if (RandomAccess.Read(h, header, pos) != 512) return (manifest, null, "bundle is truncated (tar header cut short)");
                if (header.AsSpan().IndexOfAnyExcept((byte)0) < 0) return (manifest, null, null); // end marker: unsigned
                string name = Field(header, 0, 100);
                if (header[345] != 0 && Field(header, 257, 6) == "ustar") { string pre = Field(header, 345, 155); if (pre.Length > 0) name = pre + "/" + name; }
                long size = Octal(header.AsSpan(124, 12));
                if (size < 0) return (manifest, null, $"tar entry '{name}': bad size field");
                long data = pos + 512;
                long next = data + (size + 511) / 512 * 512;
                if (header[156] == (byte)'x')
                {
                    if (size > BundleConstants.MaxPaxHeaderBytes) return (manifest, null, $"tar entry '{name}': pax header too large");
                    var pax = new byte[size];
                    if (RandomAccess.Read(h, pax, data) != size) return (manifest, null, "bundle is truncated (pax header cut short)");
                    (paxPath, paxSize) = ParsePax(pax);
                    pos = next;
                    continue;
                }
                name = paxPath ?? name;
                if (paxSize is { } ps) { size = ps; next = data + (size + 511) / 512 * 512; }
                paxPath = null;
                paxSize = null;
                if (manifest is null && name == BundleConstants.ManifestName)
                {
                    if (size > BundleConstants.MaxManifestBytes) return (null, null, "manifest.json too large");
                    manifest = new byte[size];
                    if (RandomAccess.Read(h, manifest, data) != size) return (null, null, "bundle is truncated (manifest.json cut short)");
                    // The manifest read here must be the one the display and the pinned prefix came from.
                    if (data + size > prefix.Length || !prefix.AsSpan((int)data, (int)size).SequenceEqual(manifest))
                        return (null, null, "manifest.json changed while it was read");
                }
                else if (name == BundleConstants.SignatureName)
                {
                    if (size > BundleConstants.MaxSignatureBytes) return (manifest, null, "manifest.sig too large");
                    var sig = new byte[size];
                    if (RandomAccess.Read(h, sig, data) != size) return (manifest, null, "bundle is truncated (manifest.sig cut short)");
                    return (manifest, sig, null);
                }
                if (next > length) return (manifest, null, $"bundle is truncated (entry '{name}' runs past the end of the file)");
                pos = next;
            }
            return (manifest, null, "too many tar entries");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null, e.Message);
        }
    }

    private static string Field(byte[] h, int offset, int length)
    {
        var s = h.AsSpan(offset, length);
        int n = s.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n < 0 ? s : s[..n]);
    }

    private static long Octal(ReadOnlySpan<byte> f)
    {
        long v = 0;
        bool any = false;
        foreach (byte b in f)
        {
            if (b is 0 or (byte)' ') { if (any) break; continue; }
            if (b is < (byte)'0' or > (byte)'7') return -1;
            v = checked(v * 8 + (b - '0'));
            any = true;
        }
        return v;
    }

    private static (string? Path, long? Size) ParsePax(byte[] pax)
    {
        string? path = null;
        long? size = null;
        foreach (var line in Encoding.UTF8.GetString(pax).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int sp = line.IndexOf(' ');
            int eq = line.IndexOf('=');
            if (sp < 0 || eq < sp) continue;
            string key = line[(sp + 1)..eq], value = line[(eq + 1)..];
            if (key == "path") path = value;
            else if (key == "size" && Utf8Parser.TryParse(Encoding.ASCII.GetBytes(value), out long s, out _)) size = s;
        }
        return (path, size);
    }

    /// <summary>Passes reads through and keeps a copy of the first bytes read (up to a cap).</summary>
    private sealed class RecordingStream(Stream inner, int cap) : Stream
    {
        private readonly MemoryStream _copy = new();

        public byte[] Recorded => _copy.ToArray();

        public override int Read(byte[] buffer, int offset, int count) => Record(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            int n = await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
            return Record(buffer.Span[..n]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Record(ReadOnlySpan<byte> read)
        {
            int room = cap - (int)_copy.Length;
            if (room > 0) _copy.Write(read[..Math.Min(room, read.Length)]);
            return read.Length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// A bundle stream whose first bytes must equal those read when its signature was checked: an auto-import then imports
/// exactly the manifest that was found trusted (and, through its hashes, exactly that payload), even if the file is
/// swapped on the drive in between.
/// </summary>
internal sealed class PinnedPrefixStream(Stream inner, byte[] prefix) : Stream
{
    private long _pos;

    public override int Read(byte[] buffer, int offset, int count) => Check(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        int n = await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
        return Check(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Check(ReadOnlySpan<byte> read)
    {
        if (_pos < prefix.Length)
        {
            int k = (int)Math.Min(prefix.Length - _pos, read.Length);
            if (!read[..k].SequenceEqual(prefix.AsSpan((int)_pos, k)))
                throw new IOException("the bundle changed on the drive after its signature was checked");
        }
        _pos += read.Length;
        return read.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
