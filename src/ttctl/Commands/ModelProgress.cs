using System.Diagnostics;

namespace Ttctl.Commands;

/// <summary>
/// Transfer progress on stderr for model import/export: a redrawn bar with bytes/s and ETA on a terminal, plain lines
/// every 10% otherwise (logs and CI), nothing for transfers under 64 MiB.
/// </summary>
internal sealed class ModelProgress
{
    private readonly string _verb;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _tty = !Console.IsErrorRedirected;
    private readonly bool _quiet;
    private long _lastDraw = -1;
    private int _lastDecile = -1;

    public ModelProgress(string verb, long total)
    {
        _verb = verb;
        _total = Math.Max(total, 1);
        _quiet = total < 64L << 20;
    }

    public void Report(long done)
    {
        if (_quiet) return;
        long ms = _clock.ElapsedMilliseconds;
        if (_tty)
        {
            if (done < _total && _lastDraw >= 0 && ms - _lastDraw < 200) return;
            _lastDraw = ms;
            double frac = Math.Clamp(done / (double)_total, 0, 1);
            int filled = (int)(frac * 30);
            Console.Error.Write($"\r{_verb} [{new string('#', filled)}{new string('.', 30 - filled)}] {frac,4:P0} {Line(done)}   ");
            if (done >= _total) Console.Error.WriteLine();
        }
        else
        {
            int decile = (int)(done * 10 / _total);
            if (decile == _lastDecile) return;
            _lastDecile = decile;
            Console.Error.WriteLine($"{_verb}: {decile * 10}% {Line(done)}");
        }
    }

    private string Line(long done)
    {
        double secs = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        double rate = done / secs;
        string eta = rate <= 0 || done >= _total ? "--:--" : TimeSpan.FromSeconds((_total - done) / rate).ToString(@"m\:ss");
        return $"{BundleCommand.Bytes(done)}/{BundleCommand.Bytes(_total)} {BundleCommand.Bytes((long)rate)}/s ETA {eta}";
    }

    /// <summary>A read-only stream wrapper that reports bytes read.</summary>
    public sealed class ReadStream(Stream inner, ModelProgress progress) : Stream
    {
        private long _done;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => _done; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct).ConfigureAwait(false));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int n)
        {
            _done += n;
            progress.Report(_done);
            return n;
        }
    }
}
