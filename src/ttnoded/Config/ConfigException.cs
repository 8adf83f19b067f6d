namespace Ttnoded.Config;

/// <summary>The configuration is malformed; <see cref="Exception.Message"/> names every bad key, one per line.</summary>
public sealed class ConfigException(string message) : Exception(message);
