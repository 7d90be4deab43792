using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Reads a message trace written as compact JSON (CLEF: one JSON object per line, <c>@t</c> the timestamp,
/// <c>@mt</c> the template or <c>@m</c> the rendered message, then the properties). A line that is not a
/// trace event (not JSON, not an object, a required property missing or of the wrong type) becomes a
/// <see cref="TraceReadError"/> naming its line, and reading goes on with the next line.
/// </summary>
public static class ClefTraceReader
{
    private static readonly string[] Required = ["Vm", "ApicId", "Event", "Seq", "VirtualTimeNs"];

    /// <summary>The highest initial APIC ID: 0xFFFFFFFF is the x2APIC broadcast ID, no APIC's.</summary>
    private const ulong MaxApicId = 0xFFFF_FFFE;

    /// <summary>
    /// Reads the file at <paramref name="path"/>. Throws <see cref="IOException"/> and friends when it cannot be read,
    /// <see cref="NotATraceException"/> when it is not a trace (see <see cref="Stream"/>).
    /// </summary>
    public static TraceReadResult ReadFile(string path) => Read(File.ReadLines(path), path);

    /// <summary>Reads trace lines; <paramref name="file"/> names them in errors. Throws <see cref="NotATraceException"/> as <see cref="Stream"/> does.</summary>
    public static TraceReadResult Read(IEnumerable<string> lines, string file)
    {
        var errors = new List<TraceReadError>();
        var events = Stream(lines, file, errors.Add).ToList();
        return new TraceReadResult(events, errors);
    }

    /// <summary>
    /// Reads trace lines one at a time and yields each event as soon as its line is read, so that a trace of any size
    /// is read in constant memory. Each line that is not an event goes to <paramref name="onError"/> when it is met,
    /// except at the start of the input: until the first event, the lines that are not events are held back (at most
    /// <see cref="NotATraceLines"/>), and given to <paramref name="onError"/> once an event or the end of the input shows
    /// the input is a trace (or may be one). A line with a NUL byte is binary data, not trace text: after an event (the
    /// tail of zeros a crash leaves) it is reported once and the rest of the input is not read. Before any event (a
    /// binary file), or when the first <see cref="NotATraceLines"/> lines that are not blank are none of them events (a
    /// script, a log), or the input ends with two or more such lines and no event, the input is not a trace: <see cref="NotATraceException"/> is thrown and nothing held back is
    /// reported. Without <paramref name="keepProperties"/> the events' <see cref="TraceRecord.Properties"/> are left
    /// empty (they serve filters only), which saves most of the memory an event takes.
    /// </summary>
    public static IEnumerable<TraceRecord> Stream(IEnumerable<string> lines, string file, Action<TraceReadError> onError, bool keepProperties = true)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(onError);
        var number = 0;
        // The errors met before the first event; null once an event has been read.
        List<TraceReadError>? beforeFirstEvent = [];
        // How many of those are lines of a KVM trace as trace-cmd report prints them: a common mix-up, named in the refusal.
        var kvmLines = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            if (line.Contains('\0', StringComparison.Ordinal))
            {
                if (beforeFirstEvent is not null)
                {
                    throw new NotATraceException(file, TraceInput.IsGzipText(line) && number == 1
                        ? TraceInput.GzipThroughAPipe
                        : string.Create(CultureInfo.InvariantCulture, $"binary data: a NUL byte on line {number}"));
                }
                onError(new TraceReadError(file, number, BinaryData));
                yield break;
            }
            if (TryParse(line, number, out var record, out var reason, keepProperties))
            {
                if (beforeFirstEvent is not null)
                {
                    beforeFirstEvent.ForEach(onError);
                    beforeFirstEvent = null;
                }
                yield return record!;
            }
            else if (beforeFirstEvent is null)
            {
                onError(new TraceReadError(file, number, reason!));
            }
            else
            {
                beforeFirstEvent.Add(new TraceReadError(file, number, reason!));
                kvmLines += KvmTraceLineParser.Parse(line, number).Kind is TraceLineKind.Event or TraceLineKind.Unknown ? 1 : 0;
                if (beforeFirstEvent.Count == NotATraceLines)
                {
                    throw new NotATraceException(file, string.Create(CultureInfo.InvariantCulture, $"the first {NotATraceLines} lines are not trace events") + KvmHint(kvmLines));
                }
            }
        }
        // An input with no event at all is not a trace either once two or more of its lines say so; a single line (a
        // trace torn in its first write) is reported with its reason, as in a trace.
        if (beforeFirstEvent is { Count: > 1 } none)
        {
            throw new NotATraceException(file, string.Create(CultureInfo.InvariantCulture, $"none of its {none.Count} lines is a trace event") + KvmHint(kvmLines));
        }
        beforeFirstEvent?.ForEach(onError);
    }

    /// <summary>What to do instead, when the lines that are not events are those of a KVM trace.</summary>
    private static string KvmHint(int kvmLines) =>
        kvmLines == 0 ? "" : "; it looks like a KVM trace (trace-cmd report, perf script): vapic trace import-kvm turns one into a scenario";

    /// <summary>How many lines that are not events, with no event before them, make an input not a trace.</summary>
    public const int NotATraceLines = 20;

    /// <summary>The reason given for a line with a NUL byte.</summary>
    public const string BinaryData = "binary data (a NUL byte), not trace text: the rest of the file is not read";

    /// <summary>Parses one line; on failure <paramref name="reason"/> says why.</summary>
    public static bool TryParse(string line, int lineNumber, out TraceRecord? record, out string? reason, bool keepProperties = true)
    {
        record = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            reason = "not a JSON line: " + JsonProblem.Describe(e, oneLine: true);
            return false;
        }

        using (document)
        {
            // Properties kept for filters point into one copy of the line's JSON, made only when they are kept.
            var root = keepProperties ? document.RootElement.Clone() : document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = "not a trace event: a JSON " + root.ValueKind.ToString().ToLowerInvariant() + " instead of an object";
                return false;
            }

            // An escape such as \ud800 may leave half of a surrogate pair, which no string can hold.
            if (line.Contains("\\u", StringComparison.Ordinal) && NotText(root, "") is { } notText)
            {
                reason = "not a trace event: " + notText + " is not text: it holds a lone surrogate such as \\ud800";
                return false;
            }

            foreach (var name in Required)
            {
                if (!root.TryGetProperty(name, out var p) || p.ValueKind == JsonValueKind.Null)
                {
                    reason = "not a trace event: no " + name + " property";
                    return false;
                }
            }

            var properties = ImmutableDictionary.CreateBuilder<string, JsonElement>(StringComparer.Ordinal);
            DateTimeOffset? timestamp = null;
            string? template = null;
            string? message = null;
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "@t":
                        if (p.Value.ValueKind != JsonValueKind.String
                            || !DateTimeOffset.TryParse(p.Value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t))
                        {
                            reason = "@t is not a timestamp: " + p.Value.GetRawText();
                            return false;
                        }
                        timestamp = t;
                        break;
                    case "@mt":
                        template = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                        break;
                    case "@m":
                        message = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                        break;
                    default:
                        if (keepProperties && !p.Name.StartsWith('@'))
                        {
                            properties[p.Name] = p.Value;
                        }
                        break;
                }
            }

            try
            {
                record = new TraceRecord(
                    lineNumber,
                    timestamp,
                    template ?? message,
                    Text(root, "Vm")!,
                    (uint)Unsigned(root, "ApicId", MaxApicId)!,
                    Signed(root, "Seq")!.Value,
                    Text(root, "Event")!,
                    Signed(root, "VirtualTimeNs")!.Value,
                    Text(root, "Register"),
                    Unsigned(root, "Value", ulong.MaxValue),
                    (int?)Signed(root, "Vector"),
                    (uint?)Unsigned(root, "Source", uint.MaxValue),
                    Text(root, "Destination"),
                    Text(root, "Detail"),
                    Signed(root, "SourceSeq"),
                    properties.ToImmutable());
            }
            catch (FormatException e)
            {
                reason = e.Message;
                return false;
            }
            reason = null;
            return true;
        }
    }

    /// <summary>Where in <paramref name="element"/> a key or a string cannot be read as text, or null when every one can.</summary>
    private static string? NotText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return "a key" + (path.Length == 0 ? "" : " of " + path);
                    }
                    if (NotText(p.Value, path.Length == 0 ? name : path + "." + name) is { } inside)
                    {
                        return inside;
                    }
                }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (NotText(item, path + "[" + i++.ToString(CultureInfo.InvariantCulture) + "]") is { } inside)
                    {
                        return inside;
                    }
                }
                return null;
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return path;
                }
            default:
                return null;
        }
    }

    private static string? Text(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var p) || p.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return p.ValueKind == JsonValueKind.String
            ? p.GetString()
            : throw new FormatException(name + " is not a string: " + p.GetRawText());
    }

    private static ulong? Unsigned(JsonElement root, string name, ulong max)
    {
        if (!root.TryGetProperty(name, out var p) || p.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (p.ValueKind == JsonValueKind.Number && p.TryGetUInt64(out var value) && value <= max)
        {
            return value;
        }
        throw new FormatException(name + " is not an unsigned number up to 0x" + max.ToString("X", CultureInfo.InvariantCulture) + ": " + p.GetRawText());
    }

    private static long? Signed(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var p) || p.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out var value) && (name != "Vector" || value is >= 0 and <= byte.MaxValue))
        {
            return value;
        }
        throw new FormatException(name + " is not " + (name == "Vector" ? "a vector (0 to 255)" : "an integer") + ": " + p.GetRawText());
    }
}
