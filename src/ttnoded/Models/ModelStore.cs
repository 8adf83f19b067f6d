using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using TtBundles;
using TtBundles.Signing;
using TtProtocol.Models;
using Ttnoded.Inference;
using Ttnoded.Store;

namespace Ttnoded.Models;

/// <summary>What the node offers, for a bundle's hardware requirements.</summary>
/// <param name="Firmware">Lowest firmware bundle version among present cards, null if unknown or no card.</param>
/// <param name="Driver">tt-kmd version, null if not loaded.</param>
/// <param name="Devices">Board types present, plus <c>cpu</c> (the built-in engine).</param>
public sealed record NodeFacts(string? Firmware, string? Driver, IReadOnlyCollection<string> Devices);

/// <summary>
/// The content-addressed model store. Payloads live once each at <c>STATE/models/blobs/sha256-HEX</c>, shared by every
/// model that contains them; which model uses which blob is in the SQLite store. An import streams the bundle into
/// <c>STATE/models/tmp/</c>, hashing as it writes; only after sizes, hashes, signature, engine and hardware
/// requirements all pass are the temp files fsync'ed and renamed into <c>blobs/</c> and the model registered in one
/// transaction. A crash at any point leaves temp files (removed at the next start) or an unreferenced blob (collected at
/// the next start), never a registered model with a missing or unverified blob.
/// </summary>
public sealed class ModelStore : IModelCatalog
{
    private readonly StateStore _db;
    private readonly Func<TrustPolicy> _trust;
    private readonly Func<NodeFacts> _facts;
    private readonly SemaphoreSlim _commit = new(1, 1); // registration, removal and blob GC are serialized
    private readonly string _engineVersion;

    public ModelStore(string modelsDir, StateStore db, Func<TrustPolicy> trust, Func<NodeFacts> facts, string? engineVersion = null)
    {
        Root = Path.GetFullPath(modelsDir);
        BlobsDir = Path.Combine(Root, "blobs");
        TempDir = Path.Combine(Root, "tmp");
        _db = db;
        _trust = trust;
        _facts = facts;
        _engineVersion = engineVersion ?? BundleCreator.CurrentEngineVersion;
    }

    public string Root { get; }
    public string BlobsDir { get; }
    public string TempDir { get; }

    /// <summary>Loads the trust policy named by the daemon config (keys re-read on each import, so adding a key needs no restart).</summary>
    public static Func<TrustPolicy> TrustFrom(string policy, string keysDir) => () =>
        TrustPolicy.Load(TrustPolicy.TryParseMode(policy, out var m) ? m : TrustMode.Strict, keysDir);

    public string BlobPath(string sha256) => Path.Combine(BlobsDir, "sha256-" + sha256);

