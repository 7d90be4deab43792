using System.Collections.Immutable;
using System.Text.Json;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// One event of a message trace read back from compact JSON (CLEF): the fixed trace properties, typed, plus
/// every property of the line as it was written (for filters that name properties this type does not know).
/// </summary>
/// <param name="LineNumber">1-based line of the trace file.</param>
/// <param name="Timestamp">The wall-clock time Serilog stamped (<c>@t</c>), if present.</param>
/// <param name="MessageTemplate">The message template (<c>@mt</c>) or, when only that is present, the rendered message (<c>@m</c>).</param>
/// <param name="Vm">The VM's name.</param>
/// <param name="ApicId">The APIC's initial APIC ID: the trace names an APIC by it for its whole life.</param>
/// <param name="Seq">The event's number among this APIC's events, from 1.</param>
/// <param name="Event">What happened (<c>MmioWrite</c>, <c>Accepted</c>, <c>IpiSent</c>, …).</param>
/// <param name="VirtualTimeNs">The VM's virtual time of the event.</param>
/// <param name="Register">The register the event concerns.</param>
/// <param name="Value">The value written or read, a message packed as an MSI data word, a deadline, ….</param>
/// <param name="Vector">The interrupt vector.</param>
/// <param name="Source">The sending APIC's ID (as it was when it sent).</param>
/// <param name="Destination">An IPI's destination as text.</param>
/// <param name="Detail">Free-form detail (<c>KEY=VALUE</c> pairs for accesses).</param>
/// <param name="SourceSeq">For a delivered IPI, the <c>Seq</c> of the sender's <c>IpiSent</c> event.</param>
/// <param name="Properties">Every non-<c>@</c> property of the line.</param>
public sealed record TraceRecord(
    int LineNumber,
    DateTimeOffset? Timestamp,
    string? MessageTemplate,
    string Vm,
    uint ApicId,
    long Seq,
    string Event,
    long VirtualTimeNs,
    string? Register,
    ulong? Value,
    int? Vector,
    uint? Source,
    string? Destination,
    string? Detail,
    long? SourceSeq,
    ImmutableDictionary<string, JsonElement> Properties);
