using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class TraceViewCommandTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    [Fact]
    public async Task Run_NoFilter_OneReadableLinePerEvent()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var (code, output, _) = Run(path, null);

        Assert.Equal(TraceViewCommand.Success, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(File.ReadAllLines(path).Length, lines.Length);
        Assert.Contains(lines, l => l.Contains("apic=0x0", StringComparison.Ordinal) && l.Contains("IpiSent", StringComparison.Ordinal)
            && l.Contains("value=0x4041 vector=0x41 to=\"physical 0x1\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  0.000000300 timeline ", StringComparison.Ordinal) && l.Contains("Acknowledged", StringComparison.Ordinal)
            && l.Contains("vector=0x61", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("MmioWrite", StringComparison.Ordinal) && l.Contains("LVTT", StringComparison.Ordinal)
            && l.Contains("value=0xee", StringComparison.Ordinal) && l.Contains("[addr=0xFEE00320 size=4 result=0x0]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_Filter_KeepsOnlyTheSelectedEvents()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);

        var (code, output, error) = Run(path, "ApicId = 1 and Vector = 0x61");

        Assert.Equal(TraceViewCommand.Success, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Contains("apic=0x1 ", l));
        Assert.Contains(lines, l => l.Contains("Accepted", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Acknowledged", StringComparison.Ordinal));
        Assert.Contains("2 of ", error);

        var (_, ipis, _) = Run(path, "Event in ['IpiSent'] and Destination like 'all%'");
        Assert.Single(ipis.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Run_IcrWriteThatSentNothing_SaysWhy()
    {
        const string script = """
            vm vcpus=2
            cpu 0
            writel 0xfee000f0 0x1ff
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004005
            writel 0xfee00300 0x00044400
            writel 0xfee00300 0x00008500
            writel 0xfee00300 0x00004041
            vm vcpus=1 mode=x2apic
            wrmsr 0x80f 0x1ff
            wrmsr 0x83f 0x7
            """;
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "icr", script);

        var (code, output, _) = Run(path, "Register in ['ICR', 'SELF_IPI']");

        Assert.Equal(TraceViewCommand.Success, code);
        var notes = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.IndexOf("]  ", StringComparison.Ordinal) is var at and >= 0 ? l[(at + 3)..].TrimEnd('\r') : "").ToArray();
        Assert.Equal(
        [
            "sends nothing: vector 0x5 is illegal for a fixed IPI (0-15); the APIC records ESR 0x20 (send illegal vector)",
            "sends nothing: an NMI to self is invalid and ignored",
            "sends nothing: an INIT level de-assert is ignored",
            "",
            "sends nothing: vector 0x7 is illegal (0-15); the APIC records ESR 0x20 (send illegal vector)",
        ], notes);
    }

    [Fact]
    public async Task Run_MsrAccessThatFaulted_SaysWhyItRaisedGp()
    {
        const string script = """
            vm vcpus=2 mode=x2apic
            cpu 0
            wrmsr 0x80f 0x1ff
            wrmsr 0x830 0x0000000100102041 -> #GP
            wrmsr 0x802 5 -> #GP
            wrmsr 0x808 0x100 -> #GP
            wrmsr 0x80b 1 -> #GP
            rdmsr 0x80e -> #GP
            wrmsr 0x1b 0xfee00900 -> #GP
            cpu 1
            wrmsr 0x1b 0xfee00000
            wrmsr 0x80f 0x1ff -> #GP
            """;
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "gp", script);

        var (code, output, _) = Run(path, "Detail like '%#GP%'");

        Assert.Equal(TraceViewCommand.Success, code);
        var reasons = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf("]  ", StringComparison.Ordinal) + 3)..].TrimEnd('\r'));
        Assert.Equal(
        [
            "#GP: reserved ICR bits set (0x102000; bits 31:20, 17:16 and 13 must be 0)",
            "#GP: ID is read-only",
            "#GP: TPR bits 31:8 are reserved (0x100)",
            "#GP: only 0 may be written to EOI",
            "#GP: no x2APIC register at MSR 0x80e",
            "#GP: an x2APIC cannot go back to xAPIC mode: disable it (EN and EXTD clear) first",
            "#GP: the APIC is disabled: x2APIC MSRs answer only in x2APIC mode",
        ], reasons);
    }

    [Fact]
    public async Task Run_AcknowledgeThatFoundNothing_SaysWhy()
    {
        // APIC 1: software-disabled, then nothing pending, then 0x41 held back by TPR 0x50, then 0x45 in service
        // holds back 0x42; APIC 2 is restored, so its IRR, ISR and TPR are not in the trace: no reason.
        const string script = """
            vm vcpus=3
            cpu 1
            ack -> none
            writel 0xfee000f0 0x1ff
            ack -> none
            writel 0xfee00080 0x50
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            cpu 1
            ack -> none
            writel 0xfee00080 0
            ack -> 0x41
            eoi
            cpu 0
            writel 0xfee00300 0x00004045
            cpu 1
            ack -> 0x45
            cpu 0
            writel 0xfee00300 0x00004042
            cpu 1
            ack -> none
            save saved.json
            restore saved.json
            cpu 2
            ack -> none
            """;
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "ack", script);

        var (code, output, _) = Run(path, "Event = 'Acknowledged' and Detail = 'none'");

        Assert.Equal(TraceViewCommand.Success, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(5, lines.Count);
        string[] reasons =
        [
            "[none]  nothing to take: nothing pending in IRR, and the APIC is software-disabled (SVR bit 8 clear): it discards fixed interrupts",
            "[none]  nothing to take: nothing pending in IRR",
            "[none]  nothing to take: the highest pending vector 0x41 is blocked by TPR 0x50: its priority class 4 is not above PPR 0x50",
            "[none]  nothing to take: the highest pending vector 0x42 is blocked by 0x45 in service, not EOI'd: its priority class 4 is not above PPR 0x40",
        ];
        for (var i = 0; i < reasons.Length; i++)
        {
            Assert.EndsWith(reasons[i], lines[i]);
        }
        Assert.EndsWith("[none]", lines[4]);
    }

    [Theory]
    [InlineData("Vector = (")]
    [InlineData("NoSuchFunction(Vector)")]
    public async Task Run_BadExpression_ClearErrorAndExitTwo(string filter)
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);

        var (code, output, error) = Run(path, filter);

        Assert.Equal(TraceViewCommand.UsageError, code);
        Assert.Equal("", output);
        Assert.Contains($"invalid filter \"{filter}\"", error);
    }

    [Fact]
    public async Task Run_MalformedLines_NamedOnStandardErrorAndTheRestPrinted()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var lines = File.ReadAllLines(path).ToList();
        lines.Insert(1, "{\"Vm\":");
        var broken = dir.Write("broken.clef", string.Join('\n', lines));

        var (code, output, error) = Run(broken, null);

        Assert.Equal(TraceViewCommand.SkippedLines, code);
        Assert.Contains($"{broken}:2: error: not a JSON line", error);
        Assert.Equal(lines.Count - 1, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Format_ServiceRequestWithoutVirtualTime_ShowsADashForTheTime()
    {
        var events = ClefTraceReader.Read(
            [
                """{"Vm":"s1-1","ApicId":0,"Event":"ServiceRequest","VirtualTimeNs":-1,"Seq":1,"Detail":"session=1 request=\"vm vcpus=2\" response=\"OK\""}""",
                """{"Vm":"s1-1","ApicId":0,"Event":"MmioWrite","Register":"SVR","Value":511,"VirtualTimeNs":1500000300,"Seq":2,"Detail":"addr=0xFEE000F0 size=4 result=0x0"}""",
            ],
            "svc.clef").Events;

        Assert.Equal("            - s1-1 apic=0x0  #1      ServiceRequest -             [session=1 request=\"vm vcpus=2\" response=\"OK\"]",
            TraceViewCommand.Format(events[0]));
        Assert.StartsWith("  1.500000300 s1-1 apic=0x0  #2      MmioWrite      SVR          value=0x1ff", TraceViewCommand.Format(events[1]));
    }

    [Fact]
    public void Format_TimerEvents_ShowTheirDueTimeAsATime_NotAsHexNanoseconds()
    {
        var events = ClefTraceReader.Read(
            [
                """{"Vm":"t-2","ApicId":0,"Event":"TimerArmed","Register":"LVTT","Value":160000,"VirtualTimeNs":0,"Seq":8}""",
                """{"Vm":"t-2","ApicId":0,"Event":"TimerFired","Register":"LVTT","Value":1000160000,"Vector":239,"VirtualTimeNs":1000160000,"Seq":11,"Detail":"Accepted"}""",
                """{"Vm":"t-2","ApicId":0,"Event":"TimerFired","Register":"LVTT","Vector":236,"VirtualTimeNs":165100,"Seq":40,"Detail":"Accepted"}""",
            ],
            "timer.clef").Events;

        // The due time read "value=0x27100", beside a first column in decimal seconds.
        Assert.Equal("  0.000000000 t-2 apic=0x0  #8      TimerArmed     LVTT         due=0.000160000", TraceViewCommand.Format(events[0]));
        Assert.Equal("  1.000160000 t-2 apic=0x0  #11     TimerFired     LVTT         due=1.000160000 vector=0xef  [Accepted]", TraceViewCommand.Format(events[1]));
        Assert.Equal("  0.000165100 t-2 apic=0x0  #40     TimerFired     LVTT         vector=0xec  [Accepted]", TraceViewCommand.Format(events[2]));
    }

    [Fact]
    public void Run_MissingFile_ExitTwo()
    {
        var (code, _, error) = Run(Path.Combine(Path.GetTempPath(), "no-such-trace-" + Guid.NewGuid().ToString("N") + ".clef"), null);

        Assert.Equal(TraceViewCommand.UsageError, code);
        Assert.Contains("cannot read the trace", error);
    }

    [Fact]
    public async Task DocExample_TheTraceToolsPage_ShowsLinesThatViewPrints()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var (_, output, _) = Run(path, null);
        Assert.Equal("timeline", ClefTraceReader.ReadFile(path).Events[0].Vm);
        var printed = output.Split('\n').Select(l => l.TrimEnd()).ToList();

        var page = File.ReadAllText(DocFile("trace-tools.md")).ReplaceLineEndings("\n");
        var section = page[page.IndexOf("## `vapic trace view`", StringComparison.Ordinal)..];
        var example = section.Split("```")[1].Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(2, example.Length);
        var at = new List<int>();
        foreach (var line in example)
        {
            at.Add(printed.IndexOf(line.TrimEnd()));
            Assert.True(at[^1] >= 0, "view does not print the documented line: " + line);
        }
        Assert.True(at[0] < at[1], "the documented lines are not in the order view prints them");
    }

    internal static string DocFile(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VApicActors.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        return Path.Combine(dir.FullName, "docs", name);
    }

    [Fact]
    public async Task Run_Dash_ReadsTheTraceFromStandardInput()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var output = new StringWriter();
        var error = new StringWriter();

        var code = TraceViewCommand.Run("-", "Event = 'IpiSent'", output, error, new StringReader(File.ReadAllText(path)));

        Assert.Equal(TraceViewCommand.Success, code);
        var ipis = File.ReadAllLines(path).Count(l => l.Contains("\"Event\":\"IpiSent\"", StringComparison.Ordinal));
        Assert.True(ipis > 1);
        Assert.Equal(ipis, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains($"{ipis} of {File.ReadAllLines(path).Length} events shown", error.ToString());
    }

    [Fact]
    public async Task ExportAndReplay_Dash_ReadStandardInputLikeTheFile()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var text = File.ReadAllText(path);

        var fromFile = new StringWriter();
        var fromStdin = new StringWriter();
        Assert.Equal(ReplayCommand.Success, ReplayCommand.Run(path, null, null, null, null, fromFile, new StringWriter()));
        Assert.Equal(ReplayCommand.Success, ReplayCommand.Run("-", null, null, null, null, fromStdin, new StringWriter(), stdin: new StringReader(text)));
        Assert.Equal(fromFile.ToString(), fromStdin.ToString());

        var timeline = dir.File("stdin.json");
        var exported = new StringWriter();
        Assert.Equal(TraceExportCommand.Success, TraceExportCommand.Run("-", "chrome", timeline, exported, new StringWriter(), new StringReader(text)));
        Assert.Contains("IPI arrows", exported.ToString());
        Assert.NotEmpty(ChromeTraceFile.Load(timeline).Events);
    }

    [Fact]
    public async Task Run_ReadFailsPartWay_KeepsWhatWasPrintedAndNamesTheFile()
    {
        using var dir = new TempDirectory();
        var lines = File.ReadAllLines(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline));
        var output = new StringWriter();
        var error = new StringWriter();

        // Standard input that breaks after five lines, the way a pipe from a failing producer or a vanished disk does.
        var code = TraceViewCommand.Run("-", null, output, error, new FailingReader(lines.Take(5)));

        Assert.Equal(TraceViewCommand.UsageError, code);
        Assert.Equal(5, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("-: error: cannot read the trace after 5 events: the device went away", error.ToString());
        Assert.Contains("5 of 5 events shown before the read failed", error.ToString());
    }

    [Fact]
    public async Task Run_BinaryFile_OneErrorNamingTheLineNotOnePerLine()
    {
        using var dir = new TempDirectory();
        var lines = File.ReadAllLines(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline));
        // Two good events, then what a crash leaves at the end of a file: blocks of zeros, here with newlines in them.
        var zeros = new string('\0', 100);
        var path = dir.Write("zeroed.clef", lines[0] + "\n" + lines[1] + "\n" + string.Join('\n', Enumerable.Repeat(zeros, 50)));

        var (code, output, error) = Run(path, null);

        Assert.Equal(TraceViewCommand.SkippedLines, code);
        Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var errors = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": error: ", StringComparison.Ordinal)).ToList();
        Assert.Equal($"{path}:3: error: binary data (a NUL byte), not trace text: the rest of the file is not read", Assert.Single(errors));
        Assert.DoesNotContain('\0', error);
    }

    [Fact]
    public void Run_AScriptOnStandardInput_OneLineSaysItIsNotATrace()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = TraceViewCommand.Run("-", null, output, error, new StringReader(SimulatorTraces.Timeline));

        Assert.Equal(TraceViewCommand.UsageError, code);
        Assert.Equal("", output.ToString());
        Assert.Equal("- does not look like a message trace (the first 20 lines are not trace events)", error.ToString().Trim());
    }

    [Fact]
    public void Run_AKvmTraceForAMessageTrace_TheRefusalNamesTheImport()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = TraceViewCommand.Run("-", null, output, error, new StringReader(KvmTraceExcerpts.X2ApicReschedule));

        Assert.Equal(TraceViewCommand.UsageError, code);
        Assert.Equal("", output.ToString());
        var line = Assert.Single(error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("- does not look like a message trace (", line, StringComparison.Ordinal);
        Assert.EndsWith("; it looks like a KVM trace (trace-cmd report, perf script): vapic trace import-kvm turns one into a scenario)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NineteenBadLinesThenEvents_EachBadLineReported_TheEventsShown()
    {
        using var dir = new TempDirectory();
        var events = File.ReadAllLines(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline));
        var junk = Enumerable.Range(1, 19).Select(i => $"junk {i}");
        var path = dir.Write("junk-first.clef", string.Join('\n', junk.Concat(events)) + "\n");

        var (code, output, error) = Run(path, null);

        Assert.Equal(TraceViewCommand.SkippedLines, code);
        Assert.Equal(events.Length, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var errors = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": error: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(1, 19).Select(i => $"{path}:{i}: error: "), errors.Select(l => l[..(l.IndexOf(": error: ", StringComparison.Ordinal) + 9)]));
        Assert.DoesNotContain("does not look like", error);
    }

    [Fact]
    public void Run_AShortInputWithNoEvent_IsNotATrace_ButOneTornLineIsReportedWithItsReason()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("short.vapic", "vm vcpus=2\n\ncpu 1\nack -> none\n");
        var torn = dir.Write("torn.clef", "{\"Vm\":\"v\",\"ApicId\":1,\"Ev");

        var (scriptCode, scriptOutput, scriptError) = Run(script, null);
        var (tornCode, _, tornError) = Run(torn, null);

        Assert.Equal(TraceViewCommand.UsageError, scriptCode);
        Assert.Empty(scriptOutput);
        Assert.Equal($"{script} does not look like a message trace (none of its 3 lines is a trace event)", scriptError.Trim());
        Assert.Equal(TraceViewCommand.SkippedLines, tornCode);
        Assert.StartsWith($"{torn}:1: error: ", tornError);
        Assert.DoesNotContain("does not look like", tornError);
    }

    private sealed class FailingReader(IEnumerable<string> lines) : TextReader
    {
        private readonly IEnumerator<string> _lines = lines.GetEnumerator();

        public override string? ReadLine() => _lines.MoveNext() ? _lines.Current : throw new IOException("the device went away");
    }

    private static (int Code, string Output, string Error) Run(string path, string? filter)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = TraceViewCommand.Run(path, filter, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
