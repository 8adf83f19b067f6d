namespace Ttnoded.Inference;

/// <summary>Where a registered model's weights are. The model store implements it; the engine host only reads it.</summary>
public interface IModelCatalog
{
    /// <summary>The model registered under <paramref name="name"/> ("name" or "name:version"), or null.</summary>
    ModelLocation? Find(string name);

    /// <summary>Names of every registered model (for /v1/models and error messages).</summary>
    IReadOnlyList<string> Names();
}

/// <summary>A registered model's GGUF file on disk.</summary>
public sealed record ModelLocation(string Name, string GgufPath, DateTimeOffset RegisteredAt);
