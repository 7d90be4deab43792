using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests;

/// <summary>
/// The complete scripts shown in docs/scenario-language.md run as printed: every check holds, and where the page
/// shows what <c>vapic run</c> prints for a script, it prints that.
/// </summary>
public sealed partial class DocExamplesTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private static string DocPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VApicActors.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        return Path.Combine(dir.FullName, "docs", "scenario-language.md");
    }

    [Fact]
    public async Task EveryCommandInThePagesTables_IsACommandOfTheLanguageOrTheService()
    {
        // The first word of each backticked entry in a table's first column: `readb ADDR`, `watch all`, ...
        var documented = File.ReadAllLines(DocPath())
            .Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('|')[1])
            .SelectMany(cell => BacktickedWord().Matches(cell).Select(m => m.Groups[1].Value))
            .Distinct()
            .ToList();
        Assert.Contains("rdmsr", documented);
        Assert.Contains("attach", documented);

        // A request the service takes is answered as a command of its own or of the language, never as an unknown one,
        // and a script's line as a command of the language.
        await using var session = new ScenarioSession(fixture.System);
        foreach (var word in documented)
        {
            var service = VApicActors.Host.Service.ServiceVerbs.Parse(word, out _);
            Assert.False(service?.Contains("unknown command", StringComparison.Ordinal) ?? false, word + ": " + service);
            if (ScenarioSession.Verbs.Contains(word) || word is "vm" or "save" or "restore")
            {
                continue;
            }
            var described = (await session.ExecuteAsync(word)).Describe();
            Assert.Contains("unknown command", described, StringComparison.Ordinal); // a service command, not the language's
            Assert.Contains(word, new[] { "attach", "watch", "stats", "cluster", "quit" });
        }
    }

    [GeneratedRegex(@"`([a-z][a-z0-9_-]*)(?=[ `])")]
    private static partial Regex BacktickedWord();

    /// <summary>The page's fenced blocks in order, each with the text that follows it up to the next block.</summary>
    private static List<(string Block, string After)> Blocks()
    {
        var parts = File.ReadAllText(DocPath()).ReplaceLineEndings("\n").Split("```");
        var blocks = new List<(string, string)>();
        for (var i = 1; i < parts.Length; i += 2)
        {
            blocks.Add((parts[i], i + 2 < parts.Length ? parts[i + 2] : ""));
        }
        return blocks;
    }

    /// <summary>A complete script: it creates its VM and elides nothing.</summary>
    private static bool IsScript(string block) =>
        block.Split('\n').Any(l => l.StartsWith("vm vcpus=", StringComparison.Ordinal))
        && !block.Contains("...", StringComparison.Ordinal) && !block.Contains("$ ", StringComparison.Ordinal);

    public static TheoryData<int> Scripts()
    {
        var data = new TheoryData<int>();
        var blocks = Blocks();
        for (var i = 0; i < blocks.Count; i++)
        {
            if (IsScript(blocks[i].Block))
            {
                data.Add(i);
            }
        }
        return data;
    }

    [Fact]
    public void ThePage_ShowsSeveralCompleteScripts() => Assert.True(Scripts().Count >= 4, "fewer complete scripts than expected: did the page change?");

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_RunsAsPrinted(int index)
    {
        var (block, after) = Blocks()[index];
        using var dir = new TempDirectory();
        var file = dir.Write("example.vapic", block);
        var output = new StringWriter();
        var error = new StringWriter();
        var summary = await new ScenarioRunner(fixture.System).RunAsync([file], output, error);

        Assert.True(summary.ExitCode == 0, $"{summary.SummaryLine}\n{string.Join('\n', summary.Failures)}\n{error}");
        Assert.True(summary.Passed > 0, "the example checks nothing");
        // When the next block shows the run of this script, its summary line is the one printed.
        var shown = ShownSummary().Match(after);
        if (shown.Success)
        {
            Assert.Equal(shown.Groups[1].Value, summary.SummaryLine);
        }
    }

    [GeneratedRegex(@"^\n\$ vapic run \S+\n(\d+ passed, \d+ failed)\n", RegexOptions.None)]
    private static partial Regex ShownSummary();
}
