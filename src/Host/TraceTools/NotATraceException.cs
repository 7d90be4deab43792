namespace VApicActors.Host.TraceTools;

/// <summary>
/// The input is not a message trace at all (a script, a binary file): its first lines are not trace events and no
/// event came before them. Reading stops there, with this one message instead of an error per line.
/// </summary>
/// <param name="file">The input as the user named it (<c>-</c> for standard input).</param>
/// <param name="reason">Why it is not taken for a trace.</param>
public sealed class NotATraceException(string file, string reason)
    : Exception($"{file} does not look like a message trace ({reason})")
{
    /// <summary>The input as the user named it.</summary>
    public string File { get; } = file;

    /// <summary>Why it is not taken for a trace.</summary>
    public string Reason { get; } = reason;
}
