namespace VApicActors.Host.Scenarios;

/// <summary>One script line split into its command tokens and, after <c>-&gt;</c>, its expected-result tokens.</summary>
/// <param name="Command">The verb and its arguments; empty for a blank or comment-only line.</param>
/// <param name="Expected">The tokens after <c>-&gt;</c>, or null when the line has no expectation.</param>
public sealed record ScenarioLine(IReadOnlyList<string> Command, IReadOnlyList<string>? Expected)
{
    public bool IsEmpty => Command.Count == 0 && Expected is null;

    public const string Arrow = "->";

    /// <summary>
    /// Splits a line. Tokens are separated by spaces or tabs; <c>#</c> starts a comment, except the word
    /// <c>#GP</c> (any case) right after <c>-&gt;</c>, which is an expected result.
    /// </summary>
    public static ScenarioLine Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var tokens = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                i++;
                continue;
            }
            if (c == '#')
            {
                if (tokens.Count > 0 && tokens[^1] == Arrow && IsGpWord(line, i))
                {
                    tokens.Add(line.Substring(i, 3));
                    i += 3;
                    continue;
                }
                break;
            }
            if (c == '-' && i + 1 < line.Length && line[i + 1] == '>')
            {
                tokens.Add(Arrow);
                i += 2;
                continue;
            }

            var start = i;
            while (i < line.Length && line[i] is not (' ' or '\t' or '\r' or '\n' or '#') && !(line[i] == '-' && i + 1 < line.Length && line[i + 1] == '>'))
            {
                i++;
            }
            tokens.Add(line[start..i]);
        }

        var arrow = tokens.IndexOf(Arrow);
        if (arrow < 0)
        {
            return new ScenarioLine(tokens, null);
        }
        if (tokens.LastIndexOf(Arrow) != arrow)
        {
            throw new ScenarioException("more than one '->' on the line");
        }
        if (arrow == 0)
        {
            throw new ScenarioException("'->' without a command before it");
        }
        var expected = tokens.GetRange(arrow + 1, tokens.Count - arrow - 1);
        if (expected.Count == 0)
        {
            throw new ScenarioException("'->' without an expected result after it");
        }
        return new ScenarioLine(tokens.GetRange(0, arrow), expected);
    }

    private static bool IsGpWord(string line, int i) =>
        i + 3 <= line.Length
        && line.AsSpan(i, 3).Equals("#GP", StringComparison.OrdinalIgnoreCase)
        && (i + 3 == line.Length || line[i + 3] is ' ' or '\t' or '\r' or '\n' or '#');
}
