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
    /// The writer for the commands' standard output: a writer on file descriptor 1 that notices a reader that has gone
    /// when standard output is a pipe, <see cref="Console.Out"/> otherwise. Each write goes out at once, as
    /// <see cref="Console.Out"/>'s do.
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
        return TextWriter.Synchronized(writer);
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
/// Standard output is a pipe whose reader has gone: nothing written will be read, so the command stops, and the
/// command line exits with <see cref="StandardOutput.ExitBrokenPipe"/> without a word. Not an <see cref="IOException"/>,
/// so that no handler of a file that could not be read or written takes it for one.
/// </summary>
public sealed class StandardOutputClosedException(Exception? inner)
    : Exception("standard output is a pipe whose reader has gone", inner);
