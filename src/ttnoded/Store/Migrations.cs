namespace Ttnoded.Store;

/// <summary>
/// The store's schema, in the order it is applied. Append only: a released migration is never edited, a new one is added.
/// Each subsystem keeps its tables in its own entries (named "subsystem-NNNN").
/// </summary>
public static class Migrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        new("core-0001", """
            CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                uid INTEGER NOT NULL,
                user_name TEXT NOT NULL,
                pid INTEGER NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                result TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT ''
            );
            -- The audit log is append-only: the database itself refuses edits and deletes.
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            """),
    ];
}
