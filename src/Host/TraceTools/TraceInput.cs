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
    public static (FileStream File, TextReader Reader) Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        try
        {
            Stream content = file;
            if (file.CanSeek)
            {
                Span<byte> head = stackalloc byte[2];
                var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
                file.Position = 0;
                if (read == 2 && head[0] == 0x1F && head[1] == 0x8B)
                {
                    content = new GZipStream(file, CompressionMode.Decompress);
                }
            }
            return (file, new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Why reading a file failed part way, for a message: damaged compressed data is said to be that.</summary>
    public static string Reason(string path, Exception exception) => exception is InvalidDataException
        ? "its gzip data is damaged (" + exception.Message.TrimEnd('.') + ")"
        : Cli.CommandLineFiles.ReadReason(path, exception);

    /// <summary>Whether <paramref name="exception"/> is a failure to read the file, damaged compressed data included.</summary>
    public static bool IsReadError(Exception exception) => exception is InvalidDataException || Cli.CommandLineFiles.IsFileError(exception);

    /// <summary>Every line of the file, decompressed if it is a gzip file.</summary>
    public static string[] ReadAllLines(string path)
    {
        var (_, reader) = Open(path);
        using (reader)
        {
            var lines = new List<string>();
            while (reader.ReadLine() is { } line)
            {
                lines.Add(line);
            }
            return [.. lines];
        }
    }
}
