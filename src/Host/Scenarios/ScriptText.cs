using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace VApicActors.Host.Scenarios;

/// <summary>
/// A script file's bytes as lines of text, and the checks that tell a text script from a binary file: bytes that are
/// not UTF-8 (unless a UTF-16 or UTF-32 byte-order mark says otherwise), or NUL characters.
/// </summary>
internal static class ScriptText
{
    /// <summary>
    /// The line (from 1) and value of the first byte that is not part of valid UTF-8, or null when the text is UTF-8
    /// (with or without a byte-order mark) or begins with a UTF-16 or UTF-32 byte-order mark.
    /// </summary>
    public static (int Line, byte Byte)? NotUtf8(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes is [0xFE, 0xFF, ..] or [0xFF, 0xFE, ..] or [0x00, 0x00, 0xFE, 0xFF, ..])
        {
            return null; // UTF-16 or UTF-32 with a byte-order mark, which the reader decodes
        }
        var chars = ArrayPool<char>.Shared.Rent(64 * 1024);
        try
        {
            var rest = bytes.AsSpan();
            var offset = 0;
            while (!rest.IsEmpty)
            {
                var status = Utf8.ToUtf16(rest, chars, out var read, out _, replaceInvalidSequences: false, isFinalBlock: true);
                offset += read;
                rest = rest[read..];
                if (status == OperationStatus.InvalidData)
                {
                    return (LineOf(bytes, offset), bytes[offset]);
                }
                if (status == OperationStatus.Done)
                {
                    break;
                }
            }
            return null;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>The lines as <see cref="File.ReadAllLines(string)"/> gives them: LF, CR LF or CR ends a line, a byte-order mark is dropped.</summary>
    public static List<string> Lines(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes, writable: false), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }
        return lines;
    }

    /// <summary>
    /// The first line (from 1) that shows a script is not text, and the script error for it (<c>not a text script: it
    /// contains NUL bytes</c>, <c>not a text script: it is not UTF-8 (byte 0xFF)</c>); null for a text script.
    /// <paramref name="bytes"/> are the file's, or null for lines read as text already (standard input).
    /// </summary>
    public static (int Line, string Reason)? FirstNotText(byte[]? bytes, IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var invalid = bytes is null ? null : NotUtf8(bytes);
        for (var i = 0; i < lines.Count && (invalid is null || i + 1 < invalid.Value.Line); i++)
        {
            if (lines[i].Contains('\0', StringComparison.Ordinal))
            {
                return (i + 1, "not a text script: it contains NUL bytes");
            }
        }
        return invalid is { } at ? (at.Line, $"not a text script: it is not UTF-8 (byte 0x{at.Byte:X2})") : null;
    }

    /// <summary>The line (from 1) that holds byte <paramref name="offset"/>, counting line ends as <see cref="Lines"/> does.</summary>
    private static int LineOf(byte[] bytes, int offset)
    {
        var line = 1;
        for (var i = 0; i < offset; i++)
        {
            if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.Length || bytes[i + 1] != '\n')))
            {
                line++;
            }
        }
        return line;
    }
}
