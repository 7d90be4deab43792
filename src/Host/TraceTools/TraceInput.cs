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
                var tap = new GzipTap(content);
                content = new GzipEndCheck(new GZipStream(tap, CompressionMode.Decompress), tap);
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

    /// <summary>
    /// A stream read once from start to end over another, which it closes: what the reader of the text needs and no more
    /// (the members of seeking and writing are not supported, as for any such stream).
    /// </summary>
    private abstract class ReadOnlyWrapper(Stream inner) : Stream
    {
        protected Stream Inner { get; } = inner;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public abstract override int Read(Span<byte> buffer);

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

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
                Inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>The bytes already read from a stream that cannot go back, then the rest of it.</summary>
    private sealed class HeadThenRest(byte[] head, Stream rest) : ReadOnlyWrapper(rest)
    {
        private int _position;

        public override int Read(Span<byte> buffer)
        {
            if (_position < head.Length)
            {
                var n = Math.Min(buffer.Length, head.Length - _position);
                head.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }
            return Inner.Read(buffer);
        }
    }

    /// <summary>
    /// The compressed bytes on their way to the decompressor: keeps the last eight (a gzip member's trailer, its data's
    /// CRC-32 and length) and notes whether a second member's header may follow the first anywhere (files joined with
    /// <c>cat</c> are still one gzip file).
    /// </summary>
    private sealed class GzipTap(Stream inner) : ReadOnlyWrapper(inner)
    {
        private const int Window = 10;
        private readonly byte[] _last = new byte[Window];
        private long _count;

        public bool MaybeSeveralMembers { get; private set; }

        /// <summary>The length of the data as the last member's trailer gives it (modulo 2^32), if the stream is long enough to have one.</summary>
        public uint? TrailerLength => _count < 18 ? null : (uint)(_last[Window - 4] | _last[Window - 3] << 8 | _last[Window - 2] << 16 | _last[Window - 1] << 24);

        public override int Read(Span<byte> buffer)
        {
            var n = Inner.Read(buffer);
            if (n > 0)
            {
                Note(buffer[..n]);
            }
            return n;
        }

        private void Note(ReadOnlySpan<byte> chunk)
        {
            if (!MaybeSeveralMembers)
            {
                // Headers that begin in the bytes kept from before and end in this chunk...
                Span<byte> seam = stackalloc byte[2 * Window];
                var kept = (int)Math.Min(_count, Window - 1);
                var taken = Math.Min(chunk.Length, Window - 1);
                _last.AsSpan(Window - kept).CopyTo(seam);
                chunk[..taken].CopyTo(seam[kept..]);
                for (var i = _count == kept ? 1 : 0; i < kept && i + Window <= kept + taken; i++)
                {
                    MaybeSeveralMembers |= IsMemberHeader(seam.Slice(i, Window));
                }
                // ...and those within it (not the one that starts the stream).
                for (var j = _count == 0 ? 1 : 0; !MaybeSeveralMembers && j + Window <= chunk.Length; j++)
                {
                    var next = chunk[j..^(Window - 1)].IndexOf((byte)0x1F);
                    if (next < 0)
                    {
                        break;
                    }
                    j += next;
                    MaybeSeveralMembers = IsMemberHeader(chunk.Slice(j, Window));
                }
            }
            if (chunk.Length >= Window)
            {
                chunk[^Window..].CopyTo(_last);
            }
            else
            {
                Array.Copy(_last, chunk.Length, _last, 0, Window - chunk.Length);
                chunk.CopyTo(_last.AsSpan(Window - chunk.Length));
            }
            _count += chunk.Length;
        }

        /// <summary>
        /// A gzip member header: 1F 8B 08, flags without reserved bits, any time, extra flags 0, 2 or 4, a known OS.
        /// Compressed data looks like one about once in 10^11 positions, and then only makes the end check give up.
        /// </summary>
        private static bool IsMemberHeader(ReadOnlySpan<byte> b) =>
            b[0] == 0x1F && b[1] == 0x8B && b[2] == 0x08 && (b[3] & 0xE0) == 0 && b[8] is 0 or 2 or 4 && b[9] is <= 13 or 255;
    }

    /// <summary>
    /// The decompressed text, checked at its end against the gzip trailer: the decompressor itself ends quietly where a
    /// file cut short stops, so a copy that stopped would read as a shorter, whole trace. A single-member file whose
    /// trailer does not give the length read is cut short (or damaged), and its reading fails at the end.
    /// </summary>
    private sealed class GzipEndCheck(GZipStream inner, GzipTap tap) : ReadOnlyWrapper(inner)
    {
        private long _length;
        private bool _checked;

        public override int Read(Span<byte> buffer)
        {
            var n = Inner.Read(buffer);
            _length += n;
            if (n == 0 && buffer.Length > 0 && !_checked)
            {
                _checked = true;
                if (!tap.MaybeSeveralMembers && tap.TrailerLength != (uint)_length)
                {
                    throw new InvalidDataException("it ends before its compressed data does: the file was cut short");
                }
            }
            return n;
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
