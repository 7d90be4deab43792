using System.Globalization;
using System.Text.Json;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// What a JSON parser found wrong, said for a person: its message without the position it appends, which counts lines
/// and bytes from 0 ("LineNumber: 1 | BytePositionInLine: 0" is the first byte of the second line), and with the
/// position counted from 1.
/// </summary>
public static class JsonProblem
{
    /// <summary>The problem and where: <c>(at line 2, byte 1)</c>, or <c>(at byte 1)</c> when the text was one line.</summary>
    public static string Describe(JsonException e, bool oneLine)
    {
        ArgumentNullException.ThrowIfNull(e);
        var message = e.Message;
        var position = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (position >= 0)
        {
            message = message[..position];
        }
        message = message.TrimEnd().TrimEnd('.');
        if (e.BytePositionInLine is not long b)
        {
            return message;
        }
        return oneLine || e.LineNumber is not long line
            ? string.Create(CultureInfo.InvariantCulture, $"{message} (at byte {b + 1})")
            : string.Create(CultureInfo.InvariantCulture, $"{message} (at line {line + 1}, byte {b + 1})");
    }
}
