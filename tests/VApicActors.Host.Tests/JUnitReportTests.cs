using System.Xml.Linq;

namespace VApicActors.Host.Tests;

/// <summary><c>vapic run --junit FILE</c>: the run's results as a JUnit XML report, as CI systems read it.</summary>
[Collection(SerilogCollection.Name)]
public sealed class JUnitReportTests
{
    private const string Mixed = """
        vm vcpus=2
        writel 0xfee000f0 0x1ff          # software-enable
        readl 0xfee000f0 -> 0x1ff
        readl 0xfee000f0 -> 0xff         # fails
        wrmsr 0x802 1 -> #GP
        frob
        readl 0xfee000f0 -> 0x1ff
        """;

    [Fact]
    public async Task Run_WithJUnit_WritesASuitePerScriptAndACasePerExpectation_TheOutputAndExitAsWithout()
    {
        using var dir = new TempDirectory();
        var mixed = dir.Write("mixed.vapic", Mixed);
        var clean = dir.Write("clean.vapic", "vm vcpus=1\nreadl 0xfee00030 -> 0x01060014\nrdmsr 0x802 -> #GP\n");
        var missing = dir.File("missing.vapic");
        var report = dir.File(Path.Combine("reports", "run.xml"));

        var plain = await InvokeAsync("run", mixed, clean, missing, "--no-trace");
        var withReport = await InvokeAsync("run", mixed, clean, missing, "--no-trace", "--junit", report);

        Assert.Equal((plain.Code, plain.Output, plain.Error), (withReport.Code, withReport.Output, withReport.Error));
        Assert.Equal(2, withReport.Code);
        var root = XDocument.Load(report).Root!;
        Assert.Equal("testsuites", root.Name.LocalName);
        Assert.Equal(("7", "1", "2"), ((string)root.Attribute("tests")!, (string)root.Attribute("failures")!, (string)root.Attribute("errors")!));
        var suites = root.Elements("testsuite").ToList();
        Assert.Equal([mixed, clean, missing], suites.Select(s => (string)s.Attribute("name")!));

        // The failing script stops at its error: the line after it is no case.
        var cases = suites[0].Elements("testcase").ToList();
        Assert.Equal(
            ["line 3: readl 0xfee000f0 -> 0x1ff", "line 4: readl 0xfee000f0 -> 0xff", "line 5: wrmsr 0x802 1 -> #GP", "line 6: frob"],
            cases.Select(c => (string)c.Attribute("name")!));
        Assert.All(cases, c => Assert.Equal("mixed", (string)c.Attribute("classname")!));
        Assert.Empty(cases[0].Elements());
        var failure = Assert.Single(cases[1].Elements());
        Assert.Equal(("failure", "expected 0xff, got 0x1ff"), (failure.Name.LocalName, (string)failure.Attribute("message")!));
        Assert.Equal($"{mixed}:4: expected 0xff, got 0x1ff", failure.Value);
        var error = Assert.Single(cases[3].Elements());
        Assert.Equal(("error", "error: unknown command 'frob'"), (error.Name.LocalName, (string)error.Attribute("message")!));
        Assert.Equal(("1", "0", "1", "4"), ((string)suites[0].Attribute("failures")!, (string)suites[1].Attribute("failures")!, (string)suites[0].Attribute("errors")!, (string)suites[0].Attribute("tests")!));
        Assert.Equal(2, suites[1].Elements("testcase").Count(c => !c.HasElements));

        // A script that cannot be read is one error of its own.
        var unread = Assert.Single(suites[2].Elements("testcase"));
        Assert.Equal(("error", "0"), (unread.Elements().Single().Name.LocalName, (string)unread.Attribute("line")!));
        Assert.StartsWith($"{missing}: error: ", unread.Elements().Single().Value);
    }

    [Fact]
    public async Task Run_NoScriptReadable_TheReportStillSaysWhy()
    {
        using var dir = new TempDirectory();
        var report = dir.File("run.xml");

        var result = await InvokeAsync("run", dir.File("a.vapic"), dir.File("b.vapic"), "--no-trace", "--junit", report);

        Assert.Equal(2, result.Code);
        var root = XDocument.Load(report).Root!;
        Assert.Equal(("2", "2"), ((string)root.Attribute("tests")!, (string)root.Attribute("errors")!));
    }

