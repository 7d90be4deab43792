namespace VApicActors.Host.Tests.TraceTools;

/// <summary>The command lines of a generated script, without comments or surrounding blanks.</summary>
internal static class ScriptLines
{
    public static IReadOnlyList<string> Commands(string script) =>
        script.Split('\n')
            .Select(StripComment)
            .Where(l => l.Length > 0)
            .ToList();

    /// <summary>Asserts that <paramref name="expected"/> appear one right after the other somewhere in the commands.</summary>
    public static void ContainsRun(IReadOnlyList<string> commands, params string[] expected)
    {
        for (var start = 0; start + expected.Length <= commands.Count; start++)
        {
            if (commands.Skip(start).Take(expected.Length).SequenceEqual(expected))
            {
                return;
            }
        }
        Xunit.Assert.Fail($"commands do not contain, in a row:\n  {string.Join("\n  ", expected)}\nscript:\n  {string.Join("\n  ", commands)}");
    }

    /// <summary>The comment text of the line whose command is <paramref name="command"/>.</summary>
    public static string CommentOf(string script, string command) =>
        script.Split('\n').Single(l => StripComment(l) == command) is var line && line.IndexOf(" # ", StringComparison.Ordinal) is var i and >= 0
            ? line[(i + 3)..]
            : string.Empty;

    private static string StripComment(string line)
    {
        var arrow = line.IndexOf("-> #GP", StringComparison.Ordinal);
        var searchFrom = arrow >= 0 ? arrow + "-> #GP".Length : 0;
        var hash = line.IndexOf('#', searchFrom);
        return (hash >= 0 ? line[..hash] : line).Trim();
    }
}
