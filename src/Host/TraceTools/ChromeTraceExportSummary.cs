namespace VApicActors.Host.TraceTools;

/// <summary>What a timeline export wrote.</summary>
/// <param name="TraceEvents">Trace events read.</param>
/// <param name="Apics">Threads (one per APIC) over all VMs.</param>
/// <param name="InterruptSlices">Acknowledge-to-EOI slices.</param>
/// <param name="OpenAtEnd">Of those, interrupts still in service when the trace ends (their slice ends with the APIC's last event).</param>
/// <param name="Flows">IPI arrows from a send to a destination that took it.</param>
/// <param name="UnlinkedDeliveries">IPI deliveries whose send is not in the trace.</param>
/// <param name="ChromeEvents">Events written to the file, metadata included.</param>
public sealed record ChromeTraceExportSummary(
    int TraceEvents,
    int Apics,
    int InterruptSlices,
    int OpenAtEnd,
    int Flows,
    int UnlinkedDeliveries,
    int ChromeEvents);
