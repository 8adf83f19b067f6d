using Ttnoded;
using Ttnoded.Config;

// Thin entry point: parse flags, load and validate config, resolve paths, run the node system.
// Exit codes: 0 clean stop, 2 bad command line, 78 bad configuration (EX_CONFIG), 1 start-up failure.
CommandLine cli;
try { cli = CommandLine.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"ttnoded: {e.Message}");
    Console.Error.Write(CommandLine.Usage);
    return 2;
}
if (cli.Help) { Console.Write(CommandLine.Usage); return 0; }
if (cli.Version) { Console.WriteLine($"ttnoded {BuildInfo.Version}"); return 0; }

string configPath = cli.Config ?? NodePaths.DefaultConfig;
DaemonConfig config;
try { config = ConfigLoader.Load(configPath); }
catch (ConfigException e)
{
    Console.Error.WriteLine($"ttnoded: {e.Message.Replace("\n", "\nttnoded: ", StringComparison.Ordinal)}");
    return 78;
}

var paths = new NodePaths(
    configPath,
    Path.GetFullPath(cli.Socket ?? config.Socket ?? NodePaths.DefaultSocket),
    Path.GetFullPath(cli.StateDir ?? config.StateDir ?? NodePaths.DefaultStateDir),
    Path.GetFullPath(cli.LogDir ?? config.LogDir ?? NodePaths.DefaultLogDir),
    Path.GetFullPath(cli.Sysroot ?? config.Sysroot ?? NodePaths.DefaultSysroot));

await using var system = new NodeSystem(paths, config);
try
{
    return await system.RunAsync();
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
{
    Console.Error.WriteLine($"ttnoded: cannot start: {e.Message}");
    return 1;
}
