namespace Ttnoded.Store;

/// <summary>One schema change, applied once, identified by a unique name (subsystems add their own without renumbering).</summary>
public sealed record Migration(string Name, string Sql);
