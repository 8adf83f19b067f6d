using Microsoft.Data.Sqlite;

namespace Ttnoded.Store;

/// <summary>
/// The daemon's durable state: one SQLite file in WAL mode with synchronous=FULL, so a commit that returned is on disk
/// (kill -9 or power loss after the reply never loses an accepted job). Plain parameterised SQL; no mappers.
/// </summary>
public sealed class StateStore : IDisposable
{
    private readonly string _connectionString;

    public string Path { get; }

    private StateStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/> and applies pending migrations.</summary>
    public static StateStore Open(string path, IReadOnlyList<Migration>? migrations = null)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var store = new StateStore(path);
        using var conn = store.Connect();
        Exec(conn, "PRAGMA journal_mode=WAL;");
        var check = Scalar(conn, "PRAGMA quick_check;");
        if (!string.Equals(check as string, "ok", StringComparison.Ordinal))
            throw new InvalidDataException($"store {path}: integrity check failed: {check}");
        store.Migrate(conn, migrations ?? Migrations.All);
        return store;
    }

    /// <summary>A new open connection with the store's per-connection settings; dispose it when done.</summary>
    public SqliteConnection Connect()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        Exec(conn, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;");
        return conn;
    }

    /// <summary>Names of the migrations applied so far, in order.</summary>
    public IReadOnlyList<string> AppliedMigrations()
    {
        using var conn = Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT name FROM schema_migrations ORDER BY seq";
        using var r = cmd.ExecuteReader();
        var names = new List<string>();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    /// <summary>Appends one row to the audit log (who, what, when, result). Never throws for a full disk: callers decide.</summary>
    public void Audit(uint uid, string user, int pid, string action, string target, string result, string detail = "")
    {
        using var conn = Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO audit_log (at, uid, user_name, pid, action, target, result, detail) VALUES ($at, $uid, $user, $pid, $action, $target, $result, $detail)";
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        cmd.Parameters.AddWithValue("$uid", (long)uid);
        cmd.Parameters.AddWithValue("$user", user);
        cmd.Parameters.AddWithValue("$pid", pid);
        cmd.Parameters.AddWithValue("$action", action);
        cmd.Parameters.AddWithValue("$target", target);
        cmd.Parameters.AddWithValue("$result", result);
        cmd.Parameters.AddWithValue("$detail", detail);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The newest audit entries (of one uid, or all), newest first.</summary>
    public List<TtProtocol.Jobs.AuditEntry> ReadAudit(uint? uid, int limit)
    {
        using var conn = Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, at, uid, user_name, pid, action, target, result, detail FROM audit_log "
            + (uid is null ? "" : "WHERE uid = $uid ") + "ORDER BY id DESC LIMIT $limit";
        if (uid is not null) cmd.Parameters.AddWithValue("$uid", (long)uid.Value);
        cmd.Parameters.AddWithValue("$limit", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<TtProtocol.Jobs.AuditEntry>();
        while (r.Read())
            list.Add(new(r.GetInt64(0), DateTimeOffset.Parse(r.GetString(1), System.Globalization.CultureInfo.InvariantCulture),
                (uint)r.GetInt64(2), r.GetString(3), r.GetInt32(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8)));
        return list;
    }

    private void Migrate(SqliteConnection conn, IReadOnlyList<Migration> migrations)
    {
        Exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL);");
        var applied = new HashSet<string>(StringComparer.Ordinal);
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT name FROM schema_migrations";
            using var r = cmd.ExecuteReader();
            while (r.Read()) applied.Add(r.GetString(0));
        }
        foreach (var m in migrations)
        {
            if (applied.Contains(m.Name)) continue;
            // Each migration and its bookkeeping row commit together: a crash leaves it fully applied or not at all.
            using var tx = conn.BeginTransaction();
            using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = m.Sql;
                cmd.ExecuteNonQuery();
            }
            using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO schema_migrations (name, applied_at) VALUES ($n, $t)";
                cmd.Parameters.AddWithValue("$n", m.Name);
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O"));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public void Dispose() => SqliteConnection.ClearAllPools();
}
