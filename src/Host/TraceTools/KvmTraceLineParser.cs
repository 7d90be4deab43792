using System.Globalization;
using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.TraceTools;

/// <summary>What one input line turned out to be.</summary>
internal enum TraceLineKind
{
    /// <summary>Blank, an ftrace header (<c># tracer: nop</c>) or trace-cmd's preamble (<c>cpus=4</c>).</summary>
    Ignored,
    /// <summary>One of the five KVM tracepoints the importer understands.</summary>
    Event,
    /// <summary>A well-formed line of some other tracepoint (<c>kvm_exit</c>, <c>sched_switch</c>, ...).</summary>
    Unknown,
    /// <summary>A line cut short, two lines run together, or a known event whose fields do not parse.</summary>
    Torn,
}

internal sealed record TraceLineParse(TraceLineKind Kind, KvmTraceEvent? Event = null, string? EventName = null, string? Reason = null);

/// <summary>
/// Splits the text output of <c>trace-cmd report</c>, the ftrace <c>trace</c> file or <c>perf script</c> into events. A
/// line is <c>TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS</c> (perf script: <c>TASK TID [CPU] TIMESTAMP: EVENT: FIELDS</c>); the flags column (<c>d..1.</c>), a tgid column and the
/// whole task prefix are optional, since excerpts pasted into mails often lose them. The format is ASCII: a digit is
/// 0-9 (a regular expression's <c>\d</c> would take any Unicode digit, which no number parser reads).
/// </summary>
internal static partial class KvmTraceLineParser
{
    public const string ApicEvent = "kvm_apic";
    public const string MsrEvent = "kvm_msr";
    public const string IpiEventName = "kvm_apic_ipi";
    public const string AcceptEventName = "kvm_apic_accept_irq";
    public const string EoiEventName = "kvm_eoi";

    [GeneratedRegex(@"^\s*(?<task>\S[^\[\]]*?)-(?<pid>[0-9]+)\s+(?:\(\s*(?:[0-9]+|-+)\)\s+)?\[(?<cpu>[0-9]+)\]\s+(?:[A-Za-z.0-9]{4,5}\s+)?(?<ts>[0-9]+\.[0-9]+):\s*(?<rest>.*)$")]
    private static partial Regex WithTask();

    [GeneratedRegex(@"^\s*(?:\[[0-9]+\]\s+)?(?:[A-Za-z.0-9]{4,5}\s+)?(?:(?<ts>[0-9]+\.[0-9]+):\s+)?(?<rest>[a-z_][a-z0-9_]*:.*)$")]
    private static partial Regex WithoutTask();

    // The fields are taken whole and trimmed in code: a lazy (?<fields>.*?) before \s*$ backtracked over every blank of
    // the line at every position, which took time quadratic in the line's length.
    [GeneratedRegex(@"^(?:[a-z_][a-z0-9_]*:)?(?<event>[a-z_][a-z0-9_]*):(?:\s(?<fields>.*))?$")]
    private static partial Regex EventAndFields();

    [GeneratedRegex(@"^(?:version = [0-9]+|cpus=[0-9]+|CPU ?[0-9]+ is empty|CPU[0-9]+ data recorded at offset=.*)\s*$")]
    private static partial Regex Preamble();

    [GeneratedRegex(@"^apic_(?<rw>read|write)\s+(?<reg>\S+)\s+=\s+0x(?<val>[0-9a-fA-F]{1,8})$")]
    private static partial Regex ApicFields();

    [GeneratedRegex(@"^msr_(?<rw>read|write)\s+(?<msr>[0-9a-fA-F]{1,8})\s+=\s+0x(?<val>[0-9a-fA-F]{1,16})(?<gp>\s*\(#GP\))?$")]
    private static partial Regex MsrFields();

    [GeneratedRegex(@"^dst\s+(?<dst>[0-9a-fA-F]{1,8})\s+vec\s+(?<vec>[0-9]{1,3})\s+\((?<dm>[A-Za-z0-9]+)\|(?<dmode>logical|physical)\|(?<level>assert|de-assert)\|(?<trig>level|edge)\|(?<sh>dst|self|all|all-but-self)\)$")]
    private static partial Regex IpiFields();

    [GeneratedRegex(@"^apicid\s+(?<id>[0-9a-fA-F]{1,8})\s+vec\s+(?<vec>[0-9]{1,3})\s+\((?<dm>[A-Za-z0-9]+)\|(?<trig>level|edge)\)(?:\s*\(coalesced\))?$")]
    private static partial Regex AcceptFields();

    [GeneratedRegex(@"^apicid\s+(?<id>[0-9a-fA-F]{1,8})\s+vector\s+(?<vec>-1|[0-9]{1,3})$")]
    private static partial Regex EoiFields();

