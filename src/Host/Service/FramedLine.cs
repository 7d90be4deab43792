namespace VApicActors.Host.Service;

/// <summary>One line cut from a client's byte stream: its text, or why it cannot be a request.</summary>
/// <param name="Text">The line without its line end, when it is acceptable.</param>
/// <param name="Error">Why the line was refused (too long, not UTF-8, control characters).</param>
public readonly record struct FramedLine(string? Text, string? Error)
{
    public bool IsValid => Error is null;
}
