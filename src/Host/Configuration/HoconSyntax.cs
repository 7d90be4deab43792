namespace VApicActors.Host.Configuration;

/// <summary>
/// The structural checks Akka's HOCON parser leaves out: it accepts an unclosed <c>{</c> or <c>[</c>, a stray closing
/// one, an unterminated string and a key with nothing after its <c>=</c> or <c>:</c>, and uses whatever it read up to
/// there; and what it cannot read at all: values nested thousands deep (its stack runs out) and an optional
/// substitution in a list (it never finishes). Strings and comments are skipped as HOCON
/// has them (<c>"..."</c> with backslash escapes on one line, <c>"""..."""</c> over several, <c>#</c> and <c>//</c> to
/// the end of the line).
/// </summary>
public static partial class HoconSyntax
{
    /// <summary>The deepest a value may be nested, in braces and brackets or in the parts of a dotted key: far beyond any real setting.</summary>
    public const int MaxDepth = 64;

    /// <summary>Null when braces, brackets and quotes are balanced and every separator has a value; otherwise what is wrong and on which line.</summary>
    public static string? Check(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        var i = 0;
        var dots = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                // A dotted key nests as braces do, a level per part, and Akka's parser reads each by a call of its own.
                if (++dots == MaxDepth)
                {
                    return $"the key on line {line} has more than {MaxDepth} parts: values nested more than {MaxDepth} deep are not read";
                }
            }
            else if (c is not '"' and not '_' and not '-' && !char.IsLetterOrDigit(c))
            {
                dots = 0;
            }

            if (c == '\n')
            {
                line++;
                i++;
            }
            else if (string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0)
            {
                var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                if (end < 0)
                {
                    return $"the \"\"\" string that starts on line {line} is never closed";
                }
                line += text.AsSpan(i, end - i).Count('\n');
                i = end + 3;
                while (i < text.Length && text[i] == '"')
                {
                    i++; // """ may end with more quotes, which belong to the string
                }
            }
            else if (c == '"')
            {
                i++;
                while (i < text.Length && text[i] != '"' && text[i] != '\n')
                {
                    i += text[i] == '\\' ? 2 : 1;
                }
                if (i >= text.Length || text[i] != '"')
                {
                    return $"the string that starts on line {line} is not closed on that line";
                }
                i++;
            }
            else if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c is '=' or ':' && NothingFollows(text, i + 1) && NoValueBelow(text, i + 1))
            {
                // Akka's parser would take the next line's key, or an empty list, as the value.
                return $"the '{c}' on line {line} has no value after it";
            }
            else if (c == '$' && string.CompareOrdinal(text, i + 1, "{?", 0, 2) == 0 && open.Any(o => o.Bracket == '['))
            {
                // Akka's parser never finishes reading a list that holds an optional substitution.
                return $"the optional substitution on line {line} stands in a list, where it is not read: write ${{...}} or the value itself";
            }
            else if (c is '{' or '[')
            {
                if (open.Count == MaxDepth)
                {
                    // Akka's parser reads each level by a call of its own: a few thousand levels exhaust the thread's stack.
                    return $"the '{c}' on line {line} opens level {MaxDepth + 1}: values nested more than {MaxDepth} deep are not read";
                }
                open.Push((c, line));
                i++;
            }
            else if (c is '}' or ']')
            {
                if (open.Count == 0)
                {
                    return $"'{c}' on line {line} closes nothing";
                }
                var (bracket, openedOn) = open.Pop();
                if ((bracket == '{') != (c == '}'))
                {
                    return $"'{c}' on line {line} does not close the '{bracket}' of line {openedOn}";
                }
                i++;
            }
            else
            {
                i++;
            }
        }
        if (open.Count > 0)
        {
            var (bracket, openedOn) = open.Peek();
            return $"the '{bracket}' of line {openedOn} is never closed";
        }
        return null;
    }

    /// <summary>
    /// For a separator with nothing after it on its line: whether the value is missing below too, that is the next line
    /// that is not blank or a comment is the end of the text, closes an object, or starts another key's setting. A value
    /// may stand on the next line (<c>a =</c> then <c>{</c>, <c>[1, 2]</c> or <c>5</c>), which Akka reads as the value.
    /// </summary>
    private static bool NoValueBelow(string text, int i)
    {
        var lines = text[i..].Split('\n');
        foreach (var raw in lines.Skip(1))
        {
            var next = raw.Trim();
            if (next.Length == 0 || next.StartsWith('#') || next.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }
            return next.StartsWith('}') || NextKey().IsMatch(next);
        }
        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(""[^""]*""|[A-Za-z0-9_.-])+\s*(=|:|\+=|\{)")]
    private static partial System.Text.RegularExpressions.Regex NextKey();

    /// <summary>Whether only blanks, then the end of the line, a comment or the end of the text follow.</summary>
    private static bool NothingFollows(string text, int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t' or '\r')
        {
            i++;
        }
        return i >= text.Length || text[i] is '\n' or '#' || string.CompareOrdinal(text, i, "//", 0, 2) == 0;
    }
}
