using System.Globalization;
using System.Text;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// Seeded, deterministic mutations of real input lines: truncation, dropped, duplicated and swapped tokens, flipped
/// digits, huge and negative numbers, odd whitespace, unicode, stray <c>#</c> and <c>-&gt;</c>, very long lines. The
/// same seed gives the same mutations on every machine.
/// </summary>
internal sealed class TextMutator(int seed)
{
    /// <summary>Tokens that sit at the edges of what the inputs accept.</summary>
    public static readonly string[] Nasty =
    [
        "18446744073709551616", "18446744073709551615", "9223372036854775807", "9223372036854775808", "-1", "-9223372036854775808",
        "0x" + new string('f', 40), "0x" + new string('0', 40) + "1", "0x", "0X", "0x_", "_1", "1_", "1__0", "0x1_", "00", "0",
        "4096", "4097", "255", "256", "0xff", "0xfe", "0xffffffff", "0x100000000", "1e3", "1.5", "+1", "NaN", "∞",
        "#GP", "#gp", "->", "-", ">", "#", "=", "==", ",", ",,", "/", "0x14/", "/0xff", "1/2/3", "none", "OK",
        "vcpus=", "=4", "vcpus=0", "vcpus=4096", "mode=", "apic-ids=", "apic-ids=,", "apic-ids=0,,1", "boot=", "timer-hz=0", "tsc-hz=1",
        "timer-hz=1000000000001", "\"", "'", "\\", "\0", "\u00a0", "\u200b", "\ufeff", "\u0660", "\uff10", "é", "İ", "ı", "𝟘",
        "\ud800", "\udc00", "null", "true", "{}", "[]", "{", "}", "[", "]", "\"\"",
    ];

    /// <summary>Bytes that are not UTF-8: a byte no UTF-8 text holds, an overlong encoding, an encoded lone surrogate.</summary>
    public static readonly byte[] NotUtf8 = [0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80];

    private static readonly string[] Whitespace = ["\t", "  ", "\t\t", " \t ", "\v", "\f", "\u00a0", "\u3000", "\r", "\u2028", "\u0085"];

    private readonly Random _random = new(seed);

    public int Next(int max) => _random.Next(max);

    public int Next(int min, int max) => _random.Next(min, max);

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>
    /// The mutations of a list of lines every input has: removes the line at <paramref name="at"/>, or inserts there a copy
    /// of a line picked from the list; returns what was done.
    /// </summary>
    public string RemoveOrRepeatLine(List<string> lines, int at, bool remove)
    {
        if (remove)
        {
            lines.RemoveAt(at);
            return $"line {at + 1} removed";
        }
        lines.Insert(at, lines[_random.Next(lines.Count)]);
        return $"a line repeated at {at + 1}";
    }

    public bool Chance(int percent) => _random.Next(100) < percent;

    /// <summary>A number at the edges of the 64-bit range, or just past them, in decimal or hexadecimal.</summary>
    public string HugeNumber() => _random.Next(8) switch
    {
        0 => "18446744073709551616",
        1 => "-1",
        2 => "0x" + new string('f', _random.Next(17, 41)),
        3 => "0x1" + new string('0', _random.Next(16, 40)),
        4 => new string('9', _random.Next(20, 60)),
        5 => "9223372036854775808",
        6 => "0x" + new string('0', _random.Next(1, 40)) + "1",
        _ => "-" + new string('9', _random.Next(1, 25)),
    };

    /// <summary>A number of a million digits or more, decimal or <c>0x</c> hexadecimal, or the same with a minus sign.</summary>
    public string MillionDigits() => (Chance(20) ? "-" : "") + (Chance(50) ? "0x" : "") + "1" + new string(Pick(['0', '9', 'f']), 1_000_000 + _random.Next(10));

