namespace VApicActors.Host.TraceTools;

/// <summary>
/// Turns the text output of <c>trace-cmd report</c> (or the ftrace <c>trace</c> file) for the KVM tracepoints
/// <c>kvm_apic</c>, <c>kvm_msr</c>, <c>kvm_apic_ipi</c>, <c>kvm_apic_accept_irq</c> and <c>kvm_eoi</c> into a
/// <c>.vapic</c> scenario: the guest's register accesses become commands, and what KVM did with them (IPIs sent,
/// interrupts accepted and ended, values read) becomes expectations, so running the scenario checks the simulator
/// against KVM.
/// </summary>
public static class KvmTraceImporter
{
    /// <summary>Imports a trace given as lines.</summary>
    /// <param name="lines">The trace text, one line per element.</param>
    /// <param name="defaultVcpu">The vCPU that lines without a task prefix belong to.</param>
    /// <param name="sourceName">The input's name, for the generated header; null to leave it out.</param>
    public static KvmTraceImportResult Import(IEnumerable<string> lines, int defaultVcpu = 0, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentOutOfRangeException.ThrowIfNegative(defaultVcpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(defaultVcpu, KvmTraceImportSession.MaxVcpus);
        return new KvmTraceImportSession(defaultVcpu, sourceName).Run(lines);
    }

    /// <summary>Imports a trace given as one text.</summary>
    public static KvmTraceImportResult Import(string text, int defaultVcpu = 0, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Import(text.ReplaceLineEndings("\n").Split('\n'), defaultVcpu, sourceName);
    }
}
