namespace VApicActors.Host.TraceTools;

/// <summary>A trace line that could not be read as an event; the lines after it are still read.</summary>
/// <param name="File">The trace file as the user named it.</param>
/// <param name="LineNumber">1-based line number.</param>
/// <param name="Reason">What is wrong with the line.</param>
public sealed record TraceReadError(string File, int LineNumber, string Reason)
{
    /// <summary><c>FILE:LINE: error: REASON</c>, the way compilers and the scenario runner name a line.</summary>
    public override string ToString() => $"{File}:{LineNumber}: error: {Reason}";
}
