namespace VApicActors.Host.TraceTools;

/// <summary>
/// One event of a Chrome trace-event file before it is written: the phase (<c>X</c> complete slice, <c>i</c>
/// instant, <c>s</c>/<c>f</c> flow ends), where it goes (<see cref="Track"/>: the APIC, numbered in the order the
/// APICs first appear; its process and thread ids are given when the trace has been read) and when, in virtual
/// nanoseconds. <see cref="Line"/> (the trace line the event comes from), <see cref="Part"/> and, for the arrows of
/// one send, <see cref="FlowId"/> keep the trace's own order among events at one time.
/// </summary>
internal sealed record ChromeTraceEvent(
    char Phase,
    string Name,
    string Category,
    long TimeNs,
    int Track,
    int Line,
    int Part,
    long? DurationNs = null,
    long? FlowId = null,
    IReadOnlyList<KeyValuePair<string, object>>? Args = null);
