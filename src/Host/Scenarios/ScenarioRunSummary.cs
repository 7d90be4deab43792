namespace VApicActors.Host.Scenarios;

/// <summary>Totals over the files of one <c>run</c>.</summary>
/// <param name="Passed">Expectations that held.</param>
/// <param name="Failed">Expectations that did not hold.</param>
/// <param name="Errors">Files stopped by a script error, or missing.</param>
/// <param name="Failures">Every failure and error line as printed (<c>FILE:LINE: ...</c>).</param>
public sealed record ScenarioRunSummary(int Passed, int Failed, int Errors, IReadOnlyList<string> Failures)
{
    public const int ExitPassed = 0;
    public const int ExitFailed = 1;
    public const int ExitError = 2;

    /// <summary>0 when every expectation held, 1 when one failed, 2 when a script could not be run.</summary>
    public int ExitCode => Errors > 0 ? ExitError : Failed > 0 ? ExitFailed : ExitPassed;

    /// <summary>The closing line: <c>N passed, M failed</c>.</summary>
    public string SummaryLine => $"{Passed} passed, {Failed} failed";
}
