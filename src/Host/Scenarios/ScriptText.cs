namespace VApicActors.Host.Scenarios;

/// <summary>
/// The check that tells a text script from a binary file, on its lines as read (UTF-8, or UTF-16 or UTF-32 when a
/// byte-order mark says so; bytes that are not UTF-8 read as U+FFFD): NUL characters, or such bytes outside a comment.
/// </summary>
internal static class ScriptText
{
    /// <summary>
    /// The first line (from 1) that shows a script is not text, and the script error for it (<c>not a text script: it
    /// contains NUL bytes</c>, <c>not a text script: it is not UTF-8</c>); null for a text script. Bytes that are not
    /// UTF-8 (read as U+FFFD) count only before a line's comment: a comment written in another encoding (a Latin-1
    /// <c># café</c>) is still a comment, and the script runs as it always did.
    /// </summary>
    public static (int Line, string Reason)? FirstNotText(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Contains('\0', StringComparison.Ordinal))
            {
                return (i + 1, "not a text script: it contains NUL bytes");
            }
            var comment = line.IndexOf('#', StringComparison.Ordinal);
            if ((comment < 0 ? line : line[..comment]).Contains('\uFFFD', StringComparison.Ordinal))
            {
                return (i + 1, "not a text script: it is not UTF-8");
            }
        }
        return null;
    }
}
