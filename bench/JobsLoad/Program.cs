using JobsLoad;

// usage: JobsLoad SOCKET MODEL CLIENTS SECONDS
if (args.Length != 4 || !int.TryParse(args[2], out int clients) || !double.TryParse(args[3], System.Globalization.CultureInfo.InvariantCulture, out double secs))
{
    Console.Error.WriteLine("usage: JobsLoad SOCKET MODEL CLIENTS SECONDS");
    return 2;
}
ThreadPool.SetMinThreads(64, 64);
var report = await LoadGenerator.RunAsync(args[0], args[1], clients, TimeSpan.FromSeconds(secs));
Console.Write(report.Markdown());
foreach (var e in report.ErrorSamples) Console.Error.WriteLine("error: " + e);
return report.Errors == 0 ? 0 : 1;
