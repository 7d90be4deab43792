using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace VApicActors.Host.Cli;

/// <summary>
/// The process's standard output as the commands write it. <see cref="Console.Out"/> drops what it cannot write to a
/// pipe whose reader has gone (EPIPE), so a command piped into <c>head</c> would read the rest of its input for no one.
/// When standard output is a pipe (outside Windows), the commands write it through file descriptor 1 instead, and a
/// write that finds the reader gone throws <see cref="StandardOutputClosedException"/>: the command stops where it is
/// and the command line exits with <see cref="ExitBrokenPipe"/> without a word, as a program killed by SIGPIPE does.
/// A terminal or a file keeps <see cref="Console.Out"/>: neither loses its reader.
/// </summary>
public static class StandardOutput
{
    /// <summary>128 + SIGPIPE: what a shell reports for <c>cat</c> or <c>grep</c> writing to a pipe that nobody reads.</summary>
    public const int ExitBrokenPipe = 141;

    /// <summary>
    /// How long lines written in a <see cref="Batch"/> may wait in the buffer before they are flushed anyway, so that a
    /// reader of the pipe (<c>| less</c>) sees lines that come slowly, such as the few a narrow filter keeps.
    /// </summary>
    internal static readonly TimeSpan BatchLatency = TimeSpan.FromMilliseconds(100);

    /// <summary>The file descriptor writers and the stream writer under each, for <see cref="Batch"/>.</summary>
    private static readonly ConditionalWeakTable<TextWriter, StreamWriter> Buffered = [];

    /// <summary>
    /// The writer for the commands' standard output: a writer on file descriptor 1 that notices a reader that has gone
    /// when standard output is a pipe, <see cref="Console.Out"/> otherwise. Each write goes out at once, as
    /// <see cref="Console.Out"/>'s do, unless a command writes in a <see cref="Batch"/>.
    /// </summary>
    public static TextWriter Open()
    {
        if (OperatingSystem.IsWindows() || !Console.IsOutputRedirected)
        {
            return Console.Out;
        }
        FileStream stream;
        try
        {
            stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Standard output is closed, or not something to write to: Console.Out knows what to do with that.
            return Console.Out;
        }
        if (stream.CanSeek)
        {
            // A file: it has no reader to lose, and Console.Out writes it at the descriptor's own offset, which a
            // FileStream would not move (a group of commands sharing one '> FILE' would overwrite each other).
            stream.Dispose();
            return Console.Out;
        }
        return Create(stream, Console.OutputEncoding);
    }

    /// <summary>
    /// A writer on <paramref name="pipe"/> (one that cannot seek: a pipe or a socket) whose write throws
    /// <see cref="StandardOutputClosedException"/> once the reader has gone; every write goes out at once.
    /// </summary>
    internal static TextWriter Create(Stream pipe, Encoding encoding)
    {
        var writer = new StreamWriter(new ReaderCheckingStream(pipe), encoding, bufferSize: 1 << 14) { AutoFlush = true };
        var synchronized = TextWriter.Synchronized(writer);
        Buffered.AddOrUpdate(synchronized, writer);
        return synchronized;
    }

    /// <summary>
    /// Lets many lines written to <paramref name="output"/> share one write until the batch is disposed: each is
    /// flushed when the buffer is full, when <see cref="OutputBatch.Tick"/> finds that lines have waited
    /// <see cref="BatchLatency"/>, and at the end. Nothing changes for a writer that is not the pipe
    /// <see cref="Open"/> made (a terminal stays line by line), nor when <paramref name="inputMayWait"/>: a command that
    /// may wait for input (standard input, fed as it comes) must not keep what it has already printed while it waits.
    /// For a command that writes from one thread.
    /// </summary>
    public static OutputBatch Batch(TextWriter output, bool inputMayWait)
    {
        ArgumentNullException.ThrowIfNull(output);
        return !inputMayWait && Buffered.TryGetValue(output, out var writer) ? new OutputBatch(output, writer) : new OutputBatch(null, null);
    }

    /// <summary>
    /// Fd 1 itself: writes go straight to the descriptor, and a write that finds the pipe's reader gone (EPIPE, which
    /// the runtime reports as an <see cref="IOException"/> since it ignores SIGPIPE) throws
    /// <see cref="StandardOutputClosedException"/>, as does every write after it.
    /// </summary>
    private sealed class ReaderCheckingStream(Stream inner) : Stream
    {
        /// <summary>EPIPE on Linux and macOS; the runtime's <see cref="IOException"/> carries the errno as its HResult.</summary>
        private const int Epipe = 32;

        private bool _readerGone;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_readerGone)
            {
                throw new StandardOutputClosedException(null);
            }
            try
            {
                inner.Write(buffer);
            }
            catch (IOException e) when (e.HResult == Epipe)
            {
                _readerGone = true;
                throw new StandardOutputClosedException(e);
            }
        }

        // A write to a pipe blocks until the reader takes it, whichever way it is asked for, as Console.Out's do.
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                Write(buffer.Span);
                return ValueTask.CompletedTask;
            }
            catch (Exception e) when (e is StandardOutputClosedException or IOException)
            {
                return ValueTask.FromException(e);
            }
        }

        public override void Flush()
        {
            // Nothing is kept here: each write went out.
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// Lines that share writes to standard output (see <see cref="StandardOutput.Batch"/>); disposing it flushes them and
/// makes each write go out at once again.
/// </summary>
public sealed class OutputBatch : IDisposable
{
    private static readonly long LatencyTicks = (long)(StandardOutput.BatchLatency.TotalSeconds * Stopwatch.Frequency);

    private readonly TextWriter? _output;
    private readonly StreamWriter? _writer;
    private long _lastFlush;

    internal OutputBatch(TextWriter? output, StreamWriter? writer)
    {
        _output = output;
        _writer = writer;
        if (writer is not null)
        {
            writer.AutoFlush = false;
            _lastFlush = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Whether lines are batched at all (not on a terminal, a file, or another writer).</summary>
    public bool Active => _writer is not null;

    /// <summary>
    /// Flushes when the last flush was <see cref="StandardOutput.BatchLatency"/> ago or more; cheap enough to call for
    /// every line read, printed or not.
    /// </summary>
    public void Tick()
    {
        if (_output is not null && Stopwatch.GetTimestamp() - _lastFlush >= LatencyTicks)
        {
            Flush();
        }
    }

    /// <summary>Writes out what the batch holds now (before a line on standard error, which is not batched).</summary>
    public void Flush()
    {
        if (_output is not null)
        {
            _lastFlush = Stopwatch.GetTimestamp();
            _output.Flush();
        }
    }

    public void Dispose()
    {
        if (_writer is not null)
        {
            // Setting it flushes what the batch still holds (and throws if the reader has gone).
            _writer.AutoFlush = true;
        }
    }
}

/// <summary>
/// Standard output is a pipe whose reader has gone: nothing written will be read, so the command stops, and the
/// command line exits with <see cref="StandardOutput.ExitBrokenPipe"/> without a word. Not an <see cref="IOException"/>,
/// so that no handler of a file that could not be read or written takes it for one.
/// </summary>
public sealed class StandardOutputClosedException(Exception? inner)
    : Exception("standard output is a pipe whose reader has gone", inner);
