using Microsoft.Data.Sqlite;
using Ttnoded.Store;

namespace Ttnoded.Tests.Store;

public sealed class StateStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ttnoded-store-").FullName;
    private string Db => Path.Combine(_dir, "t.db");

    [Fact]
    public void Migrations_apply_once_and_survive_reopen()
    {
        using (var s = StateStore.Open(Db)) Assert.Equal(Migrations.All.Select(m => m.Name), s.AppliedMigrations());
        using (var s = StateStore.Open(Db)) Assert.Equal(Migrations.All.Count, s.AppliedMigrations().Count);
    }

    [Fact]
    public void A_failing_migration_leaves_nothing_half_applied()
    {
        var bad = Migrations.All.Append(new Migration("test-0001", "CREATE TABLE t1 (x INTEGER); INSERT INTO nowhere VALUES (1);")).ToList();
        Assert.Throws<SqliteException>(() => StateStore.Open(Db, bad));
        using var s = StateStore.Open(Db);
        Assert.DoesNotContain("test-0001", s.AppliedMigrations());
        using var conn = s.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 't1'";
        Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void Store_runs_in_wal_mode_with_full_sync()
    {
        using var s = StateStore.Open(Db);
        using var conn = s.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
        cmd.CommandText = "PRAGMA synchronous";
        Assert.Equal(2L, cmd.ExecuteScalar()); // FULL
    }

    [Fact]
    public void Audit_log_is_append_only()
    {
        using var s = StateStore.Open(Db);
        s.Audit(1000, "alice", 42, "job.cancel", "job/7", "ok");
        using var conn = s.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE audit_log SET result = 'forged'";
        Assert.Contains("append-only", Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery()).Message);
        cmd.CommandText = "DELETE FROM audit_log";
        Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery());
        cmd.CommandText = "SELECT count(*) FROM audit_log";
        Assert.Equal(1L, cmd.ExecuteScalar());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }
}
