using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace Ttnoded.Logging;

/// <summary>
/// Logs go two ways: a rolling file in the log dir (Serilog.Sinks.File) and the console, which under systemd is the journal
/// (systemd console format, with &lt;N&gt; priority prefixes, when JOURNAL_STREAM is set).
/// Only scalar values are logged: Serilog's destructuring of objects relies on reflection that AOT trims.
/// </summary>
public static class LoggingSetup
{
    public static void Configure(ILoggingBuilder logging, string logDir, string level)
    {
        var min = Enum.TryParse<LogEventLevel>(level, out var l) ? l : LogEventLevel.Information;
        Directory.CreateDirectory(logDir);
        var serilog = new LoggerConfiguration()
            .MinimumLevel.Is(min)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .WriteTo.File(Path.Combine(logDir, "ttnoded-.log"),
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                rollingInterval: RollingInterval.Day,
                fileSizeLimitBytes: 64L * 1024 * 1024,
                rollOnFileSizeLimit: true,
                retainedFileCountLimit: 14,
                shared: false,
                flushToDiskInterval: TimeSpan.FromSeconds(1))
            .CreateLogger();

        logging.ClearProviders();
        logging.SetMinimumLevel(ToMicrosoft(min));
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddSerilog(serilog, dispose: true);
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")))
            logging.AddSystemdConsole(o => o.TimestampFormat = null);
        else
            logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
    }

    private static LogLevel ToMicrosoft(LogEventLevel l) => l switch
    {
        LogEventLevel.Verbose => LogLevel.Trace,
        LogEventLevel.Debug => LogLevel.Debug,
        LogEventLevel.Information => LogLevel.Information,
        LogEventLevel.Warning => LogLevel.Warning,
        LogEventLevel.Error => LogLevel.Error,
        _ => LogLevel.Critical,
    };
}
