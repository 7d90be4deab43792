namespace VApicActors.Actors;

/// <summary>
/// Where the message trace goes: one event per message that changes APIC state. Implementations must be
/// thread-safe (every vAPIC actor writes to it) and cheap when disabled.
/// </summary>
public interface ITraceSink
{
    bool Enabled { get; }
    void Write(in TraceEvent traceEvent);
}

/// <summary>
/// One trace event. Property names are the trace's contract: <c>Vm</c>, <c>ApicId</c>, <c>Event</c>,
/// <c>Register</c>, <c>Value</c>, <c>Vector</c>, <c>Source</c>, <c>Destination</c>, <c>VirtualTimeNs</c>, <c>Seq</c>,
/// <c>Detail</c>, and <c>SourceSeq</c>: on an IPI's delivery, the <c>Seq</c> of the sender's <c>IpiSent</c> event.
/// </summary>
public readonly record struct TraceEvent(
    string Vm,
    uint ApicId,
    long Seq,
    string Event,
    long VirtualTimeNs,
    string? Register = null,
    ulong? Value = null,
    int? Vector = null,
    uint? Source = null,
    string? Destination = null,
    string? Detail = null,
    long? SourceSeq = null);
