namespace Ttnoded;

/// <summary>ttnoded's command line: a handful of path flags, parsed by hand (the daemon has no sub-commands).</summary>
public sealed record CommandLine(string? Config, string? Socket, string? StateDir, string? LogDir, string? Sysroot, bool Help, bool Version)
{
    public const string Usage =
        "usage: ttnoded [--config PATH] [--socket PATH] [--state-dir DIR] [--log-dir DIR] [--sysroot DIR]\n" +
        "  --config PATH    configuration file (default /etc/ttnoded/ttnoded.json; missing = defaults)\n" +
        "  --socket PATH    Unix socket to serve the API on (default /run/ttnoded/ttnoded.sock)\n" +
        "  --state-dir DIR  SQLite store and model blobs (default /var/lib/ttnoded)\n" +
        "  --log-dir DIR    rolling log files (default /var/log/ttnoded)\n" +
        "  --sysroot DIR    directory under which sys/, proc/ and dev/ are read (default /)\n" +
        "  --version        print the version and exit\n";

    /// <summary>Parses args; throws <see cref="ArgumentException"/> with a one-line message on bad usage.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? config = null, socket = null, state = null, log = null, sysroot = null;
        bool help = false, version = false;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string? inlineValue = null;
            int eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { inlineValue = a[(eq + 1)..]; a = a[..eq]; }
            string Value()
            {
                if (inlineValue is not null) return inlineValue;
                if (i + 1 >= args.Count || args[i + 1].Length == 0) throw new ArgumentException($"option {a} needs a value");
                return args[++i];
            }
            switch (a)
            {
                case "--config": config = Value(); break;
                case "--socket": socket = Value(); break;
                case "--state-dir": state = Value(); break;
                case "--log-dir": log = Value(); break;
                case "--sysroot": sysroot = Value(); break;
                case "-h" or "--help": help = true; break;
                case "--version": version = true; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        return new CommandLine(config, socket, state, log, sysroot, help, version);
    }
}
