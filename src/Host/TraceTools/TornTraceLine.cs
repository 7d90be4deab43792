namespace VApicActors.Host.TraceTools;

/// <summary>An input line that could not be read as a trace event; the rest of the input is still imported.</summary>
/// <param name="LineNumber">1-based line number in the input.</param>
/// <param name="Reason">What is wrong with it.</param>
public sealed record TornTraceLine(int LineNumber, string Reason);