    /// <summary>
    /// Start-up: creates the directories, removes every temp file (interrupted imports) and every blob no model
    /// references (an import killed between rename and commit). Returns (temps removed, orphan blobs removed).
    /// </summary>
    public (int Temps, int Orphans) Initialize()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(BlobsDir);
        int temps = 0;
        if (Directory.Exists(TempDir))
        {
            foreach (var e in Directory.EnumerateFileSystemEntries(TempDir)) temps++;
            Directory.Delete(TempDir, recursive: true);
        }
        Directory.CreateDirectory(TempDir);
        int orphans;
        _commit.Wait();
        try { orphans = CollectGarbage(); }
        finally { _commit.Release(); }
        return (temps, orphans);
    }

    // ------------------------------------------------------------------ import

    /// <summary>The outcome of an import.</summary>
    public sealed record ImportOutcome(ModelSummary Model, IReadOnlyList<string> Warnings, long BytesRead, double Seconds);

    /// <summary>Imports one bundle streamed from <paramref name="body"/>; see the class summary for the guarantees.</summary>
    public async Task<ImportOutcome> ImportAsync(Stream body, string importedBy, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        TrustPolicy trust;
        try { trust = _trust(); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new ModelStoreException(500, $"trust store: {e.Message}");
        }
        string work = Path.Combine(TempDir, "import-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(work);
        var temps = new Dictionary<string, string>(StringComparer.Ordinal); // payload path -> temp file
        var warnings = new List<string>();
        try
        {
            BundleVerification v;
            try
            {
                v = await BundleReader.ImportAsync(body,
                    m => warnings.AddRange(CheckBeforePayload(m)),
                    f =>
                    {
                        string tmp = Path.Combine(work, temps.Count.ToString(CultureInfo.InvariantCulture));
                        temps[f.Path] = tmp;
                        return DurableFiles.CreateTemp(tmp, f.Size);
                    }, trust, ct).ConfigureAwait(false);
            }
            catch (BundleException e)
            {
                throw new ModelStoreException(400, e.Message);
            }
            catch (IOException e) when (e is not FileNotFoundException)
            {
                // Disk full shows here at preallocation, before the payload streams; a dropped client shows here too.
                throw new ModelStoreException(500, $"import aborted: {e.Message}");
            }
            warnings.InsertRange(0, v.Warnings);
            var summary = await CommitAsync(v, temps, importedBy, ct).ConfigureAwait(false);
            return new ImportOutcome(summary, warnings, v.BytesRead, sw.Elapsed.TotalSeconds);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    /// <summary>Runs once the manifest is read: refuses a duplicate or a model this node cannot run, before any payload byte is written.</summary>
    private List<string> CheckBeforePayload(BundleManifest m)
    {
        if (Exists(m.Name, m.Version))
            throw new ModelStoreException(409, $"model {m.Name}:{m.Version} is already registered (remove it first: ttctl model rm {m.Name}:{m.Version})");
        if (VersionNumber.TryParse(m.EngineVersion, out var need) && VersionNumber.TryParse(_engineVersion, out var have) && need.CompareTo(have) > 0)
            throw new ModelStoreException(422, $"manifest field 'engine_version': model needs engine >= {m.EngineVersion}; this node runs {_engineVersion}");
        var f = _facts();
        var problems = m.Hardware.Check(f.Firmware, f.Driver, f.Devices);
        var fatal = problems.FirstOrDefault(p => p.Fatal);
        if (fatal is not null) throw new ModelStoreException(422, $"manifest field '{fatal.Field}': {fatal.Message}");
        return problems.Select(p => $"{p.Field}: {p.Message}").ToList();
    }

    private async Task<ModelSummary> CommitAsync(BundleVerification v, Dictionary<string, string> temps, string importedBy, CancellationToken ct)
    {
        var m = v.Manifest;
        await _commit.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Exists(m.Name, m.Version)) throw new ModelStoreException(409, $"model {m.Name}:{m.Version} was registered by a concurrent import");
            // 1. Blobs into place (already fsync'ed; verified by hash). An existing blob with the same id is the same bytes.
            foreach (var f in m.Files)
            {
                string blob = BlobPath(f.Sha256);
                if (File.Exists(blob) && new FileInfo(blob).Length == f.Size) File.Delete(temps[f.Path]);
                else File.Move(temps[f.Path], blob, overwrite: true);
            }
            DurableFiles.SyncDirectory(BlobsDir);
            // 2. Register in one transaction; until it commits, nothing is visible.
            string now = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            using var conn = _db.Connect();
            using var tx = conn.BeginTransaction();
            using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO models (name, version, manifest, signature, signature_state, signer_key_id, gguf_sha256, size_bytes, imported_at, imported_by)
                    VALUES ($n, $v, $m, $s, $st, $k, $g, $sz, $at, $by)
                    """;
                cmd.Parameters.AddWithValue("$n", m.Name);
                cmd.Parameters.AddWithValue("$v", m.Version);
                cmd.Parameters.AddWithValue("$m", v.ManifestBytes);
                cmd.Parameters.AddWithValue("$s", (object?)v.SignatureBytes ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$st", StateName(v.Signature));
                cmd.Parameters.AddWithValue("$k", (object?)v.SignerKeyId ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$g", m.Gguf.Sha256);
                cmd.Parameters.AddWithValue("$sz", m.PayloadBytes);
                cmd.Parameters.AddWithValue("$at", now);
                cmd.Parameters.AddWithValue("$by", importedBy);
                cmd.ExecuteNonQuery();
            }
            for (int i = 0; i < m.Files.Count; i++)
            {
                var f = m.Files[i];
                using var cmd = conn.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO model_files (name, version, seq, path, kind, size, sha256) VALUES ($n, $v, $i, $p, $k, $sz, $h)";
                cmd.Parameters.AddWithValue("$n", m.Name);
                cmd.Parameters.AddWithValue("$v", m.Version);
                cmd.Parameters.AddWithValue("$i", i);
                cmd.Parameters.AddWithValue("$p", f.Path);
                cmd.Parameters.AddWithValue("$k", f.Kind);
                cmd.Parameters.AddWithValue("$sz", f.Size);
                cmd.Parameters.AddWithValue("$h", f.Sha256);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            return Summary(m, StateName(v.Signature), v.SignerKeyId, DateTimeOffset.Parse(now, CultureInfo.InvariantCulture), importedBy);
        }
        finally
        {
            _commit.Release();
        }
    }

    private static string StateName(SignatureState s) => s switch
    {
        SignatureState.Trusted => "trusted",
        SignatureState.Untrusted => "untrusted",
        SignatureState.Unsigned => "unsigned",
        _ => "not-checked",
    };

    // ------------------------------------------------------------------ queries

    /// <summary>A registered model as stored.</summary>
    public sealed record StoredModel(ModelSummary Summary, BundleManifest Manifest, byte[] ManifestBytes, byte[]? SignatureBytes);

    public bool Exists(string name, string version)
    {
        using var conn = _db.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM models WHERE name = $n AND version = $v";
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$v", version);
        return cmd.ExecuteScalar() is not null;
    }

    public IReadOnlyList<StoredModel> List()
    {
        using var conn = _db.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT manifest, signature, signature_state, signer_key_id, imported_at, imported_by FROM models ORDER BY name, imported_at";
        return Read(cmd);
    }

    /// <summary>
    /// Resolves "name" or "name:version". A bare name means its most recently imported version.
    /// Throws 404 when absent.
    /// </summary>
    public StoredModel Get(string reference)
    {
        var (name, version) = Split(reference);
        using var conn = _db.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = version is null
            ? "SELECT manifest, signature, signature_state, signer_key_id, imported_at, imported_by FROM models WHERE name = $n ORDER BY imported_at DESC LIMIT 1"
            : "SELECT manifest, signature, signature_state, signer_key_id, imported_at, imported_by FROM models WHERE name = $n AND version = $v";
        cmd.Parameters.AddWithValue("$n", name);
        if (version is not null) cmd.Parameters.AddWithValue("$v", version);
        return Read(cmd).FirstOrDefault() ?? throw new ModelStoreException(404, $"model '{reference}' is not registered");
    }

    private static (string Name, string? Version) Split(string reference)
    {
        int colon = reference.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (reference, null) : (reference[..colon], reference[(colon + 1)..]);
    }

    private static List<StoredModel> Read(SqliteCommand cmd)
    {
        var list = new List<StoredModel>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            byte[] mb = (byte[])r.GetValue(0);
            byte[]? sig = r.IsDBNull(1) ? null : (byte[])r.GetValue(1);
            var m = BundleManifest.Parse(mb);
            var at = DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture);
            list.Add(new StoredModel(Summary(m, r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), at, r.GetString(5)), m, mb, sig));
        }
        return list;
    }

    private static ModelSummary Summary(BundleManifest m, string sigState, string? keyId, DateTimeOffset at, string by) =>
        new(m.Name, m.Version, m.Architecture, m.Quantization, m.ParameterCount, m.ContextLength, m.ChatTemplate, m.License,
            m.PayloadBytes, m.Gguf.Sha256, sigState, keyId, at, by);

    public IReadOnlyList<ModelFileInfo> Files(StoredModel model) =>
        model.Manifest.Files.Select(f => new ModelFileInfo(f.Path, f.Kind, f.Size, f.Sha256, BlobPath(f.Sha256))).ToList();

    // IModelCatalog: what the engine host reads.
    public ModelLocation? Find(string name)
    {
        try
        {
            var m = Get(name);
            return new ModelLocation($"{m.Summary.Name}:{m.Summary.Version}", BlobPath(m.Summary.GgufSha256), m.Summary.ImportedAt);
        }
        catch (ModelStoreException) { return null; }
    }

    public IReadOnlyList<string> Names() => List().Select(m => $"{m.Summary.Name}:{m.Summary.Version}").ToList();

    // ------------------------------------------------------------------ remove, verify, export

    /// <summary>
    /// Unregisters a model (one transaction), then deletes the blobs no other model references. With
    /// <paramref name="users"/>, a model that jobs or the engine are using is refused (409) and stays registered.
    /// </summary>
    public Task<ModelRemoveResponse> RemoveAsync(string reference, CancellationToken ct) => RemoveAsync(reference, null, ct);

    /// <inheritdoc cref="RemoveAsync(string, CancellationToken)"/>
    public async Task<ModelRemoveResponse> RemoveAsync(string reference, IModelUsers? users, CancellationToken ct)
    {
        await _commit.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (name, version) = Split(reference);
            if (version is null)
            {
                var versions = List().Where(m => m.Summary.Name == name).Select(m => m.Summary.Version).ToList();
                if (versions.Count > 1)
                    throw new ModelStoreException(409, $"model '{name}' has versions {string.Join(", ", versions)}; name one as {name}:VERSION");
            }
            var model = Get(reference);
            void Unregister()
            {
                using var conn = _db.Connect();
                using var cmd = conn.CreateCommand();
                cmd.CommandText = "DELETE FROM models WHERE name = $n AND version = $v";
                cmd.Parameters.AddWithValue("$n", model.Summary.Name);
                cmd.Parameters.AddWithValue("$v", model.Summary.Version);
                cmd.ExecuteNonQuery();
            }
            if (users is null) Unregister();
            else users.WhileUnused(model.Summary.Name, model.Summary.Version, Unregister);
            int removed = CollectGarbage();
            return new ModelRemoveResponse(model.Summary.Name, model.Summary.Version, removed);
        }
        finally
        {
            _commit.Release();
        }
    }

    /// <summary>Deletes blobs no model references. Caller holds <see cref="_commit"/>.</summary>
    private int CollectGarbage()
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        using (var conn = _db.Connect())
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT DISTINCT sha256 FROM model_files";
            using var r = cmd.ExecuteReader();
            while (r.Read()) referenced.Add("sha256-" + r.GetString(0));
        }
        int removed = 0;
        foreach (var path in Directory.EnumerateFiles(BlobsDir))
        {
            if (referenced.Contains(Path.GetFileName(path))) continue;
            File.Delete(path);
            removed++;
        }
        if (removed > 0) DurableFiles.SyncDirectory(BlobsDir);
        return removed;
    }

    /// <summary>Re-hashes every blob of a model at rest and reports rot (missing, wrong size, wrong hash).</summary>
    public async Task<ModelVerifyResponse> VerifyAsync(string reference, CancellationToken ct)
    {
        var model = Get(reference);
        var checks = new List<BlobCheck>();
        foreach (var f in model.Manifest.Files)
        {
            string blob = BlobPath(f.Sha256);
            var info = new FileInfo(blob);
            if (!info.Exists) { checks.Add(new BlobCheck(f.Path, f.Sha256, "missing", $"{blob} does not exist")); continue; }
            if (info.Length != f.Size) { checks.Add(new BlobCheck(f.Path, f.Sha256, "size-mismatch", $"{blob} is {info.Length} bytes, expected {f.Size}")); continue; }
            await using var fs = BundleReader.OpenSequential(blob);
            string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(fs, ct).ConfigureAwait(false));
            checks.Add(actual == f.Sha256
                ? new BlobCheck(f.Path, f.Sha256, "ok", "")
                : new BlobCheck(f.Path, f.Sha256, "hash-mismatch", $"{blob} hashes to {actual}"));
        }
        return new ModelVerifyResponse(model.Summary.Name, model.Summary.Version, checks.All(c => c.Status == "ok"), checks);
    }

    /// <summary>The exact length of the bundle <see cref="ExportAsync"/> writes.</summary>
    public static long ExportLength(StoredModel model) =>
        BundleWriter.BundleLength(model.ManifestBytes.Length, model.Manifest.Files.Select(f => f.Size), model.SignatureBytes?.Length);

    /// <summary>
    /// Writes the model back as a bundle: the original manifest and signature bytes, payloads from the blobs (re-hashed
    /// on the way out, so a rotten blob aborts the export instead of producing a bundle that fails elsewhere).
    /// </summary>
    public Task ExportAsync(StoredModel model, Stream output, CancellationToken ct) =>
        BundleWriter.WriteAsync(output, model.ManifestBytes,
            model.Manifest.Files.Select(f => new PayloadSource(f, () => BundleReader.OpenSequential(BlobPath(f.Sha256)))).ToList(),
            model.SignatureBytes, ct);

    /// <summary>Node facts from a hardware snapshot: lowest firmware among present cards, driver, board types + cpu.</summary>
    public static NodeFacts FactsFrom(string? driverVersion, IEnumerable<(string BoardType, string? FirmwareBundle)> cards)
    {
        var list = cards.ToList();
        string? fw = null;
        if (list.Count > 0 && list.All(c => VersionNumber.TryParse(c.FirmwareBundle, out _)))
            fw = list.Select(c => c.FirmwareBundle!).MinBy(s => { VersionNumber.TryParse(s, out var v); return v; });
        var devices = new HashSet<string>(list.Select(c => c.BoardType.ToLowerInvariant()), StringComparer.Ordinal) { "cpu" };
        return new NodeFacts(fw, driverVersion, devices);
    }
}
