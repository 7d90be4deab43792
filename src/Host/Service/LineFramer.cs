using System.Globalization;
using System.Text;

namespace VApicActors.Host.Service;

/// <summary>
/// Cuts a byte stream into request lines ended by LF (an optional CR before it is dropped), holding at most
/// one line of <c>maxLineLength</c> bytes. A longer line is skipped up to its end and reported once as an
/// error; a line that is not strict UTF-8 or holds control characters other than tab is reported as an
/// error too. A UTF-8 byte-order mark before the first line is dropped. Bytes after the last LF stay pending
/// until more arrive; a stream that ends there leaves
/// them unused (a line cut off by a disconnect is never run).
/// </summary>
public sealed class LineFramer
{
    private const byte LineFeed = (byte)'\n';
    private const byte CarriageReturn = (byte)'\r';
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _line;
    private readonly int _maxLineLength;
    private int _length;
    private bool _skipping;
    private bool _firstLine = true;

    public LineFramer(int maxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 1);
        _maxLineLength = maxLineLength;
        // One byte more than the limit, for the CR of a CR LF line end.
        _line = new byte[maxLineLength + 1];
    }

    /// <summary>Bytes of an unfinished line are waiting for the rest of it.</summary>
    public bool HasPartialLine => _length > 0 || _skipping;

    /// <summary>Adds received bytes; every line they complete is appended to <paramref name="lines"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<FramedLine> lines)
    {
        while (!data.IsEmpty)
        {
            var end = data.IndexOf(LineFeed);
            var chunk = end < 0 ? data : data[..end];
            Append(chunk);
            if (end < 0)
            {
                return;
            }
            lines.Add(Complete());
            data = data[(end + 1)..];
        }
    }

    private void Append(ReadOnlySpan<byte> chunk)
    {
        if (_skipping)
        {
            return;
        }
        if (_length + chunk.Length > _line.Length)
        {
            _skipping = true;
            _length = 0;
            return;
        }
        chunk.CopyTo(_line.AsSpan(_length));
        _length += chunk.Length;
    }

    private FramedLine Complete()
    {
        if (_skipping)
        {
            _skipping = false;
            _firstLine = false;
            _length = 0;
            return new FramedLine(null, $"line too long (at most {_maxLineLength} bytes)");
        }
        var length = _length;
        _length = 0;
        var start = 0;
        if (_firstLine)
        {
            // A byte-order mark some editors and consoles put before the first line is not part of it.
            _firstLine = false;
            if (length >= 3 && _line[0] == 0xEF && _line[1] == 0xBB && _line[2] == 0xBF)
            {
                start = 3;
            }
        }
        if (length > 0 && _line[length - 1] == CarriageReturn)
        {
            length--;
        }
        if (length > _maxLineLength)
        {
            return new FramedLine(null, $"line too long (at most {_maxLineLength} bytes)");
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(_line, start, length - start);
        }
        catch (DecoderFallbackException)
        {
            return new FramedLine(null, "line is not valid UTF-8");
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\t' && char.IsControl(c))
            {
                return new FramedLine(null, string.Create(CultureInfo.InvariantCulture, $"control character 0x{(int)c:x2} in the line at column {i + 1}"));
            }
        }
        return new FramedLine(text, null);
    }
}
