namespace VApicActors.Host.TraceTools;

/// <summary>The APICs a replay rebuilt, in VM order then by APIC ID.</summary>
public sealed record ReplayResult(IReadOnlyList<ReplayedApic> Apics);
