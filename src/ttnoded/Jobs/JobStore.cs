using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using TtProtocol.Jobs;
using Ttnoded.Store;

namespace Ttnoded.Jobs;

/// <summary>
/// Jobs in the SQLite store. Every state change is one conditional UPDATE (WHERE state = expected), so a job can never
/// be finished twice or resurrected; an insert returns only after the commit is on disk (synchronous=FULL).
/// </summary>
public sealed class JobStore(StateStore store)
{
    public static readonly Migration Schema = new("jobs-0001", """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid INTEGER NOT NULL,
            user_name TEXT NOT NULL,
            project TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            request TEXT NOT NULL,
            priority INTEGER NOT NULL,
            allocation TEXT,
            state TEXT NOT NULL,
            reason TEXT,
            submitted_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            ttft_ms REAL,
            tpot_ms REAL,
            output TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX jobs_by_state ON jobs (state);
        CREATE INDEX jobs_by_uid ON jobs (uid);
        CREATE INDEX jobs_by_finished ON jobs (finished_at);
        """);

    private const string Columns =
        "id, uid, user_name, project, model, kind, request, priority, allocation, state, reason, submitted_at, started_at, finished_at, tokens_in, tokens_out, ttft_ms, tpot_ms, output";

    /// <summary>Makes the job durable and assigns its id. Returns once committed.</summary>
    public long Insert(JobRecord job)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            INSERT INTO jobs (uid, user_name, project, model, kind, request, priority, allocation, state, submitted_at)
            VALUES ($uid, $user, $project, $model, $kind, $request, $priority, $alloc, $state, $at) RETURNING id
            """;
        cmd.Parameters.AddWithValue("$uid", (long)job.Uid);
        cmd.Parameters.AddWithValue("$user", job.User);
        cmd.Parameters.AddWithValue("$project", job.Project);
        cmd.Parameters.AddWithValue("$model", job.Model);
        cmd.Parameters.AddWithValue("$kind", job.Kind);
        cmd.Parameters.AddWithValue("$request", JsonSerializer.Serialize(job.Request, JobsJsonContext.Default.JobSubmitRequest));
        cmd.Parameters.AddWithValue("$priority", job.Priority);
        cmd.Parameters.AddWithValue("$alloc", (object?)job.Allocation ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$state", JobStates.Queued);
        cmd.Parameters.AddWithValue("$at", Time(job.SubmittedAt));
        job.Id = (long)cmd.ExecuteScalar()!;
        return job.Id;
    }

    public JobRecord? Get(long id)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    /// <summary>Jobs matching the filters, newest first, at most <paramref name="limit"/>.</summary>
    public List<JobRecord> List(string? state = null, uint? uid = null, string? project = null, string? user = null, int limit = 1000)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        var where = new List<string>();
        if (state is not null) { where.Add("state = $state"); cmd.Parameters.AddWithValue("$state", state); }
        if (uid is not null) { where.Add("uid = $uid"); cmd.Parameters.AddWithValue("$uid", (long)uid.Value); }
        if (project is not null) { where.Add("project = $project"); cmd.Parameters.AddWithValue("$project", project); }
        if (user is not null) { where.Add("user_name = $user"); cmd.Parameters.AddWithValue("$user", user); }
        cmd.CommandText = $"SELECT {Columns} FROM jobs {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<JobRecord>();
        while (r.Read()) list.Add(Read(r));
        return list;
    }

    /// <summary>queued → running. False when the job was no longer queued (cancelled meanwhile).</summary>
    public bool MarkRunning(long id, DateTimeOffset at)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE jobs SET state = 'running', started_at = $at WHERE id = $id AND state = 'queued'";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$at", Time(at));
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>Saves partial output of a running job (so `ttctl logs` of a long job shows progress after a crash too).</summary>
    public void SaveProgress(long id, string output, int tokensIn, int tokensOut)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE jobs SET output = $out, tokens_in = $tin, tokens_out = $tout WHERE id = $id AND state = 'running'";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$out", output);
        cmd.Parameters.AddWithValue("$tin", tokensIn);
        cmd.Parameters.AddWithValue("$tout", tokensOut);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Moves an unfinished job to a final state. False when it was already finished.</summary>
    public bool Finish(JobRecord job)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET state = $state, reason = $reason, finished_at = $at, output = $out, tokens_in = $tin, tokens_out = $tout,
                ttft_ms = $ttft, tpot_ms = $tpot
            WHERE id = $id AND state IN ('queued', 'running')
            """;
        cmd.Parameters.AddWithValue("$id", job.Id);
        cmd.Parameters.AddWithValue("$state", job.State);
        cmd.Parameters.AddWithValue("$reason", (object?)job.Reason ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$at", Time(job.FinishedAt ?? DateTimeOffset.UtcNow));
        cmd.Parameters.AddWithValue("$out", job.Output);
        cmd.Parameters.AddWithValue("$tin", job.TokensIn);
        cmd.Parameters.AddWithValue("$tout", job.TokensOut);
        cmd.Parameters.AddWithValue("$ttft", (object?)job.TtftMs ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$tpot", (object?)job.TpotMs ?? DBNull.Value);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>
    /// After a crash: jobs left 'running' go back to the queue (their partial output dropped) or fail with reason
    /// "interrupted", in one transaction. Returns how many were touched.
    /// </summary>
    public int RecoverInterrupted(bool requeue)
    {
        using var conn = store.Connect();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = requeue
            ? "UPDATE jobs SET state = 'queued', started_at = NULL, output = '', tokens_out = 0 WHERE state = 'running'"
            : "UPDATE jobs SET state = 'failed', reason = 'interrupted', finished_at = $at WHERE state = 'running'";
        cmd.Parameters.AddWithValue("$at", Time(DateTimeOffset.UtcNow));
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Deletes finished jobs older than the retention time, and the oldest beyond the retention count.</summary>
    public int Prune(TimeSpan maxAge, int maxCount)
    {
        using var conn = store.Connect();
        using var tx = conn.BeginTransaction();
        using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND (finished_at < $cutoff OR id IN (
                SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') ORDER BY id DESC LIMIT -1 OFFSET $keep))
            """;
        cmd.Parameters.AddWithValue("$cutoff", Time(DateTimeOffset.UtcNow - maxAge));
        cmd.Parameters.AddWithValue("$keep", maxCount);
        int n = cmd.ExecuteNonQuery();
        tx.Commit();
        return n;
    }

    private static JobRecord Read(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Uid = (uint)r.GetInt64(1),
        User = r.GetString(2),
        Project = r.GetString(3),
        Model = r.GetString(4),
        Kind = r.GetString(5),
        Request = JsonSerializer.Deserialize(r.GetString(6), JobsJsonContext.Default.JobSubmitRequest) ?? new(),
        Priority = r.GetInt32(7),
        Allocation = r.IsDBNull(8) ? null : r.GetString(8),
        State = r.GetString(9),
        Reason = r.IsDBNull(10) ? null : r.GetString(10),
        SubmittedAt = ParseTime(r.GetString(11)),
        StartedAt = r.IsDBNull(12) ? null : ParseTime(r.GetString(12)),
        FinishedAt = r.IsDBNull(13) ? null : ParseTime(r.GetString(13)),
        TokensIn = r.GetInt32(14),
        TokensOut = r.GetInt32(15),
        TtftMs = r.IsDBNull(16) ? null : r.GetDouble(16),
        TpotMs = r.IsDBNull(17) ? null : r.GetDouble(17),
        Output = r.GetString(18),
    };

    internal static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
