using System.Globalization;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Tells apart an input that is not a KVM trace in text at all — trace-cmd's binary <c>trace.dat</c> (the file
/// <c>trace-cmd record</c> writes, before <c>trace-cmd report</c> turns it into text), another binary file, a message
/// trace of this simulator, a script — from a trace with torn lines, so that the import refuses it in one line
/// instead of reporting each of its lines as torn and writing a scenario that does nothing.
/// </summary>
internal static class KvmTraceInputCheck
{
    /// <summary>How many torn lines, with no trace line before them, make an input not a KVM trace (as for message traces).</summary>
    public const int NotATraceLines = ClefTraceReader.NotATraceLines;

    /// <summary>The first bytes of every <c>trace.dat</c> that trace-cmd writes: 0x17 0x08 0x44 and <c>tracing</c>.</summary>
    private static ReadOnlySpan<byte> TraceDatMagic => [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];

    /// <summary>Whether <paramref name="head"/>, the first bytes of a file, are those of trace-cmd's binary trace.dat.</summary>
    public static bool IsTraceDat(ReadOnlySpan<byte> head) => head.StartsWith(TraceDatMagic);

    /// <summary>Whether <paramref name="firstLine"/>, read as text, begins with the same bytes (as from standard input).</summary>
    public static bool IsTraceDatText(string firstLine) => firstLine.StartsWith("\u0017\u0008Dtracing", StringComparison.Ordinal);

    /// <summary>
    /// Why the lines are not a KVM trace, or null when they may be one: the input is not a trace when a NUL byte comes
    /// before its first trace line (binary data), when its first <see cref="NotATraceLines"/> lines that are not blank,
    /// a comment or trace-cmd's preamble are torn, or when it ends with two or more such lines and no trace line. A
    /// trace line is one of a KVM APIC event or a well-formed line of any other tracepoint. A single torn line and
    /// nothing else (a trace cut in its first line) may be a trace: it is imported and reported as torn.
    /// </summary>
    public static string? NotATraceReason(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var inv = CultureInfo.InvariantCulture;
        var torn = 0;
        string? first = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Contains('\0', StringComparison.Ordinal))
            {
                return i == 0 && TraceInput.IsGzipText(line) ? TraceInput.GzipThroughAPipe : string.Create(inv, $"binary data: a NUL byte on line {i + 1}");
            }
            switch (KvmTraceLineParser.Parse(line, i + 1).Kind)
            {
                case TraceLineKind.Event or TraceLineKind.Unknown:
                    return null;
                case TraceLineKind.Torn:
                    first ??= line;
                    if (++torn == NotATraceLines)
                    {
                        return string.Create(inv, $"the first {NotATraceLines} lines are not trace lines") + Hint(first);
                    }
                    break;
            }
        }
        return torn > 1 ? string.Create(inv, $"none of its {torn} lines is a trace line") + Hint(first!) : null;
    }

    /// <summary>What to do instead, when the first torn line shows what the input is.</summary>
    private static string Hint(string firstTorn)
    {
        var line = firstTorn.TrimStart('\uFEFF', ' ', '\t');
        if (line.StartsWith('{') && line.Contains("\"@t\"", StringComparison.Ordinal) && line.Contains("\"Event\"", StringComparison.Ordinal))
        {
            return "; it is a message trace of this simulator: vapic trace view, trace ipis and replay read those";
        }
        return "; import-kvm reads the text of trace-cmd report, perf script or the ftrace trace file";
    }

    /// <summary>The one line that refuses a trace.dat, with the command that makes the text the importer reads.</summary>
    public static string TraceDatMessage(string path) =>
        $"{path} is trace-cmd's binary trace.dat, not the text import-kvm reads: run trace-cmd report -i {path} > trace.txt and import trace.txt";
}
