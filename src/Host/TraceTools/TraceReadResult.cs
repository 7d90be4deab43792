namespace VApicActors.Host.TraceTools;

/// <summary>A trace file read back: its events in file order, and the lines that were not events.</summary>
public sealed record TraceReadResult(IReadOnlyList<TraceRecord> Events, IReadOnlyList<TraceReadError> Errors);
