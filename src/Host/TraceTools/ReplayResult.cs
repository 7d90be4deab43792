namespace VApicActors.Host.TraceTools;

/// <summary>The APICs a replay rebuilt, in VM order then by APIC ID, and the events it had to skip, in line order.</summary>
public sealed record ReplayResult(IReadOnlyList<ReplayedApic> Apics, IReadOnlyList<ReplaySkippedLine> SkippedLines);
