using System.Text;
using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// The project's scenario scripts with a few lines mutated (truncated, tokens dropped, duplicated or swapped between lines,
/// digits flipped, huge numbers, odd whitespace, unicode, empty <c>-&gt;</c>, stray <c>#</c>, very long lines), run by
/// <see cref="ScenarioRunner"/> as <c>vapic run</c> runs them. Whatever the script says, the run ends with its count, a
/// malformed line is an error naming the file and its line and stops the file there, the lines before it keep their
/// results, and nothing is blamed on the simulator.
/// </summary>
public sealed partial class ScenarioFuzzTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const int Cases = 200;
    private const int Seed = 0x5eed_0001;

    /// <summary>One case in this many has a token of millions of characters (the others are fast to run).</summary>
    private const int HugeTokenEvery = 40;

    /// <summary>The longest reason an error line gives after FILE:LINE: however long the line, it quotes its words cut short.</summary>
    private const int MaxReason = 300;

    /// <summary>Lines run after the last mutated one: enough for a mutation's effect to show, short enough to keep each case fast.</summary>
    private const int LinesAfter = 25;

    private static readonly string ScenarioDirectory = Path.Combine(AppContext.BaseDirectory, "scenarios");

    /// <summary>A script that saves and restores, so that those verbs' FILE arguments are mutated too (relative to the script's folder).</summary>
    private const string SaveRestore = """
        vm vcpus=2 boot=bsp timer-hz=100000000
        writel 0xfee000f0 0x1ff
        writel 0xfee00320 0x000200e1
        writel 0xfee00380 250
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00000699
        clock_step 1234 -> 1234
        save fuzz-state.json -> OK
        restore fuzz-state.json -> OK
        clock -> 1234
        cpu 1
        state -> running
        sipi -> 0x99
        cpu 0
        irr -> 0xe1
        restore fuzz-state.json
        """;

    [Fact]
    public async Task MutatedScripts_EndWithACount_AndReportEachBadLineByFileAndLine()
    {
        var corpus = Directory.GetFiles(ScenarioDirectory, "*.vapic")
            .Where(f => !f.EndsWith("long-runs.vapic", StringComparison.Ordinal)) // seconds of timer expiries per run
            .Order(StringComparer.Ordinal)
            .Select(f => File.ReadAllLines(f))
            .Append(SaveRestore.Split('\n'))
            .ToList();
        var mutator = new TextMutator(Seed);
        using var dir = new TempDirectory();
        var problems = new List<string>();

        for (var n = 0; n < Cases; n++)
        {
            var original = mutator.Pick(corpus);
            var lines = original.ToList();
            var mutated = new SortedSet<int>();
            for (var k = mutator.Next(1, 4); k > 0; k--)
            {
                var at = mutator.Next(lines.Count);
                switch (mutator.Next(10))
                {
                    case 0:
                        lines.RemoveAt(at);
                        at = Math.Min(at, lines.Count - 1);
                        break;
                    case 1:
                        lines.Insert(at, mutator.Pick(lines));
                        break;
                    default:
                        var mutation = n % HugeTokenEvery == HugeTokenEvery - 1 ? mutator.HugeToken(lines[at]) : mutator.Mutate(lines[at], original);
                        lines[at] = StaysInItsFolder(mutation) ?? lines[at];
                        break;
                }
                mutated.Add(Math.Max(at, 0));
            }
            var first = mutated.Min;
            // What comes before the last `vm` line ahead of the mutations is thrown away with its VM: blank it (line
            // numbers stay), and stop a little after the last mutation.
            var start = lines.FindLastIndex(Math.Max(first - 1, 0), l => IsVmLine(l)) is var v and > 0 && v < first ? v : 0;
            lines = [.. Enumerable.Repeat("", start), .. lines.Skip(start).Take(mutated.Max + 1 + LinesAfter - start)];

            var file = dir.File($"case-{n}.vapic");
            var newline = mutator.Chance(20) ? "\r\n" : "\n";
            var before = Encoding.UTF8.GetBytes(string.Concat(lines.Take(first).Select(l => l + newline)));
            var after = Encoding.UTF8.GetBytes(string.Join(newline, lines.Skip(first)) + newline);
            // Bytes that are not UTF-8 at the start of the first mutated line, now and then.
            byte[] bytes = mutator.Chance(5) ? [.. before, .. TextMutator.NotUtf8, .. after] : [.. before, .. after];
            await File.WriteAllBytesAsync(file, bytes);

            var problem = await CheckAsync(file, first, lines.Take(first).Count(HasExpectation));
            if (problem is not null)
            {
                problems.Add($"case {n} (mutated lines from {first + 1}): {problem}\n  {string.Join("\n  ", mutated.Select(i => $"{i + 1}: {Shorten(i < lines.Count ? lines[i] : "")}"))}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Cases} mutated scripts broke the contract:\n{string.Join("\n", problems.Take(10))}");
    }

    /// <summary>
    /// Runs the file as <c>vapic run</c> does and checks the contract, comparing with the same lines run one by one; null
    /// when it holds, else what broke.
    /// </summary>
    private async Task<string?> CheckAsync(string file, int firstMutated, int passedBefore)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        ScenarioRunSummary summary;
        // The files the script may save and restore (its folder's, but the cases): the reference below starts from these
        // too, not from what the run saved (a restore moved ahead of its save would read the run's state).
        var folder = Path.GetDirectoryName(file)!;
        var filesBefore = Directory.GetFiles(folder).Where(f => !f.EndsWith(".vapic", StringComparison.Ordinal)).ToDictionary(f => f, File.ReadAllBytes);
        try
        {
            summary = await new ScenarioRunner(fixture.System).RunAsync([file], output, error);
        }
        catch (Exception e)
        {
            return "the runner threw " + e;
        }

        var outLines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var errLines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (outLines.Length == 0 || !SummaryLine().IsMatch(outLines[^1]))
        {
            return "no closing count: " + Shorten(output.ToString());
        }
        if (error.ToString().Contains("the simulator failed", StringComparison.Ordinal) || output.ToString().Contains("the simulator failed", StringComparison.Ordinal))
        {
            return "a script line was blamed on the simulator: " + Shorten(error.ToString());
        }
        if (errLines.Length > 1)
        {
            return "more than one error line (an error must stop the file): " + Shorten(error.ToString());
        }
        if (errLines.Length == 1)
        {
            var match = ErrorLine().Match(errLines[0]);
            if (!match.Success || match.Groups["file"].Value != file)
            {
                return "an error that does not name the file and its line: " + Shorten(errLines[0]);
            }
            if (int.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture) <= firstMutated)
            {
                return $"an error before the first mutated line ({firstMutated + 1}): {Shorten(errLines[0])}";
            }
            if (errLines[0].Length > file.Length + MaxReason)
            {
                return $"an error of {errLines[0].Length} characters, not one readable line: {Shorten(errLines[0])}";
            }
            if (errLines[0].Contains("Exception", StringComparison.Ordinal) || errLines[0].Contains("   at ", StringComparison.Ordinal))
            {
                return "an error that is an exception, not a reason: " + Shorten(errLines[0]);
            }
        }
        if (summary.Passed < passedBefore)
        {
            return $"{summary.Passed} passed, but the {passedBefore} expectations before the first mutated line all hold";
        }
        foreach (var failure in outLines[..^1])
        {
            var match = ErrorLine().Match(failure.Replace(": expected ", ": error: ", StringComparison.Ordinal));
            if (!match.Success || int.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture) <= firstMutated)
            {
                return "a failed expectation before the first mutated line: " + Shorten(failure);
            }
        }

        if (errLines.Length == 0 && outLines.Length == 1)
        {
            return null;
        }

        // What was reported is reported at the right line: the same lines, one at a time in one session, give the same
        // reports at the same line numbers.
        foreach (var saved in Directory.GetFiles(folder).Where(f => !f.EndsWith(".vapic", StringComparison.Ordinal) && !filesBefore.ContainsKey(f)))
        {
            File.Delete(saved);
        }
        foreach (var (path, bytes) in filesBefore)
        {
            await File.WriteAllBytesAsync(path, bytes);
        }
        var expectedOut = new List<string>();
        var expectedErr = new List<string>();
        await using (var session = new ScenarioSession(fixture.System, "reference") { BaseDirectory = Path.GetDirectoryName(file) })
        {
            var lines = await File.ReadAllLinesAsync(file);
            // The first line that shows the file is not text stops it, as a script error, instead of running.
            var notText = ScriptText.FirstNotText(lines);
            for (var i = 0; i < lines.Length; i++)
            {
                var outcome = notText?.Line == i + 1 ? LineOutcome.Failure(notText.Value.Reason) : await session.ExecuteAsync(lines[i]);
                if (outcome.Kind == LineOutcomeKind.Failed)
                {
                    expectedOut.Add($"{file}:{i + 1}: {outcome.Describe()}".Trim());
                }
                else if (outcome.Kind == LineOutcomeKind.Error)
                {
                    expectedErr.Add($"{file}:{i + 1}: {outcome.Describe()}".Trim());
                    break;
                }
            }
        }
        if (!expectedOut.SequenceEqual(outLines[..^1]) || !expectedErr.SequenceEqual(errLines))
        {
            return $"the run reported\n{Shorten(output + "" + error)}\nbut its lines one by one give\n{Shorten(string.Join('\n', expectedOut.Concat(expectedErr)))}";
        }
        return null;
    }

    private static bool IsVmLine(string line) => line.TrimStart().StartsWith("vm ", StringComparison.Ordinal);

    private static bool HasExpectation(string line)
    {
        try
        {
            return ScenarioLine.Parse(line).Expected is not null;
        }
        catch (ScenarioException)
        {
            return false;
        }
    }

    /// <summary>The line, unless it would make <c>save</c> or <c>restore</c> touch a file outside the test's folder.</summary>
    private static string? StaysInItsFolder(string line)
    {
        var tokens = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return tokens.Length > 1 && tokens.Any(t => t.Contains('/', StringComparison.Ordinal) || t.Contains('\\', StringComparison.Ordinal) || t.StartsWith('~'))
            && tokens.Any(t => t.Equals("save", StringComparison.OrdinalIgnoreCase) || t.Equals("restore", StringComparison.OrdinalIgnoreCase))
            ? null
            : line;
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"... ({text.Length} characters)";

    [GeneratedRegex(@"^\d+ passed, \d+ failed$")]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"^(?<file>.+?):(?<line>\d+): error: \S")]
    private static partial Regex ErrorLine();
}
