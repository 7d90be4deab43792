using System.IO.Compression;
using System.Text;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Opens a trace file for reading as text. A file compressed with gzip (its first bytes 1F 8B: <c>trace.clef.gz</c>, a
/// KVM trace kept as <c>trace.txt.gz</c>) is decompressed as it is read, so a large trace need not be unpacked first.
/// </summary>
internal static class TraceInput
{
    /// <summary>
    /// The file (whose position tells how far reading has got, in compressed bytes for a gzip file) and a reader of
    /// its text. Disposing the reader closes the file.
    /// </summary>
    public static (FileStream File, TextReader Reader) Open(string path) => Open(path, out _);

    /// <summary>
    /// As <see cref="Open(string)"/>, with the file's first bytes as they are in the file (up to 16, before any
    /// decompression) in <paramref name="head"/>. The file is read once: a pipe (<c>&lt;(zcat …)</c>, <c>/dev/stdin</c>)
    /// loses none of its text to the look at its first bytes.
    /// </summary>
    public static (FileStream File, TextReader Reader) Open(string path, out byte[] head)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        try
        {
            var buffer = new byte[HeadLength];
            var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            head = buffer[..read];
            Stream content;
            if (file.CanSeek)
            {
                file.Position = 0;
                content = file;
            }
            else
            {
                content = new HeadThenRest(head, file);
            }
            if (read >= 2 && head[0] == 0x1F && head[1] == 0x8B)
            {
                content = new GZipStream(content, CompressionMode.Decompress);
            }
            return (file, new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private const int HeadLength = 16;

    /// <summary>The bytes already read from a stream that cannot go back, then the rest of it.</summary>
    private sealed class HeadThenRest(byte[] head, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position < head.Length)
            {
                var n = Math.Min(buffer.Length, head.Length - _position);
                head.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }
            return rest.Read(buffer);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Whether a line of text read from a stream that was not decompressed (standard input, a pipe) begins as gzip data
    /// does: 1F 8B, the second byte read as a replacement character (not UTF-8) or as itself.
    /// </summary>
    public static bool IsGzipText(string line) => line.Length >= 2 && line[0] == '\u001F' && line[1] is '\uFFFD' or '\u008B';

    /// <summary>The reason given for gzip data that was not decompressed: only a file that can be read twice is.</summary>
    public const string GzipThroughAPipe =
        "gzip-compressed data, which is decompressed only when read from a file: give the file's name, or zcat it into the command";

    /// <summary>Why reading a file failed part way, for a message: damaged compressed data is said to be that.</summary>
    public static string Reason(string path, Exception exception) => exception is InvalidDataException
        ? "its gzip data is damaged (" + exception.Message.TrimEnd('.') + ")"
        : Cli.CommandLineFiles.ReadReason(path, exception);

    /// <summary>Whether <paramref name="exception"/> is a failure to read the file, damaged compressed data included.</summary>
    public static bool IsReadError(Exception exception) => exception is InvalidDataException || Cli.CommandLineFiles.IsFileError(exception);
}
