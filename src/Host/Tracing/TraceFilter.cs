using Serilog.Events;
using Serilog.Expressions;

namespace VApicActors.Host.Tracing;

/// <summary>Compiles <c>--trace-filter</c> expressions (Serilog.Expressions) into event predicates.</summary>
public static class TraceFilter
{
    /// <summary>
    /// Compiles an expression such as <c>ApicId = 1 and Vector = 0x41</c>. An empty expression accepts
    /// everything (<paramref name="filter"/> is null). Never throws: a bad expression gives its error.
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
            filter = e => ExpressionResult.IsTrue(compiled(e));
            return true;
        }
        catch (Exception e)
        {
            error = e.Message;
            return false;
        }
    }
}