    public static TraceLineParse Parse(string text, int lineNumber)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed[0] == '#' || Preamble().IsMatch(trimmed))
        {
            return new TraceLineParse(TraceLineKind.Ignored);
        }

        string? task = null;
        int? pid = null;
        string? timestamp;
        string rest;
        var withTask = WithTask().Match(text);
        if (withTask.Success)
        {
            task = withTask.Groups["task"].Value.Trim();
            pid = int.TryParse(withTask.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null;
            timestamp = withTask.Groups["ts"].Value;
            rest = withTask.Groups["rest"].Value;
        }
        else if (TryPerfScript(text, out task, out pid, out timestamp, out rest))
        {
            // perf script's form: the task, its thread id and the CPU separated by blanks.
        }
        else
        {
            var withoutTask = WithoutTask().Match(text);
            if (!withoutTask.Success)
            {
                // (Tried last: a task named in hexadecimal digits could look like a frame's address.)
                return IsCallchainFrame(text, trimmed) ? new TraceLineParse(TraceLineKind.Ignored) : Torn("not a trace line (no EVENT: FIELDS part)");
            }
            timestamp = withoutTask.Groups["ts"].Success ? withoutTask.Groups["ts"].Value : null;
            rest = withoutTask.Groups["rest"].Value;
        }

        var eventMatch = EventAndFields().Match(rest);
        if (!eventMatch.Success)
        {
            return Torn("the event name is cut off");
        }
        var name = eventMatch.Groups["event"].Value;
        var fields = eventMatch.Groups["fields"].Value.Trim();
        var origin = new TraceOrigin(lineNumber, task, pid, timestamp);

        return name switch
        {
            ApicEvent => ParseApic(origin, fields),
            MsrEvent => ParseMsr(origin, fields),
            IpiEventName => ParseIpi(origin, fields),
            AcceptEventName => ParseAccept(origin, fields),
            EoiEventName => ParseEoi(origin, fields),
            _ => new TraceLineParse(TraceLineKind.Unknown, EventName: name),
        };
    }

    /// <summary>
    /// A line as <c>perf script</c> prints a tracepoint: <c>TASK TID [CPU] SECONDS.FRACTION: SYSTEM:EVENT: FIELDS</c>,
    /// the task right-aligned in 16 columns (a vCPU thread's name, <c>CPU 0/KVM</c>, has a blank in it), the thread id
    /// alone or as <c>PID/TID</c>, and the event name right-aligned to the longest one. Read by hand, in one pass: a
    /// regular expression with a lazy task followed by blanks and digits backtracks quadratically on long blank runs.
    /// </summary>
    private static bool TryPerfScript(string text, out string? task, out int? pid, out string? timestamp, out string rest)
    {
        task = null;
        pid = null;
        timestamp = null;
        rest = "";
        var open = text.IndexOf('[', StringComparison.Ordinal);
        var close = open < 0 ? -1 : text.IndexOf(']', open);
        if (close < 0 || !IsDigits(text.AsSpan(open + 1, close - open - 1)))
        {
            return false;
        }
        // Before the CPU: TASK, blanks, the thread id (or PID/TID), blanks.
        var head = text.AsSpan(0, open).TrimEnd();
        if (head.Length == open || head.Length == 0)
        {
            return false;
        }
        var idStart = head.LastIndexOfAny(' ', '\t') + 1;
        var id = head[idStart..];
        var slash = id.IndexOf('/');
        var thread = slash < 0 ? id : id[(slash + 1)..];
        if (!IsDigits(thread) || (slash >= 0 && !IsDigits(id[..slash])))
        {
            return false;
        }
        var name = head[..idStart].Trim();
        if (name.IsEmpty || name.IndexOfAny('[', ']') >= 0)
        {
            return false;
        }
        // After it: blanks, SECONDS.FRACTION, a colon, the event.
        var after = text.AsSpan(close + 1);
        var trimmed = after.TrimStart();
        if (trimmed.Length == after.Length)
        {
            return false;
        }
        var colon = trimmed.IndexOf(':');
        var dot = colon < 0 ? -1 : trimmed[..colon].IndexOf('.');
        if (dot <= 0 || !IsDigits(trimmed[..dot]) || !IsDigits(trimmed[(dot + 1)..colon]))
        {
            return false;
        }
        task = name.ToString();
        pid = int.TryParse(thread, NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
        timestamp = trimmed[..colon].ToString();
        rest = trimmed[(colon + 1)..].TrimStart().ToString();
        return true;
    }

    /// <summary>
    /// A frame of the callchain <c>perf script</c> prints under an event recorded with <c>-g</c>: indented, an address
    /// in hexadecimal, the symbol and the object in brackets (<c>ffffffff81060bd4 kvm_apic_send_ipi+0x2e ([kernel.kallsyms])</c>).
    /// </summary>
    private static bool IsCallchainFrame(string text, string trimmed)
    {
        var blank = trimmed.IndexOfAny([' ', '\t']);
        return text.Length > 0 && char.IsWhiteSpace(text[0])
            && blank > 0 && blank <= 16 && !trimmed.AsSpan(0, blank).ContainsAnyExcept("0123456789abcdef")
            && trimmed[^1] == ')' && trimmed.LastIndexOf('(') > blank;
    }

    /// <summary>One or more ASCII digits.</summary>
    private static bool IsDigits(ReadOnlySpan<char> text) => !text.IsEmpty && !text.ContainsAnyExceptInRange('0', '9');

    private static TraceLineParse ParseApic(TraceOrigin origin, string fields)
    {
        var m = ApicFields().Match(fields);
        if (!m.Success)
        {
            return Torn($"{ApicEvent} fields do not parse ('{Quote(fields)}')");
        }
        if (!KvmApicRegisterNames.TryParse(m.Groups["reg"].Value, out var offset))
        {
            return Torn($"{ApicEvent}: unknown register '{Quote(m.Groups["reg"].Value)}'");
        }
        var value = uint.Parse(m.Groups["val"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return Parsed(new ApicAccessEvent(origin, m.Groups["rw"].Value == "write", offset, value));
    }

    private static TraceLineParse ParseMsr(TraceOrigin origin, string fields)
    {
        var m = MsrFields().Match(fields);
        if (!m.Success)
        {
            return Torn($"{MsrEvent} fields do not parse ('{Quote(fields)}')");
        }
        var msr = uint.Parse(m.Groups["msr"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var value = ulong.Parse(m.Groups["val"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return Parsed(new MsrAccessEvent(origin, m.Groups["rw"].Value == "write", msr, value, m.Groups["gp"].Success));
    }

    private static TraceLineParse ParseIpi(TraceOrigin origin, string fields)
    {
        var m = IpiFields().Match(fields);
        if (!m.Success
            || !TryVector(m, out var vector)
            || !IcrFields.TryParseDeliveryMode(m.Groups["dm"].Value, out var mode)
            || !IcrFields.TryParseShorthand(m.Groups["sh"].Value, out var shorthand))
        {
            return Torn($"{IpiEventName} fields do not parse ('{Quote(fields)}')");
        }
        var low = vector | (mode << IcrFields.DeliveryModeShift) | (shorthand << IcrFields.ShorthandShift);
        if (m.Groups["dmode"].Value == "logical") low |= IcrFields.DestinationLogical;
        if (m.Groups["level"].Value == "assert") low |= IcrFields.LevelAssert;
        if (m.Groups["trig"].Value == "level") low |= IcrFields.TriggerLevel;
        var destination = uint.Parse(m.Groups["dst"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return Parsed(new IpiEvent(origin, low, destination));
    }

    private static TraceLineParse ParseAccept(TraceOrigin origin, string fields)
    {
        var m = AcceptFields().Match(fields);
        if (!m.Success || !TryVector(m, out var vector) || !IcrFields.TryParseDeliveryMode(m.Groups["dm"].Value, out var mode))
        {
            return Torn($"{AcceptEventName} fields do not parse ('{Quote(fields)}')");
        }
        var apicId = uint.Parse(m.Groups["id"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return Parsed(new AcceptEvent(origin, apicId, (byte)vector, mode, m.Groups["trig"].Value == "level"));
    }

    private static TraceLineParse ParseEoi(TraceOrigin origin, string fields)
    {
        var m = EoiFields().Match(fields);
        var vector = 0;
        if (!m.Success
            || !int.TryParse(m.Groups["vec"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out vector)
            || vector > IcrFields.VectorMask)
        {
            return Torn($"{EoiEventName} fields do not parse ('{Quote(fields)}')");
        }
        var apicId = uint.Parse(m.Groups["id"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return Parsed(new EoiEvent(origin, apicId, vector));
    }

    private static bool TryVector(Match m, out uint vector) =>
        uint.TryParse(m.Groups["vec"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out vector) && vector <= IcrFields.VectorMask;

    private static TraceLineParse Parsed(KvmTraceEvent e) => new(TraceLineKind.Event, e);

    private static TraceLineParse Torn(string reason) => new(TraceLineKind.Torn, Reason: reason);

    /// <summary>Input quoted in a reason: whole when short, else its start and its length, so that a reason stays one short line.</summary>
    private static string Quote(string text) => ScenarioException.Quote(text);
}
