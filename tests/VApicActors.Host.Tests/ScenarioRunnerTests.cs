using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests;

public sealed class ScenarioRunnerTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const string Passing = """
        # CPU0 sends a fixed IPI, vector 0x41, to APIC ID 1
        vm vcpus=2
        writel 0xfee000f0 0x1ff
        cpu 1
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x00004041 -> OK
        readl  0xfee00300 -> 0x00004041
        cpu 1
        irr  -> 0x41
        ack  -> 0x41
        isr  -> 0x41
        readl 0xfee000a0 -> 0x40
        eoi
        isr  -> none
        """;

    [Fact]
    public async Task Run_PassingScript_CountsExpectationsAndExitsZero()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("pass.vapic", Passing);
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(0, summary.ExitCode);
        Assert.Equal(7, summary.Passed);
        Assert.Equal(0, summary.Failed);
        Assert.Equal("7 passed, 0 failed", output.Trim());
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public async Task Run_FailingExpectation_PrintsFileLineExpectedGotAndExitsOne()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("fail.vapic", "vm vcpus=1\nreadl 0xfee00030 -> 0x00050014\nreadl 0xfee000f0 -> 0xff\nwrmsr 0x802 1 -> OK\n");
        var (summary, output, _) = await RunAsync(file);

        Assert.Equal(1, summary.ExitCode);
        Assert.Equal(1, summary.Passed);
        Assert.Equal(2, summary.Failed);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"{file}:2: expected 0x00050014, got 0x1060014", lines[0]);
        Assert.Equal($"{file}:4: expected OK, got #GP", lines[1]);
        Assert.Equal("1 passed, 2 failed", lines[^1]);
    }

    [Theory]
    [InlineData("frobnicate 1", "unknown command 'frobnicate'\n")]
    [InlineData("rdmr 0x808", "unknown command 'rdmr' (did you mean 'rdmsr'?)")]
    [InlineData("read 0xfee00080", "unknown command 'read' (did you mean 'readb', 'readw', 'readl' or 'readq'?)")]
    [InlineData("clock-step 10", "unknown command 'clock-step' (did you mean 'clock_step'?)")]
    [InlineData("readl 0xfeg00030", "bad number '0xfeg00030'")]
    [InlineData("readl", "missing argument")]
    [InlineData("writel 0xfee00080", "missing argument")]
    [InlineData("writel 0xfee00080 0x1_0000_0000", "does not fit in 32 bits")]
    [InlineData("irr 5", "takes no arguments")]
    [InlineData("cpu 3", "no vCPU 3")]
    [InlineData("vm", "missing vcpus=N")]
    [InlineData("vm vcpus=0", "between 1 and")]
    [InlineData("vm vcpus=2 apic-ids=0,0", "appears twice")]
    [InlineData("vm vcpus=2 apic-ids=0,0xff", "above 0xFE")]
    [InlineData("vm vcpus=2 apic-ids=0", "one ID per vCPU")]
    [InlineData("vm vcpus=256", "xapic mode has at most 255 vCPUs")]
    [InlineData("vm vcpus=300 mode=xapic apic-ids=0", "xapic mode has at most 255 vCPUs")]
    [InlineData("vm vcpus=2 mode=x3apic", "xapic or x2apic")]
    [InlineData("vm vcpus=2 colour=red", "unknown option")]
    [InlineData("lint0 2", "0 or 1")]
    [InlineData("pending -> ", "without an expected result")]
    [InlineData("readl 0xfee00030 -> 0x14/", "VALUE/MASK")]
    [InlineData("readl 0xfee00030 -> 0x14/0xff extra", "bad expected result '0x14/0xff extra': unexpected 'extra' after '0x14/0xff' (VALUE/MASK stands alone)")]
    [InlineData("readl 0xfee00030 -> 0x14/0xff 0x20", "unexpected '0x20' after '0x14/0xff' (VALUE/MASK stands alone)")]
    [InlineData("readl 0xfee00030 -> #GP extra", "unexpected 'extra' after '#GP' (a word stands alone)")]
    [InlineData("irr -> 0x31 0x41/0xff", "'0x41/0xff' in a list of vectors (a list must hold only numbers)")]
    [InlineData("irr -> 0x31 none", "'none' in a list of vectors (a list must hold only numbers)")]
    [InlineData("irr -> 0x31 0x4g", "bad number '0x4g' in the expected result")]
    [InlineData("readl 0xfee00030 -> 0x123456789_123456789_123456789_123456789_123456789_123456789_123456789_g", "bad number '0x123456789_123456789_123456789_123456789_123456789_123456789_12... (73 characters)' in the expected result")]
    [InlineData("frobnicatefrobnicatefrobnicatefrobnicatefrobnicatefrobnicatefrobnicate", "unknown command 'frobnicatefrobnicatefrobnicatefrobnicatefrobnicatefrobnicatefrob... (70 characters)'")]
    public async Task Run_MalformedLine_ReportsErrorStopsFileAndExitsTwo(string line, string message)
    {
        using var dir = new TempDirectory();
        var file = dir.Write("bad.vapic", $"clock -> 0\n{line}\nclock -> 0\n");
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(2, summary.ExitCode);
        Assert.Equal(1, summary.Passed);
        Assert.Equal(0, summary.Failed);
        Assert.StartsWith($"{file}:2: error: ", error.Trim());
        Assert.Contains(message, error);
        Assert.Equal("1 passed, 0 failed", output.Trim());
    }

    [Theory]
    [InlineData("binary", "1: error: not a text script: it contains NUL bytes", 0)]
    [InlineData("latin1", "2: error: not a text script: it is not UTF-8", 1)]
    [InlineData("nul-on-line-3", "3: error: not a text script: it contains NUL bytes", 2)]
    public async Task Run_FileThatIsNotText_IsOneClearErrorNamingTheLine(string kind, string message, int passed)
    {
        // The lines before the one that shows it run, as before any script error.
        // It used to be read as text anyway: "unknown command '<4096 characters of NULs or garbage>'".
        using var dir = new TempDirectory();
        var file = dir.File(kind + ".vapic");
        byte[] bytes = kind switch
        {
            "binary" => [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, .. new byte[4096]],
            "latin1" => [.. "clock -> 0\n"u8, .. "clock"u8, 0xE9, .. " -> 0\nclock -> 0\n"u8],
            _ => [.. "clock -> 0\r\nclock -> 0\r\n"u8, 0, 0, (byte)'\n'],
        };
        await File.WriteAllBytesAsync(file, bytes);
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(2, summary.ExitCode);
        Assert.Equal($"{file}:{message}", error.Trim());
        Assert.Equal($"{passed} passed, 0 failed", output.Trim());
    }

    [Fact]
    public async Task Run_ACommentInAnotherEncoding_IsStillAComment()
    {
        // A Latin-1 "# café": the script ran before the not-text check, and runs still.
        using var dir = new TempDirectory();
        var file = dir.File("latin1-comment.vapic");
        await File.WriteAllBytesAsync(file, [.. "clock -> 0\n"u8, .. "# caf"u8, 0xE9, .. "\nclock -> 0 # d"u8, 0xE9, .. "j"u8, 0xE0, .. "\n"u8]);
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(0, summary.ExitCode);
        Assert.Equal("2 passed, 0 failed", output.Trim());
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public async Task Run_Utf16ScriptWithByteOrderMark_StillRuns()
    {
        using var dir = new TempDirectory();
        var file = dir.File("utf16.vapic");
        await File.WriteAllTextAsync(file, "clock -> 0\n# café\n", System.Text.Encoding.Unicode);
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(0, summary.ExitCode);
        Assert.Equal("1 passed, 0 failed", output.Trim());
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public async Task Run_NumberOfMillionsOfDigits_IsABadNumberNotACrash()
    {
        using var dir = new TempDirectory();
        var zeros = new string('0', 8_000_000);
        var file = dir.Write("long.vapic", $"clock -> 0\nreadl 0x{zeros}fee00030 -> 0x{zeros}01060014\nreadl 1{zeros}\nclock -> 0\n");
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(2, summary.ExitCode);
        Assert.Equal($"{file}:3: error: bad number '1{zeros[..63]}... (8000001 characters)' for address", error.Trim());
        Assert.Equal("2 passed, 0 failed", output.Trim());
    }

    [Fact]
    public async Task Run_XApicVmOf255Vcpus_UsesEveryIdUpTo0xFE()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("big.vapic", "vm vcpus=255\ncpu 254\nreadl 0xfee00020 -> 0xfe000000\nvm vcpus=300 mode=x2apic\ncpu 299\nrdmsr 0x802 -> 299\n");
        var (summary, output, error) = await RunAsync(file);

        Assert.Equal(string.Empty, error);
        Assert.Equal("2 passed, 0 failed", output.Trim());
        Assert.Equal(0, summary.ExitCode);
    }

    [Fact]
    public async Task Run_ErrorInOneFile_StillRunsTheOthers()
    {
        using var dir = new TempDirectory();
        var bad = dir.Write("bad.vapic", "bogus\n");
        var good = dir.Write("good.vapic", "vm vcpus=1\nreadl 0xfee000f0 -> 0xff\n");
        var failing = dir.Write("failing.vapic", "readl 0xfee000f0 -> 0x1ff\n");
        var (summary, output, error) = await RunAsync(bad, good, failing);

        Assert.Equal(2, summary.ExitCode);
        Assert.Equal(1, summary.Passed);
        Assert.Equal(1, summary.Failed);
        Assert.Contains($"{bad}:1: error: unknown command 'bogus'", error);
        Assert.Contains($"{failing}:1: expected 0x1ff, got 0xff", output);
        Assert.EndsWith("1 passed, 1 failed", output.Trim());
    }

    [Fact]
    public async Task Run_MissingFile_IsAClearError()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("nope.vapic");
        var (summary, _, error) = await RunAsync(missing);

        Assert.Equal(2, summary.ExitCode);
        Assert.Equal($"{missing}: error: no such file", error.Trim());
    }

    [Fact]
    public async Task Run_EachFile_StartsFromAFreshVm()
    {
        using var dir = new TempDirectory();
        var first = dir.Write("first.vapic", "writel 0xfee00080 0x20\nreadl 0xfee00080 -> 0x20\nclock_step 100 -> 100\n");
        var second = dir.Write("second.vapic", "readl 0xfee00080 -> 0\nclock -> 0\n");
        var (summary, _, _) = await RunAsync(first, second);

        Assert.Equal(0, summary.ExitCode);
        Assert.Equal(4, summary.Passed);
    }

    [Fact]
    public async Task Session_VerbsAndKeywords_AreCaseInsensitive()
    {
        await using var session = new ScenarioSession(fixture.System);
        Assert.Equal(LineOutcomeKind.Passed, (await session.ExecuteAsync("VM VCPUS=2 MODE=X2APIC BOOT=BSP -> ok")).Kind);
        Assert.Equal(LineOutcomeKind.Passed, (await session.ExecuteAsync("RDMSR 0x1B -> 0xFEE00D00")).Kind);
        Assert.Equal(LineOutcomeKind.Executed, (await session.ExecuteAsync("Cpu 1")).Kind);
        Assert.Equal(LineOutcomeKind.Passed, (await session.ExecuteAsync("State -> WAIT-FOR-SIPI")).Kind);
        Assert.Equal(LineOutcomeKind.Passed, (await session.ExecuteAsync("rdmsr 0x802 -> NOT-RUNNING")).Kind);
    }

    [Fact]
    public async Task Session_EveryCommandAHintMayName_IsACommand()
    {
        await using var session = new ScenarioSession(fixture.System);
        await session.ExecuteAsync("vm vcpus=2");
        foreach (var verb in ScenarioSession.Verbs.Where(v => v is not "vm" and not "save" and not "restore"))
        {
            var described = (await session.ExecuteAsync(verb)).Describe();
            Assert.DoesNotContain("unknown command", described, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Session_Outcome_DescribesResultFailureAndError()
    {
        await using var session = new ScenarioSession(fixture.System);
        Assert.Equal("0x1060014", (await session.ExecuteAsync("readl 0xfee00030")).Describe());
        Assert.Equal("expected 5, got 0", (await session.ExecuteAsync("clock -> 5")).Describe());
        Assert.Equal("error: unknown command 'x'", (await session.ExecuteAsync("x")).Describe());
        Assert.Equal(string.Empty, (await session.ExecuteAsync("# nothing")).Describe());
    }

    private async Task<(ScenarioRunSummary Summary, string Output, string Error)> RunAsync(params string[] files)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var summary = await new ScenarioRunner(fixture.System).RunAsync(files, output, error);
        return (summary, output.ToString(), error.ToString());
    }
}
