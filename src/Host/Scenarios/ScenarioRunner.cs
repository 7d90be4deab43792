using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Scenarios;

/// <summary>
/// <c>vapic run FILE...</c>: runs each file from a fresh VM, prints each failed expectation as
/// <c>FILE:LINE: expected X, got Y</c> and each script error as <c>FILE:LINE: error: ...</c> (which stops
/// that file only), then the summary line <c>N passed, M failed</c>.
/// </summary>
public sealed class ScenarioRunner(ActorSystem system, ITraceSink? trace = null)
{
    /// <summary>Runs the files in order. Failures go to <paramref name="output"/>, errors to <paramref name="error"/>.</summary>
    public async Task<ScenarioRunSummary> RunAsync(IReadOnlyList<string> files, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        int passed = 0, failed = 0, errors = 0;
        var failures = new List<string>();

        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = await RunFileAsync(file, output, error, failures, cancellationToken).ConfigureAwait(false);
            passed += result.Passed;
            failed += result.Failed;
            errors += result.Errors;
        }

        var summary = new ScenarioRunSummary(passed, failed, errors, failures);
        await output.WriteLineAsync(summary.SummaryLine).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>Runs one file and returns its counts (its lines go to the writers as <see cref="RunAsync"/> prints them).</summary>
    public async Task<ScenarioRunSummary> RunFileAsync(string file, TextWriter output, TextWriter error, List<string>? failures = null, CancellationToken cancellationToken = default)
    {
        failures ??= [];
        string[] lines;
        try
        {
            lines = await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Error(ReadError(file, e));
        }

        await using var session = new ScenarioSession(system, Path.GetFileNameWithoutExtension(file), trace)
        {
            BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(file)),
        };
        return await ExecuteLinesAsync(session, file, lines, output, error, failures, cancellationToken).ConfigureAwait(false);

        ScenarioRunSummary Error(string message)
        {
            failures.Add(message);
            error.WriteLine(message);
            return new ScenarioRunSummary(0, 0, 1, failures);
        }
    }

    /// <summary>
    /// The error line for a script that cannot be read, or null when it can be opened: checked before anything runs,
    /// so that a run none of whose scripts can be read leaves the trace file of the run before as it was.
    /// </summary>
    public static string? Unreadable(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ReadError(file, e);
        }
    }

    private static string ReadError(string file, Exception e) => e is FileNotFoundException or DirectoryNotFoundException
        ? $"{file}: error: no such file"
        : $"{file}: error: cannot read the file: {CommandLineFiles.ReadReason(file, e)}";

    /// <summary>
    /// Runs a script's lines in one session: each failed expectation goes to <paramref name="output"/> as
    /// <c>FILE:LINE: expected X, got Y</c>; a script error goes to <paramref name="error"/> as
    /// <c>FILE:LINE: error: ...</c> and stops the script.
    /// </summary>
    public static async Task<ScenarioRunSummary> ExecuteLinesAsync(
        ScenarioSession session, string file, IReadOnlyList<string> lines, TextWriter output, TextWriter error,
        List<string> failures, CancellationToken cancellationToken = default)
    {
        int passed = 0, failed = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outcome = await session.ExecuteAsync(lines[i]).ConfigureAwait(false);
            switch (outcome.Kind)
            {
                case LineOutcomeKind.Passed:
                    passed++;
                    break;
                case LineOutcomeKind.Failed:
                    failed++;
                    var message = $"{file}:{i + 1}: {outcome.Describe()}";
                    failures.Add(message);
                    await output.WriteLineAsync(message).ConfigureAwait(false);
                    break;
                case LineOutcomeKind.Error:
                    var stop = $"{file}:{i + 1}: {outcome.Describe()}";
                    failures.Add(stop);
                    await error.WriteLineAsync(stop).ConfigureAwait(false);
                    return new ScenarioRunSummary(passed, failed, 1, failures);
            }
        }
        return new ScenarioRunSummary(passed, failed, 0, failures);
    }
}
