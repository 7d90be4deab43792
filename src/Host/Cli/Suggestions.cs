namespace VApicActors.Host.Cli;

/// <summary>
/// The known words a mistyped one was probably meant to be, for "did you mean" hints: <c>rdmr</c> → <c>rdmsr</c>,
/// <c>simulaton</c> → <c>simulation</c>, <c>read</c> → <c>readb</c>, <c>readw</c>, <c>readl</c>, <c>readq</c>.
/// </summary>
public static class Suggestions
{
    /// <summary>
    /// The <paramref name="known"/> words nearest to <paramref name="given"/> (fewest single-character insertions,
    /// deletions, substitutions or swaps of neighbours, letter case ignored), in the order given, if they are near
    /// enough to be a slip of the keyboard: one edit for words of three or four characters, two up to eight, three
    /// beyond (a word that differs only in case is nearest of all). Empty when none is, or when <paramref name="given"/>
    /// is itself known.
    /// </summary>
    public static IReadOnlyList<string> Nearest(string given, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(given);
        ArgumentNullException.ThrowIfNull(known);
        var limit = given.Length switch { <= 2 => 0, <= 4 => 1, <= 8 => 2, _ => 3 };
        var best = limit; // the farthest a word may be and still be named
        var nearest = new List<string>();
        foreach (var word in known)
        {
            if (string.Equals(given, word, StringComparison.Ordinal))
            {
                return [];
            }
            var distance = Distance(given, word, best + 1);
            if (distance > best)
            {
                continue;
            }
            if (distance < best)
            {
                best = distance;
                nearest.Clear();
            }
            if (distance == best && !nearest.Contains(word, StringComparer.Ordinal))
            {
                nearest.Add(word);
            }
        }
        return nearest;
    }

    /// <summary>
    /// <c> (did you mean 'a'?)</c>, <c> (did you mean 'a' or 'b'?)</c>, <c> (did you mean 'a', 'b' or 'c'?)</c> for
    /// the nearest known words, or the empty string when there are none. <paramref name="quote"/> writes one word.
    /// </summary>
    public static string Hint(string given, IEnumerable<string> known, Func<string, string>? quote = null)
    {
        var nearest = Nearest(given, known);
        if (nearest.Count == 0)
        {
            return string.Empty;
        }
        quote ??= w => "'" + w + "'";
        return " (did you mean " + OrList(nearest.Select(quote).ToList()) + "?)";
    }

    /// <summary><c>a</c>, <c>a or b</c>, <c>a, b or c</c>; the empty string for no words.</summary>
    public static string OrList(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        return words.Count switch
        {
            0 => string.Empty,
            1 => words[0],
            _ => string.Join(", ", words.Take(words.Count - 1)) + " or " + words[^1],
        };
    }

    /// <summary>
    /// The optimal-string-alignment distance between two words, letter case ignored; any value of at least
    /// <paramref name="stopAt"/> once the distance is known to reach it.
    /// </summary>
    private static int Distance(string a, string b, int stopAt)
    {
        if (Math.Abs(a.Length - b.Length) >= stopAt)
        {
            return stopAt;
        }
        // Three rows of the edit-distance table: two back (for a swap of neighbours), the last, this one.
        var twoBack = new int[b.Length + 1];
        var last = new int[b.Length + 1];
        var row = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            last[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            row[0] = i;
            var rowMin = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var same = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]);
                var d = Math.Min(Math.Min(last[j] + 1, row[j - 1] + 1), last[j - 1] + (same ? 0 : 1));
                if (i > 1 && j > 1
                    && char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 2])
                    && char.ToLowerInvariant(a[i - 2]) == char.ToLowerInvariant(b[j - 1]))
                {
                    d = Math.Min(d, twoBack[j - 2] + 1);
                }
                row[j] = d;
                rowMin = Math.Min(rowMin, d);
            }
            if (rowMin >= stopAt)
            {
                return stopAt;
            }
            (twoBack, last, row) = (last, row, twoBack);
        }
        return last[b.Length];
    }
}
