using Serilog.Events;
using Serilog.Expressions;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Tracing;

/// <summary>Compiles <c>--trace-filter</c> expressions (Serilog.Expressions) into event predicates.</summary>
public static class TraceFilter
{
    /// <summary>Words of the expression language that are not property names.</summary>
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "not", "like", "in", "is", "null", "true", "false", "ci", "if", "then", "else",
    };

    /// <summary>
    /// Compiles an expression such as <c>ApicId = 1 and Vector = 0x41</c>. An empty expression accepts
    /// everything (<paramref name="filter"/> is null). Never throws: a bad expression gives its error.
    /// <para>
    /// Every trace event has the same properties (<see cref="SerilogTraceSink.PropertyNames"/>), so a name that is
    /// none of them is a slip (<c>EventName</c> for <c>Event</c>, <c>Apicid</c> for <c>ApicId</c>): Serilog would
    /// take it for a property that is never there and the filter would keep nothing, or everything, without a word.
    /// It is refused instead, with the nearest names.
    /// </para>
    /// </summary>
    public static bool TryCompile(string? expression, out Func<LogEvent, bool>? filter, out string? error)
    {
        filter = null;
        error = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            return true;
        }

        try
        {
            if (!SerilogExpression.TryCompile(expression, out var compiled, out error))
            {
                return false;
            }
            if (UnknownProperty(expression) is { } unknown)
            {
                error = $"no trace event has a property '{unknown}'{Suggestions.Hint(unknown, SerilogTraceSink.PropertyNames)}; " +
                        $"they have {string.Join(", ", SerilogTraceSink.PropertyNames)}";
                return false;
            }
            filter = e => ExpressionResult.IsTrue(compiled(e));
            return true;
        }
        catch (Exception e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The first name in <paramref name="expression"/> (one that compiles) that stands for a property but is none of
    /// the trace's, or null. Skipped: string literals, numbers, built-ins (<c>@t</c>), names after a dot (parts of a
    /// property), function names (followed by a parenthesis) and the language's keywords.
    /// </summary>
    private static string? UnknownProperty(string expression)
    {
        var i = 0;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (c == '\'')
            {
                // A string literal; '' inside it is a quote.
                i++;
                while (i < expression.Length && !(expression[i] == '\'' && (i + 1 >= expression.Length || expression[i + 1] != '\'')))
                {
                    i += expression[i] == '\'' ? 2 : 1;
                }
                i++;
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] is '_' or '.'))
                {
                    i++;
                }
                continue;
            }
            if (!char.IsAsciiLetter(c) && c != '_')
            {
                i++;
                continue;
            }
            var start = i;
            while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '_'))
            {
                i++;
            }
            var word = expression[start..i];
            var before = start > 0 ? expression[start - 1] : ' ';
            var after = i;
            while (after < expression.Length && char.IsWhiteSpace(expression[after]))
            {
                after++;
            }
            var isFunction = after < expression.Length && expression[after] == '(';
            if (before is '@' or '.' || isFunction || Keywords.Contains(word) || SerilogTraceSink.PropertyNames.Contains(word))
            {
                continue;
            }
            return word;
        }
        return null;
    }
}
