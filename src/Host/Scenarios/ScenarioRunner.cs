using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Scenarios;

/// <summary>
/// <c>vapic run FILE...</c>: runs each file from a fresh VM, prints each failed expectation as
/// <c>FILE:LINE: expected X, got Y</c> and each script error as <c>FILE:LINE: error: ...</c> (which stops
/// that file only), then the summary line <c>N passed, M failed</c>. The VMs a file creates are named after it and
/// nothing else (<see cref="VmBaseNames"/>), so a script's trace is the same whatever was run before it. The file
/// <c>-</c> is the script on <paramref name="input"/> (standard input by default), read once.
/// </summary>
public sealed class ScenarioRunner(ActorSystem system, ITraceSink? trace = null, TextReader? input = null)
{
    /// <summary>The file name that reads a script from standard input; its lines are named <c>-:LINE:</c>, as the trace tools name it.</summary>
    public const string StandardInput = "-";

    /// <summary>The base name of the VMs of a script read from standard input.</summary>
    public const string StandardInputVmName = "stdin";

    private bool _inputRead;

    /// <summary>When set, each script's checked lines are added to it as the script ends (for <see cref="JUnitReport"/>).</summary>
    public List<ScenarioFileResult>? Results { get; init; }

    /// <summary>Runs the files in order. Failures go to <paramref name="output"/>, errors to <paramref name="error"/>.</summary>
    public async Task<ScenarioRunSummary> RunAsync(IReadOnlyList<string> files, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        int passed = 0, failed = 0, errors = 0;
        var failures = new List<string>();

        var names = VmBaseNames(files);
        for (var i = 0; i < files.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = await RunFileAsync(files[i], names[i], output, error, failures, cancellationToken).ConfigureAwait(false);
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
    public Task<ScenarioRunSummary> RunFileAsync(string file, TextWriter output, TextWriter error, List<string>? failures = null, CancellationToken cancellationToken = default) =>
        RunFileAsync(file, VmBaseNames([file])[0], output, error, failures, cancellationToken);

    /// <summary>
    /// The base name of each file's VMs in a run of <paramref name="files"/>, in order: the file's name without its
    /// extension (<see cref="ScenarioSession.SanitizeName"/>). A file whose VMs could share a name with those of an
    /// earlier file in the run (the same name, or one is the other's followed by <c>-N</c>, as <c>x</c> and <c>x-2</c>)
    /// is named <c>NAME#K</c> instead, with the smallest K from 2 not yet taken. A name depends only on the file names,
    /// not on what the files hold.
    /// </summary>
    public static IReadOnlyList<string> VmBaseNames(IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var names = new List<string>(files.Count);
        foreach (var file in files)
        {
            var name = file == StandardInput ? StandardInputVmName : ScenarioSession.SanitizeName(Path.GetFileNameWithoutExtension(file));
            if (names.Any(n => MayShareVmNames(n, name)))
            {
                var k = 2;
                while (names.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}#{k}")))
                {
                    k++;
                }
                name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}#{k}");
            }
            names.Add(name);
        }
        return names;
    }

    /// <summary>Whether sessions named <paramref name="a"/> and <paramref name="b"/> could give two VMs one name.</summary>
    private static bool MayShareVmNames(string a, string b) => a == b || IsLaterVmOf(a, b) || IsLaterVmOf(b, a);

    /// <summary>Whether <paramref name="name"/> is <c>BASE-N</c> (N ≥ 2, no leading zero), a later VM of a session named <paramref name="baseName"/>.</summary>
    private static bool IsLaterVmOf(string baseName, string name) =>
        name.Length > baseName.Length + 1
        && name.StartsWith(baseName + "-", StringComparison.Ordinal)
        && name[(baseName.Length + 1)..] is var n && n[0] != '0' && n.All(char.IsAsciiDigit) && n != "1";

    private async Task<ScenarioRunSummary> RunFileAsync(
        string file, string vmBaseName, TextWriter output, TextWriter error, List<string>? failures, CancellationToken cancellationToken)
    {
        failures ??= [];
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        IReadOnlyList<string> lines;
        (int Line, string Reason)? notText;
        try
        {
            if (file == StandardInput)
            {
                if (_inputRead)
                {
                    return Error($"{file}: error: standard input was read by an earlier '-' of this run");
                }
                _inputRead = true;
            }
            (lines, notText) = await ReadScriptAsync(file, input ?? Console.In, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Error(ReadError(file, e));
        }

        // save and restore take a relative FILE from the script's folder; a script on standard input has none, so from
        // the current directory.
        await using var session = new ScenarioSession(vmBaseName, system, trace)
        {
            BaseDirectory = file == StandardInput ? null : Path.GetDirectoryName(Path.GetFullPath(file)),
        };
        var cases = Results is null ? null : new List<ScenarioCase>();
        var summary = await ExecuteLinesAsync(session, file, lines, output, error, failures, cancellationToken, cases, notText).ConfigureAwait(false);
        Results?.Add(new ScenarioFileResult(file, cases!, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
        return summary;

        ScenarioRunSummary Error(string message)
        {
            failures.Add(message);
            error.WriteLine(message);
            Results?.Add(ScenarioFileResult.Unread(file, message, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
            return new ScenarioRunSummary(0, 0, 1, failures);
        }
    }

    /// <summary>
    /// The error line for a script that cannot be read, or null when it can be opened: checked before anything runs,
    /// so that a run none of whose scripts can be read leaves the trace file of the run before as it was.
    /// </summary>
    public static string? Unreadable(string file)
    {
        if (file == StandardInput)
        {
            return null;
        }
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

    /// <summary>
    /// A script's lines, from <paramref name="file"/> or, for <c>-</c>, from <paramref name="input"/>, with the first line
    /// that shows it is not text and why (<see cref="ScriptText.FirstNotText"/>; null for a text script), to hand to
    /// <see cref="ExecuteLinesAsync"/>: every command that runs a script reads it so.
    /// </summary>
    internal static async Task<(IReadOnlyList<string> Lines, (int Line, string Reason)? NotText)> ReadScriptAsync(
        string file, TextReader input, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = file == StandardInput
            ? await ReadLinesAsync(input, cancellationToken).ConfigureAwait(false)
            : await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
        return (lines, ScriptText.FirstNotText(lines));
    }

    /// <summary>
    /// The lines of a script read from <paramref name="reader"/> (standard input). A byte-order mark before the first
    /// line is dropped, as it is from a file and by the service.
    /// </summary>
    internal static async Task<IReadOnlyList<string>> ReadLinesAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lines.Add(lines.Count == 0 && line.StartsWith('\uFEFF') ? line[1..] : line);
        }
        return lines;
    }

    private static string ReadError(string file, Exception e) => file == StandardInput
        ? $"{file}: error: cannot read standard input: {e.Message}"
        : e is FileNotFoundException or DirectoryNotFoundException
        ? $"{file}: error: no such file"
        : $"{file}: error: cannot read the file: {CommandLineFiles.ReadReason(file, e)}";

    /// <summary>
    /// Runs a script's lines in one session: each failed expectation goes to <paramref name="output"/> as
    /// <c>FILE:LINE: expected X, got Y</c>; a script error goes to <paramref name="error"/> as
    /// <c>FILE:LINE: error: ...</c> and stops the script.
    /// </summary>
    /// <param name="cases">When given, every expectation (held or failed) and the line that stopped the script are added to it.</param>
    /// <param name="notText">
    /// The first line that shows the file is not text (a NUL, bytes that are not UTF-8 outside a comment) and why: the lines before it run,
    /// and it stops the script as a script error instead of running.
    /// </param>
    public static async Task<ScenarioRunSummary> ExecuteLinesAsync(
        ScenarioSession session, string file, IReadOnlyList<string> lines, TextWriter output, TextWriter error,
        List<string> failures, CancellationToken cancellationToken = default, List<ScenarioCase>? cases = null,
        (int Line, string Reason)? notText = null)
    {
        int passed = 0, failed = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outcome = notText?.Line == i + 1
                ? LineOutcome.Failure(notText.Value.Reason)
                : await session.ExecuteAsync(lines[i]).ConfigureAwait(false);
            if (cases is not null && outcome.Kind is LineOutcomeKind.Passed or LineOutcomeKind.Failed or LineOutcomeKind.Error)
            {
                cases.Add(new ScenarioCase(i + 1, WithoutComment(lines[i]), outcome.Kind,
                    outcome.Kind == LineOutcomeKind.Passed ? null : outcome.Describe()));
            }
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

    /// <summary>A script line as its words, without its comment, to name it in a report; a line that does not parse as it is.</summary>
    private static string WithoutComment(string line)
    {
        try
        {
            var parsed = ScenarioLine.Parse(line);
            return string.Join(' ', parsed.Command) + (parsed.Expected is { } expected ? " " + ScenarioLine.Arrow + " " + string.Join(' ', expected) : "");
        }
        catch (ScenarioException)
        {
            return line.Trim();
        }
    }
}
