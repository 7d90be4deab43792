namespace VApicActors.Host.Scenarios;

/// <summary>
/// Numbers as scripts and configuration write them: decimal (<c>65</c>) or hexadecimal (<c>0x41</c>, any case),
/// with <c>_</c> allowed between digits (<c>0x0000_0001_0000_4055</c>). Unsigned, at most 64 bits.
/// </summary>
public static class NumberSyntax
{
    /// <summary>True when the token is meant as a number (it starts with a digit), valid or not.</summary>
    public static bool LooksNumeric(string token) => token.Length > 0 && char.IsAsciiDigit(token[0]);

    /// <summary>
    /// Reads the number digit by digit, in constant memory whatever the token's length (a script line may be megabytes
    /// long). False for anything but a valid number that fits in 64 bits.
    /// </summary>
    public static bool TryParse(string token, out ulong value)
    {
        value = 0;
        var hex = token.Length > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X');
        var digits = hex ? token.AsSpan(2) : token.AsSpan();
        if (digits.IsEmpty || digits[0] == '_' || digits[^1] == '_')
        {
            return false;
        }

        var radix = hex ? 16UL : 10UL;
        ulong result = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var c = digits[i];
            if (c == '_')
            {
                if (digits[i - 1] == '_') return false;
                continue;
            }
            int digit;
            if (char.IsAsciiDigit(c))
            {
                digit = c - '0';
            }
            else if (hex && char.IsAsciiHexDigit(c))
            {
                digit = (c | 0x20) - 'a' + 10;
            }
            else
            {
                return false;
            }
            if (result > (ulong.MaxValue - (ulong)digit) / radix)
            {
                return false;
            }
            result = result * radix + (ulong)digit;
        }
        value = result;
        return true;
    }
}
