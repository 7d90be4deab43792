namespace VApicActors.Host.TraceTools;

/// <summary>
/// One event of a Chrome trace-event file before it is written: the phase (<c>X</c> complete slice, <c>i</c>
/// instant, <c>s</c>/<c>f</c> flow ends, <c>M</c> metadata), where it goes (process = VM, thread = APIC) and
/// when, in virtual nanoseconds. <see cref="Line"/> (the trace line the event comes from) and
/// <see cref="Part"/> keep the trace's own order among events at one time.
/// </summary>
internal sealed record ChromeTraceEvent(
    char Phase,
    string Name,
    string Category,
    long TimeNs,
    int Pid,
    int Tid,
    int Line,
    int Part,
    long? DurationNs = null,
    long? FlowId = null,
    IReadOnlyList<KeyValuePair<string, object>>? Args = null);
