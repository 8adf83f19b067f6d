using System.Text.Json;
using Microsoft.Data.Sqlite;
using TtProtocol.Jobs;
using Ttnoded.Jobs;
using Ttnoded.Store;

namespace Ttnoded.Allocations;

/// <summary>Card allocations in the SQLite store: they survive restarts.</summary>
public sealed class AllocationStore(StateStore store)
{
    public static readonly Migration Schema = new("allocations-0001", """
        CREATE TABLE allocations (
            id TEXT PRIMARY KEY,
            cards TEXT NOT NULL,
            user_name TEXT,
            project TEXT,
            exclusive INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            created_by TEXT NOT NULL
        );
        """);

    public void Insert(AllocationInfo a)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            INSERT INTO allocations (id, cards, user_name, project, exclusive, created_at, expires_at, created_by)
            VALUES ($id, $cards, $user, $project, $excl, $created, $expires, $by)
            """;
        cmd.Parameters.AddWithValue("$id", a.Id);
        cmd.Parameters.AddWithValue("$cards", JsonSerializer.Serialize(a.Cards, AllocationJson.Default.StringArray));
        cmd.Parameters.AddWithValue("$user", (object?)a.User ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$project", (object?)a.Project ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$excl", a.Exclusive ? 1 : 0);
        cmd.Parameters.AddWithValue("$created", JobStore.Time(a.CreatedAt));
        cmd.Parameters.AddWithValue("$expires", a.ExpiresAt is { } e ? JobStore.Time(e) : DBNull.Value);
        cmd.Parameters.AddWithValue("$by", a.CreatedBy);
        cmd.ExecuteNonQuery();
    }

    public bool Delete(string id)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "DELETE FROM allocations WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>Allocations that have not expired at <paramref name="now"/>; expired ones are deleted on the way.</summary>
    public List<AllocationInfo> Active(DateTimeOffset now)
    {
        using var conn = store.Connect();
        using (var del = conn.CreateCommand())
        {
            del.CommandText = "DELETE FROM allocations WHERE expires_at IS NOT NULL AND expires_at <= $now";
            del.Parameters.AddWithValue("$now", JobStore.Time(now));
            del.ExecuteNonQuery();
        }
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, cards, user_name, project, exclusive, created_at, expires_at, created_by FROM allocations ORDER BY created_at";
        using var r = cmd.ExecuteReader();
        var list = new List<AllocationInfo>();
        while (r.Read()) list.Add(Read(r));
        return list;
    }

    private static AllocationInfo Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Cards = JsonSerializer.Deserialize(r.GetString(1), AllocationJson.Default.StringArray) ?? [],
        User = r.IsDBNull(2) ? null : r.GetString(2),
        Project = r.IsDBNull(3) ? null : r.GetString(3),
        Exclusive = r.GetInt64(4) != 0,
        CreatedAt = JobStore.ParseTime(r.GetString(5)),
        ExpiresAt = r.IsDBNull(6) ? null : JobStore.ParseTime(r.GetString(6)),
        CreatedBy = r.GetString(7),
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class AllocationJson : System.Text.Json.Serialization.JsonSerializerContext;
