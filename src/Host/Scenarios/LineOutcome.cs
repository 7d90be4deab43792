namespace VApicActors.Host.Scenarios;

/// <summary>What came of one line.</summary>
public enum LineOutcomeKind
{
    /// <summary>Blank or comment-only: nothing ran.</summary>
    Empty,
    /// <summary>The command ran and had no expectation.</summary>
    Executed,
    /// <summary>The command ran and its result met the expectation.</summary>
    Passed,
    /// <summary>The command ran and its result did not meet the expectation.</summary>
    Failed,
    /// <summary>The line could not be run (script error).</summary>
    Error,
}

/// <summary>The outcome of one line: its result, its expectation and whether they agree, or its error.</summary>
public sealed record LineOutcome(LineOutcomeKind Kind, ScenarioResult? Result = null, Expectation? Expected = null, string? Error = null)
{
    public static LineOutcome Empty { get; } = new(LineOutcomeKind.Empty);

    public static LineOutcome Failure(string message) => new(LineOutcomeKind.Error, Error: message);

    /// <summary>
    /// The outcome as one line of text, the way the language reports it: the result; or
    /// <c>expected X, got Y</c>; or <c>error: ...</c>.
    /// </summary>
    public string Describe() => Kind switch
    {
        LineOutcomeKind.Empty => string.Empty,
        LineOutcomeKind.Failed => $"expected {Expected!.Text}, got {Result!.Text}",
        LineOutcomeKind.Error => $"error: {Error}",
        _ => Result!.Text,
    };
}
