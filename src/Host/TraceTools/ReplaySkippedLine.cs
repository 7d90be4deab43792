namespace VApicActors.Host.TraceTools;

/// <summary>A trace event the replay could not use: read as an event, but what it says no APIC can be.</summary>
/// <param name="LineNumber">1-based line of the trace file.</param>
/// <param name="Reason">What is wrong with it.</param>
public sealed record ReplaySkippedLine(int LineNumber, string Reason);
