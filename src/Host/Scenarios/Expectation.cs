namespace VApicActors.Host.Scenarios;

/// <summary>
/// The <c>-&gt; EXPECTED</c> part of a line: a number, <c>VALUE/MASK</c>, a word, or a list of vectors.
/// </summary>
public abstract record Expectation(string Text)
{
    /// <summary>Reads the tokens after <c>-&gt;</c>. Throws <see cref="ScenarioException"/> for malformed ones.</summary>
    public static Expectation Parse(IReadOnlyList<string> tokens)
    {
        if (tokens.Count == 0)
        {
            throw new ScenarioException("'->' without an expected result after it");
        }
        var text = string.Join(' ', tokens);

        if (tokens.Count > 1)
        {
            // A word or a VALUE/MASK stands alone: what follows it is the mistake, not the word itself.
            var first = tokens[0];
            if (!NumberSyntax.LooksNumeric(first) || first.Contains('/', StringComparison.Ordinal))
            {
                var what = NumberSyntax.LooksNumeric(first) ? "VALUE/MASK" : "a word";
                throw new ScenarioException(
                    $"bad expected result '{ScenarioException.Quote(text)}': unexpected '{ScenarioException.Quote(tokens[1])}' after " +
                    $"'{ScenarioException.Quote(first)}' ({what} stands alone)");
            }
            var vectors = new List<ulong>(tokens.Count);
            foreach (var t in tokens)
            {
                if (!NumberSyntax.LooksNumeric(t) || t.Contains('/', StringComparison.Ordinal))
                {
                    throw new ScenarioException(
                        $"bad expected result '{ScenarioException.Quote(text)}': '{ScenarioException.Quote(t)}' in a list of vectors (a list must hold only numbers)");
                }
                vectors.Add(ParseNumber(t));
            }
            return new VectorListExpectation(text, vectors.ToHashSet());
        }

        var token = tokens[0];
        var slash = token.IndexOf('/');
        if (slash >= 0)
        {
            var value = token[..slash];
            var mask = token[(slash + 1)..];
            if (!NumberSyntax.LooksNumeric(value) || !NumberSyntax.LooksNumeric(mask))
            {
                throw new ScenarioException($"bad expected result '{ScenarioException.Quote(token)}': VALUE/MASK needs two numbers");
            }
            return new MaskedExpectation(text, ParseNumber(value), ParseNumber(mask));
        }

        return NumberSyntax.LooksNumeric(token)
            ? new NumberExpectation(text, ParseNumber(token))
            : new WordExpectation(text, token);
    }

    /// <summary>Does the result satisfy this expectation?</summary>
    public abstract bool Matches(ScenarioResult result);

    /// <summary>The result as one number: a value, a count, or a list of exactly one vector; null otherwise.</summary>
    protected static ulong? AsNumber(ScenarioResult result) => result.Kind switch
    {
        ScenarioResultKind.Value or ScenarioResultKind.Count => result.Number,
        ScenarioResultKind.Vectors when result.VectorList.Distinct().Count() == 1 => (ulong)result.VectorList[0],
        _ => null,
    };

    private static ulong ParseNumber(string token) =>
        NumberSyntax.TryParse(token, out var n) ? n : throw new ScenarioException($"bad number '{ScenarioException.Quote(token)}' in the expected result");
}

/// <summary><c>-&gt; 0x00050014</c>: the result equals the number (a vector list must be exactly that vector).</summary>
public sealed record NumberExpectation(string Text, ulong Expected) : Expectation(Text)
{
    public override bool Matches(ScenarioResult result) => AsNumber(result) is ulong n && n == Expected;
}

/// <summary><c>-&gt; 0x14/0xff</c>: only the bits set in the mask are compared (a vector list must be one vector).</summary>
public sealed record MaskedExpectation(string Text, ulong Expected, ulong Mask) : Expectation(Text)
{
    public override bool Matches(ScenarioResult result) => AsNumber(result) is ulong n && (n & Mask) == (Expected & Mask);
}

/// <summary><c>-&gt; #GP</c>, <c>-&gt; none</c>, <c>-&gt; OK</c>: the same word, whatever the case.</summary>
public sealed record WordExpectation(string Text, string Word) : Expectation(Text)
{
    public override bool Matches(ScenarioResult result) =>
        result.Kind is ScenarioResultKind.Word or ScenarioResultKind.Vectors
        && string.Equals(result.Text, Word, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// <c>-&gt; 0x31 0x41</c>: exactly this set of vectors, in any order. A one-vector result (<c>ack</c>, <c>pending</c>,
/// <c>sipi</c>) is the set of that vector, so <c>-&gt; 0x41 0x41</c> holds for it as it does for an IRR of 0x41 alone.
/// </summary>
public sealed record VectorListExpectation(string Text, IReadOnlySet<ulong> Vectors) : Expectation(Text)
{
    public override bool Matches(ScenarioResult result) => result.Kind switch
    {
        ScenarioResultKind.Vectors => result.VectorList.Select(v => (ulong)v).ToHashSet().SetEquals(Vectors),
        ScenarioResultKind.Value => Vectors.Count == 1 && Vectors.Contains(result.Number),
        _ => false,
    };
}