    /// <summary><paramref name="count"/> random bytes: a binary file.</summary>
    public byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>One mutation of <paramref name="line"/>; <paramref name="donors"/> are other lines of the same input.</summary>
    public string Mutate(string line, IReadOnlyList<string> donors)
    {
        var tokens = Tokens(line);
        switch (_random.Next(16))
        {
            case 0:
                return line.Length == 0 ? line : line[.._random.Next(line.Length)];
            case 1 when tokens.Count > 0:
                tokens.RemoveAt(_random.Next(tokens.Count));
                return string.Join(' ', tokens);
            case 2 when tokens.Count > 0:
                var i = _random.Next(tokens.Count);
                tokens.Insert(i, tokens[i]);
                return string.Join(' ', tokens);
            case 3 when tokens.Count > 0 && donors.Count > 0:
                var donor = Tokens(Pick(donors));
                if (donor.Count == 0)
                {
                    goto default;
                }
                tokens[_random.Next(tokens.Count)] = Pick(donor);
                return string.Join(' ', tokens);
            case 4:
                return FlipDigit(line);
            case 5 when tokens.Count > 0:
                tokens[_random.Next(tokens.Count)] = Pick(Nasty);
                return string.Join(' ', tokens);
            case 6:
                tokens.Insert(_random.Next(tokens.Count + 1), Pick(Nasty));
                return string.Join(' ', tokens);
            case 7 when tokens.Count > 0:
                tokens[_random.Next(tokens.Count)] = HugeNumber();
                return string.Join(' ', tokens);
            case 8:
                return string.Join(Pick(Whitespace), tokens) + (Chance(30) ? Pick(Whitespace) : "");
            case 9:
                return Insert(line, Pick(["é", "\u0660", "\uff11", "\u200b", "\ud83d\ude00", "\ud800", "İ", "\u0301", "\0", "\u001b[31m"]));
            case 10:
                return tokens.Contains("->") ? string.Join(' ', tokens.TakeWhile(t => t != "->")) + " ->" : line + " ->" + (Chance(50) ? " # comment" : "");
            case 11:
                return Insert(line, Chance(50) ? "#" : "# stray");
            case 12:
                return LongLine(line, tokens);
            case 13:
                return Insert(line, ((char)_random.Next(0x20, 0x7f)).ToString());
            case 14 when line.Length > 0:
                return line.Remove(_random.Next(line.Length), 1);
            case 15 when tokens.Count > 1:
                var a = _random.Next(tokens.Count);
                var b = _random.Next(tokens.Count);
                (tokens[a], tokens[b]) = (tokens[b], tokens[a]);
                return string.Join(' ', tokens);
            default:
                return Insert(line, Pick(Nasty));
        }
    }

    /// <summary>A line far longer than any real one: a long token, a token repeated, or a number of many digits.</summary>
    public string LongLine(string line, List<string> tokens) => _random.Next(5) switch
    {
        0 => line + " " + string.Join(' ', Enumerable.Repeat(tokens.Count > 0 ? Pick(tokens) : "x", _random.Next(1_000, 20_000))),
        1 => ReplaceToken(tokens, "0x" + new string('0', _random.Next(10_000, 200_000)) + "1"),
        2 => ReplaceToken(tokens, new string('1', _random.Next(10_000, 200_000))),
        _ => line + new string(Pick(['a', '#', '-', '>', ' ', '\t', '=', ',']), _random.Next(10_000, 200_000)),
    };

    /// <summary><paramref name="line"/> with one token made millions of characters long: more than a thread's stack holds.</summary>
    public string HugeToken(string line)
    {
        var huge = (Chance(50) ? "0x" : "") + new string(Pick(['0', '1', 'f']), _random.Next(4_500_000, 5_000_000));
        return ReplaceToken(Tokens(line), huge);
    }

    private string ReplaceToken(List<string> tokens, string replacement)
    {
        if (tokens.Count == 0)
        {
            return replacement;
        }
        tokens[_random.Next(tokens.Count)] = replacement;
        return string.Join(' ', tokens);
    }

    private string FlipDigit(string line)
    {
        var digits = Enumerable.Range(0, line.Length).Where(i => char.IsAsciiHexDigit(line[i])).ToList();
        if (digits.Count == 0)
        {
            return Insert(line, _random.Next(10).ToString(CultureInfo.InvariantCulture));
        }
        var at = Pick(digits);
        var sb = new StringBuilder(line);
        sb[at] = "0123456789abcdefABCDEFgxX_"[_random.Next(26)];
        return sb.ToString();
    }

    private string Insert(string line, string text)
    {
        var at = _random.Next(line.Length + 1);
        return line[..at] + text + line[at..];
    }

    private static List<string> Tokens(string line) =>
        [.. line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)];
}
