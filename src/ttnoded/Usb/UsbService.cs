using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TtBundles;
using TtBundles.Signing;
using TtProtocol.Usb;
using Ttnoded.Config;
using Ttnoded.Models;
using Ttnoded.Store;

namespace Ttnoded.Usb;

/// <summary>
/// USB drives: what the <see cref="UsbWatcher"/> sees mounted, the <c>*.ttmodel</c> files at the top of each drive
/// (never deeper, never through a symbolic link, regular files only), imports of those files on request, and, with
/// <c>usb.autoImport</c>, automatic imports of bundles signed by a trusted key (whatever the trust policy says: an
/// unattended import never accepts an unsigned or untrusted bundle). Every automatic decision is logged and audited.
/// </summary>
public sealed partial class UsbService : IDisposable
{
    /// <summary>The "user" recorded for automatic imports.</summary>
    public const string AutoImportUser = "usb-auto-import";

    private static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DriveTimeout = TimeSpan.FromSeconds(10);

    private readonly DaemonConfig _config;
    private readonly ModelStore? _models;
    private readonly StateStore _audit;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, BundlePeek> _peeks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _outcomes = new(StringComparer.Ordinal);
    private readonly Channel<bool> _kick = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private Task? _autoImport;

    public UsbService(DaemonConfig config, ModelStore? models, StateStore audit, ILogger log)
    {
        _config = config;
        _models = models;
        _audit = audit;
        _log = log;
        Watcher = new UsbWatcher(config.Usb.BusAddress, log);
        Watcher.Changed += () => _kick.Writer.TryWrite(true);
    }

    public UsbWatcher Watcher { get; }

    public bool Enabled => _config.Usb.Enabled;

    /// <summary>Starts watching (and the auto-import loop when configured). Never blocks; never throws for a missing bus.</summary>
    public void Start()
    {
        if (!Enabled)
        {
            _log.LogInformation("usb: disabled (usb.enabled=false)");
            return;
        }
        Watcher.Start();
        if (_config.Usb.AutoImport) _autoImport ??= Task.Run(AutoImportLoopAsync);
    }

    private TrustPolicy TrustedKeys()
    {
        try { return TrustPolicy.Load(TrustMode.Strict, _config.Trust.KeysDir); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("usb: trusted keys unreadable ({Error}); treating every bundle as untrusted", e.Message);
            return new TrustPolicy(TrustMode.Strict, []);
        }
    }

    // ------------------------------------------------------------------ listing

    /// <summary>GET /api/v1/usb.</summary>
    public async Task<UsbListResponse> ListAsync(CancellationToken ct)
    {
        if (!Enabled) return new UsbListResponse(false, _config.Usb.AutoImport, false, "disabled (usb.enabled=false)", []);
        var trust = TrustedKeys();
        var drives = new List<UsbDriveInfo>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        bool complete = true;
        foreach (var m in Watcher.Mounts)
        {
            string drive = string.Join(' ', new[] { m.Vendor, m.Model }.Where(s => s is not null));
            var bundles = new List<UsbBundleInfo>();
            string? error = null;
            try
            {
                // A failing drive can hang reads for minutes: it must not hang the API (the read goes on in the background).
                var (found, keys) = await Task.Run(() => ListDriveAsync(m.MountPoint, trust, ct), ct).WaitAsync(DriveTimeout, ct).ConfigureAwait(false);
                bundles = found;
                live.UnionWith(keys);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e.Message;
            }
            catch (TimeoutException)
            {
                error = $"the drive did not answer within {DriveTimeout.TotalSeconds:0} s";
                complete = false;
            }
            drives.Add(new UsbDriveInfo(m.Device, m.Label, m.MountPoint, drive.Length == 0 ? null : drive, m.ConnectionBus, bundles, error));
        }
        if (complete) foreach (var k in _peeks.Keys) if (!live.Contains(k)) _peeks.TryRemove(k, out _);
        return new UsbListResponse(true, _config.Usb.AutoImport, Watcher.Connected, Watcher.Status, drives);
    }

    private async Task<(List<UsbBundleInfo> Bundles, List<string> Keys)> ListDriveAsync(string mountPoint, TrustPolicy trust, CancellationToken ct)
    {
        var bundles = new List<UsbBundleInfo>();
        var keys = new List<string>();
        foreach (var f in TopLevelBundles(mountPoint))
        {
            string key = Key(f);
            keys.Add(key);
            var p = await PeekAsync(f, key, ct).ConfigureAwait(false);
            bool registered = p.Name is not null && _models is not null && _models.Exists(p.Name, p.Version!);
            bundles.Add(new UsbBundleInfo(f.FullName, f.Length, p.Name, p.Version, p.Architecture, p.Quantization, p.SignatureState(trust),
                p.SignatureValid ? p.SignerKeyId : null, registered, _outcomes.GetValueOrDefault(key), p.Error));
        }
        return (bundles, keys);
    }