    [Fact]
    public async Task Run_AReportThatCannotBeWritten_StopsTheRunBeforeAnythingRuns()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("ok.vapic", "vm vcpus=1\nreadl 0xfee00030 -> 0x01060014\n");
        var blocker = dir.Write("plain-file", "x");
        var trace = dir.File("t.clef");

        var result = await InvokeAsync("run", script, "--trace", trace, "--junit", Path.Combine(blocker, "run.xml"));

        Assert.Equal(2, result.Code);
        Assert.Contains($"{Path.Combine(blocker, "run.xml")}: error: cannot write the report: ", result.Error);
        Assert.DoesNotContain("passed", result.Output);
        Assert.False(File.Exists(trace));
    }

    [Fact]
    public async Task Run_AReportOrTraceThatWouldOverwriteAScriptOrEachOther_IsRefusedBeforeAnythingRuns_AndTheScriptStays()
    {
        using var dir = new TempDirectory();
        const string Text = "vm vcpus=1\nreadl 0xfee00030 -> 0x01060014\n";
        var script = dir.Write("ok.vapic", Text);
        var other = dir.Write("other.vapic", Text);
        var trace = dir.File("t.clef");

        // The report or the trace at a script's path (written the same way or not), the two at one path, and
        // `--junit a.vapic b.vapic` with FILE forgotten, which takes the first script for the report.
        var cases = new (string[] Args, string Message)[]
        {
            (["run", script, "--no-trace", "--junit", Path.Combine(dir.Path, ".", "ok.vapic")], $"vapic: the report would be written over the script {script}: give --junit another file"),
            (["run", script, "--trace", script], $"vapic: the trace would be written over {script}, which this command reads: give --trace another file"),
            (["run", script, "--trace", trace, "--junit", trace], $"vapic: the report and the trace cannot both go to {trace}: give --junit or --trace another file"),
            (["run", "--junit", other, script, "--trace", trace], $"{other}: error: cannot write the report: the file is there and is no XML report (a script?); remove it or give --junit another file"),
        };
        foreach (var (args, message) in cases)
        {
            var result = await InvokeAsync(args);

            Assert.Equal((2, message, ""), (result.Code, result.Error.Trim(), result.Output));
            Assert.Equal(Text, File.ReadAllText(script));
            Assert.Equal(Text, File.ReadAllText(other));
            Assert.False(File.Exists(trace));
        }
        // A report written before is replaced, as is an empty file.
        var report = dir.Write("run.xml", "<?xml version=\"1.0\"?><testsuites />");
        var empty = dir.Write("empty.xml", "");
        Assert.Equal(0, (await InvokeAsync("run", script, "--no-trace", "--junit", report)).Code);
        Assert.Equal(0, (await InvokeAsync("run", script, "--no-trace", "--junit", empty)).Code);
        Assert.Contains("ok.vapic", File.ReadAllText(empty), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ALineWithCharactersXmlCannotHold_StillGivesADocumentEveryReaderTakes()
    {
        using var dir = new TempDirectory();
        // Control characters, which XML 1.0 cannot hold even escaped, in a line that stops the script.
        var script = dir.Write("odd.vapic", "vm vcpus=1\nreadl 0xfee00030 -> 0x01060014\nfr\u0001ob\u0008\n");
        var report = dir.File("run.xml");

        var result = await InvokeAsync("run", script, "--no-trace", "--junit", report);

        Assert.Equal(2, result.Code);
        var error = XDocument.Load(report).Root!.Descendants("error").Single();
        Assert.DoesNotContain('\u0001', error.Value);
        Assert.DoesNotContain('\u0008', (string)error.Attribute("message")!);
        Assert.Contains('\uFFFD', (string)error.Parent!.Attribute("name")!);
    }

    private static Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args) => Vapic.InvokeAsync(args);
}
