using System.Globalization;

namespace VApicActors.Host.Stress;

/// <summary>Times written as a number and a unit: ns, us, ms, s, m, h (e.g. 250ms, 10us, 5s).</summary>
public static class StressDurations
{
    private static readonly (string Unit, long Ns)[] Units =
    [
        ("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ];

    public static bool TryParseNanoseconds(string text, out long nanoseconds)
    {
        nanoseconds = 0;
        text = text.Trim();
        // Longest unit names first, so that "ms" is not read as "m" + "s".
        foreach (var (unit, ns) in Units.OrderByDescending(u => u.Unit.Length))
        {
            if (text.EndsWith(unit, StringComparison.OrdinalIgnoreCase)
                && long.TryParse(text[..^unit.Length].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                if (count > long.MaxValue / ns)
                {
                    return false;
                }
                nanoseconds = count * ns;
                return true;
            }
        }
        return false;
    }

    public static string Format(long nanoseconds)
    {
        foreach (var (unit, ns) in Units.Reverse())
        {
            if (nanoseconds >= ns && nanoseconds % ns == 0)
            {
                return (nanoseconds / ns).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }
        return nanoseconds.ToString(CultureInfo.InvariantCulture) + "ns";
    }
}
