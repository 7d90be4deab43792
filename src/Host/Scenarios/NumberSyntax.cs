using System.Globalization;

namespace VApicActors.Host.Scenarios;

/// <summary>
/// Numbers as scripts and configuration write them: decimal (<c>65</c>) or hexadecimal (<c>0x41</c>, any case),
/// with <c>_</c> allowed between digits (<c>0x0000_0001_0000_4055</c>). Unsigned, at most 64 bits.
/// </summary>
public static class NumberSyntax
{
    /// <summary>True when the token is meant as a number (it starts with a digit), valid or not.</summary>
    public static bool LooksNumeric(string token) => token.Length > 0 && char.IsAsciiDigit(token[0]);

    public static bool TryParse(string token, out ulong value)
    {
        value = 0;
        var hex = token.Length > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X');
        var digits = hex ? token.AsSpan(2) : token.AsSpan();
        if (digits.IsEmpty || digits[0] == '_' || digits[^1] == '_')
        {
            return false;
        }

        Span<char> clean = stackalloc char[digits.Length];
        var length = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var c = digits[i];
            if (c == '_')
            {
                if (digits[i - 1] == '_') return false;
                continue;
            }
            var ok = hex ? char.IsAsciiHexDigit(c) : char.IsAsciiDigit(c);
            if (!ok) return false;
            clean[length++] = c;
        }

        return hex
            ? ulong.TryParse(clean[..length], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(clean[..length], NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