    /// <summary>Regular files named *.ttmodel directly under <paramref name="mountPoint"/> (symbolic links are not followed).</summary>
    private static List<FileInfo> TopLevelBundles(string mountPoint)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, MatchCasing = MatchCasing.CaseInsensitive, IgnoreInaccessible = true };
        return new DirectoryInfo(mountPoint).EnumerateFiles("*" + BundleConstants.Extension, options)
            .Where(f => f.LinkTarget is null && IsRegularFile(f.FullName, followLinks: false))
            .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
    }

    private static string Key(FileInfo f) => $"{f.FullName}\0{f.Length}\0{f.LastWriteTimeUtc.Ticks}";

    private async Task<BundlePeek> PeekAsync(FileInfo f, string key, CancellationToken ct)
    {
        if (_peeks.TryGetValue(key, out var p)) return p;
        p = await BundlePeek.ReadAsync(f.FullName, ct).ConfigureAwait(false);
        _peeks[key] = p;
        return p;
    }

    // ------------------------------------------------------------------ import on request

    /// <summary>
    /// POST /api/v1/usb/import: <paramref name="path"/> must name a regular <c>*.ttmodel</c> file directly under the mount point
    /// of a removable drive that is mounted now. The import follows the daemon's trust policy, like <c>ttctl model import</c>.
    /// </summary>
    public async Task<ModelStore.ImportOutcome> ImportAsync(string path, string importedBy, CancellationToken ct)
    {
        if (!Enabled) throw new UsbException(409, "USB drives are not watched (usb.enabled=false)");
        if (_models is null) throw new UsbException(503, "the model store is not available");
        string full = CheckDrivePath(path);
        await using var fs = OpenBundle(full);
        return await _models.ImportAsync(fs, importedBy, ct).ConfigureAwait(false);
    }

    /// <summary>Resolves a requested path to a bundle on a mounted removable drive, or throws a 400/404 naming why not.</summary>
    public string CheckDrivePath(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0')) throw new UsbException(400, "path is empty", "path");
        if (!Path.IsPathFullyQualified(path)) throw new UsbException(400, $"'{path}': the path must be absolute", "path");
        string full = Path.GetFullPath(path);
        if (!full.EndsWith(BundleConstants.Extension, StringComparison.OrdinalIgnoreCase))
            throw new UsbException(400, $"'{full}': not a {BundleConstants.Extension} file", "path");
        string dir = Path.GetDirectoryName(full) ?? "";
        if (!Watcher.Mounts.Any(m => Path.TrimEndingDirectorySeparator(m.MountPoint) == dir))
            throw new UsbException(400, $"'{full}' is not at the top of a mounted removable drive (see ttctl usb list)", "path");
        uint? mode = StatMode(full, followLinks: false);
        if (mode is null) throw new UsbException(404, $"'{full}': no such file");
        if ((mode & FileTypeMask) != RegularFile) throw new UsbException(400, $"'{full}': not a regular file (links and devices are refused)", "path");
        return full;
    }

    private static FileStream OpenBundle(string full)
    {
        var fs = BundleReader.OpenSequential(full);
        if (!IsRegularFile(fs))
        {
            fs.Dispose();
            throw new UsbException(400, $"'{full}': not a regular file");
        }
        return fs;
    }

    // ------------------------------------------------------------------ auto-import

    private async Task AutoImportLoopAsync()
    {
        _log.LogInformation("usb: auto-import on: bundles signed by a key in {KeysDir} are imported when a drive is mounted", _config.Trust.KeysDir);
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(ct).ConfigureAwait(false);
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                tick.CancelAfter(RescanInterval);
                try { await _kick.Reader.ReadAsync(tick.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                _log.LogError(e, "usb: auto-import scan failed");
                try { await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One pass over every mounted drive: each bundle not decided yet is imported or skipped, and the decision kept.</summary>
    private async Task ScanAsync(CancellationToken ct)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        TrustPolicy? trust = null;
        foreach (var m in Watcher.Mounts)
        {
            List<FileInfo> files;
            try { files = TopLevelBundles(m.MountPoint); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.LogWarning("usb: cannot list {MountPoint}: {Error}", m.MountPoint, e.Message);
                continue;
            }
            foreach (var f in files)
            {
                string key = Key(f);
                live.Add(key);
                if (_outcomes.ContainsKey(key)) continue;
                trust ??= TrustedKeys();
                _outcomes[key] = await AutoImportOneAsync(f, key, trust, ct).ConfigureAwait(false);
            }
        }
        // A file that left (drive unplugged, file replaced) is decided afresh if it comes back.
        foreach (var k in _outcomes.Keys) if (!live.Contains(k)) _outcomes.TryRemove(k, out _);
    }

    private async Task<string> AutoImportOneAsync(FileInfo f, string key, TrustPolicy trust, CancellationToken ct)
    {
        var p = await PeekAsync(f, key, ct).ConfigureAwait(false);
        string target = p.Name is null ? f.FullName : $"model/{p.Name}:{p.Version}";
        string? skip = p switch
        {
            { Name: null } => $"unreadable bundle ({p.Error})",
            { Signed: false } => "unsigned (auto-import takes only bundles signed by a trusted key)",
            { SignatureValid: false } => $"invalid signature ({p.Error})",
            _ when !p.IsTrusted(trust) => $"signed by key {p.SignerKeyId}, which is not trusted (add its .pub to {_config.Trust.KeysDir})",
            _ when _models is null => "the model store is not available",
            _ when _models.Exists(p.Name!, p.Version!) => $"{p.Name}:{p.Version} is already registered",
            _ => null,
        };
        if (skip is not null)
        {
            _log.LogInformation("usb: not auto-importing {Path}: {Reason}", f.FullName, skip);
            Audit(target, "skipped", $"{f.FullName}: {skip}");
            return "skipped: " + skip;
        }
        try
        {
            ModelStore.ImportOutcome r;
            await using (var fs = new PinnedPrefixStream(OpenBundle(f.FullName), p.Prefix))
                r = await _models!.ImportAsync(fs, AutoImportUser, ct).ConfigureAwait(false);
            _log.LogInformation("usb: auto-imported {Model}:{Version} from {Path} (signed by trusted key {Key}; {Bytes} bytes in {Seconds:0.0}s)",
                r.Model.Name, r.Model.Version, f.FullName, p.SignerKeyId, r.BytesRead, r.Seconds);
            foreach (var w in r.Warnings) _log.LogWarning("usb: {Model}:{Version}: {Warning}", r.Model.Name, r.Model.Version, w);
            Audit($"model/{r.Model.Name}:{r.Model.Version}", "ok", $"usb auto-import from {f.FullName}; trusted {p.SignerKeyId}; {r.BytesRead} bytes {r.Seconds:0.0}s");
            return "imported";
        }
        catch (Exception e) when (e is ModelStoreException or IOException or UnauthorizedAccessException or UsbException)
        {
            _log.LogWarning("usb: auto-import of {Path} failed: {Error}", f.FullName, e.Message);
            Audit(target, "rejected", $"usb auto-import from {f.FullName}: {e.Message}");
            return "failed: " + e.Message;
        }
    }

    private void Audit(string target, string result, string detail)
    {
        try { _audit.Audit(0, AutoImportUser, Environment.ProcessId, "model.import", target, result, detail); }
        catch (Exception e) { _log.LogError(e, "usb: audit write failed"); }
    }

    // ------------------------------------------------------------------ file types

    private const uint FileTypeMask = 0xF000, RegularFile = 0x8000;

    /// <summary>lstat/stat: a regular file (not a link, device, FIFO or socket).</summary>
    private static bool IsRegularFile(string path, bool followLinks) => (StatMode(path, followLinks) & FileTypeMask) == RegularFile;

    /// <summary>st_mode from lstat/stat, or null when the path does not exist (or cannot be examined).</summary>
    private static unsafe uint? StatMode(string path, bool followLinks)
    {
        byte* st = stackalloc byte[256]; // struct stat is 144 bytes on x86-64 and 128 on aarch64
        int r = followLinks ? Stat(path, st) : LStat(path, st);
        return r == 0 ? *(uint*)(st + ModeOffset) : null;
    }

    private static unsafe bool IsRegularFile(FileStream fs)
    {
        byte* st = stackalloc byte[256];
        return FStat((int)fs.SafeFileHandle.DangerousGetHandle(), st) == 0 && (*(uint*)(st + ModeOffset) & FileTypeMask) == RegularFile;
    }

    // st_mode offset: x86-64 (dev, ino, nlink: 8 bytes each) → 24; the generic layout (aarch64: dev 8, ino 8, mode) → 16.
    private static int ModeOffset => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* buf);

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buf);

    [LibraryImport("libc", EntryPoint = "fstat")]
    private static unsafe partial int FStat(int fd, byte* buf);

    public void Dispose()
    {
        _stop.Cancel();
        try { _autoImport?.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
        Watcher.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A USB request the daemon refuses: HTTP status, one line, and the field when one is at fault.</summary>
public sealed class UsbException(int status, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;
}
