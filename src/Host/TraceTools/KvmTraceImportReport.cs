namespace VApicActors.Host.TraceTools;

/// <summary>What an import read, wrote and left out.</summary>
/// <param name="EventsRead">Lines read as one of the five KVM tracepoints the importer understands.</param>
/// <param name="CommandsWritten">Command lines in the script (every non-comment line, expectations included).</param>
/// <param name="ExpectationsWritten">Lines of the script that end in <c>-&gt; EXPECTED</c>.</param>
/// <param name="UnknownEvents">Well-formed lines of other tracepoints, skipped, counted by event name.</param>
/// <param name="TornLines">Lines that are not readable trace events, with their line numbers.</param>
/// <param name="DuplicatesMerged"><c>kvm_apic</c> lines merged into the <c>kvm_msr</c> line of the same x2APIC access.</param>
/// <param name="OtherMsrAccesses"><c>kvm_msr</c> lines for MSRs outside the APIC (skipped).</param>
/// <param name="VcpuCount">vCPUs of the generated VM.</param>
/// <param name="X2Apic">Whether the generated VM starts in x2APIC mode.</param>
/// <param name="Notes">Lines the importer replayed without a check, or could not replay, and why.</param>
public sealed record KvmTraceImportReport(
    int EventsRead,
    int CommandsWritten,
    int ExpectationsWritten,
    IReadOnlyDictionary<string, int> UnknownEvents,
    IReadOnlyList<TornTraceLine> TornLines,
    int DuplicatesMerged,
    int OtherMsrAccesses,
    int VcpuCount,
    bool X2Apic,
    IReadOnlyList<string> Notes)
{
    /// <summary>All unknown event lines skipped, whatever their name.</summary>
    public int UnknownEventsSkipped => UnknownEvents.Values.Sum();
}
