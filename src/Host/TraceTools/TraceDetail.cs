using System.Globalization;

namespace VApicActors.Host.TraceTools;

/// <summary>Reads the <c>KEY=VALUE</c> pairs of an event's <c>Detail</c> (<c>addr=0xFEE00300 size=4 result=0x0</c>).</summary>
public static class TraceDetail
{
    /// <summary>The text after <c>KEY=</c>, up to the next space, or null.</summary>
    public static string? Get(string? detail, string key)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return null;
        }
        foreach (var part in detail.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Length > key.Length && part[key.Length] == '=' && part.StartsWith(key, StringComparison.Ordinal))
            {
                return part[(key.Length + 1)..];
            }
        }
        return null;
    }

    /// <summary>The first word of a detail, up to the first space (<c>Coalesced expiries=3</c> is <c>Coalesced</c>).</summary>
    public static string FirstWord(string detail)
    {
        ArgumentNullException.ThrowIfNull(detail);
        var space = detail.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? detail : detail[..space];
    }

    /// <summary>The number after <c>KEY=</c> (decimal, or hexadecimal with <c>0x</c>), or null when absent or not a number.</summary>
    public static ulong? Number(string? detail, string key)
    {
        var text = Get(detail, key);
        if (text is null)
        {
            return null;
        }
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) ? hex : null;
        }
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var dec) ? dec : null;
    }
}
