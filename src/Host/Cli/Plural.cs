using System.Globalization;

namespace VApicActors.Host.Cli;

/// <summary>A count with its noun, singular for one: <c>1 line</c>, <c>2 lines</c>, <c>1 delivery</c>, <c>0 deliveries</c>.</summary>
public static class Plural
{
    /// <summary>
    /// <paramref name="n"/> (written with <paramref name="format"/>, invariant culture) and <paramref name="one"/> when it
    /// is 1, else <paramref name="many"/> (<paramref name="one"/> with an <c>s</c> when not given).
    /// </summary>
    public static string Count(long n, string one, string? many = null, string? format = null) =>
        n.ToString(format, CultureInfo.InvariantCulture) + " " + Noun(n, one, many);

    /// <summary>The noun alone, for a count written elsewhere.</summary>
    public static string Noun(long n, string one, string? many = null) => n == 1 ? one : many ?? one + "s";
}
