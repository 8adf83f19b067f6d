using Ttnoded.Store;

namespace Ttnoded.Models;

/// <summary>The model store's tables. Blobs live on disk (STATE/models/blobs/sha256-HEX); rows say which model uses which.</summary>
public static class ModelSchema
{
    public static readonly Migration Migration = new("models-0001", """
        CREATE TABLE models (
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            manifest BLOB NOT NULL,          -- the exact signed manifest.json bytes
            signature BLOB,                  -- the exact manifest.sig bytes, NULL when unsigned
            signature_state TEXT NOT NULL,   -- trusted | untrusted | unsigned | not-checked
            signer_key_id TEXT,
            gguf_sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE model_files (
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            seq INTEGER NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (name, version, path),
            FOREIGN KEY (name, version) REFERENCES models (name, version) ON DELETE CASCADE
        );
        CREATE INDEX model_files_sha256 ON model_files (sha256);
        """);
}
