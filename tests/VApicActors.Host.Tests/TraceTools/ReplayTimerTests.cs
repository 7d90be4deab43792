using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// Timer expiries are inputs of the replay, and what the timer LVT did at each is compared with the trace as a
/// delivery's outcome is, as is what every other LVT did when it fired; a restore's recorded state is compared
/// with the --state file.
/// </summary>
public sealed class ReplayTimerTests
{
    private const string ArmTimer = """
        vm vcpus=1
        writel 0xfee000f0 0x1ff
        writel 0xfee003e0 0xb
        writel 0xfee00320 0x00000031
        writel 0xfee00380 1000
        """;

    [Fact]
    public async Task Replay_StateFileOtherThanTheRestoredOne_SaysSoAndThatTheTimerDidNotFire()
    {
        using var dir = new TempDirectory();
        var armed = dir.File("armed.json");
        var idle = dir.File("idle.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("a.vapic", ArmTimer + $"\nsave {armed}\n"), "--no-trace")).Code);
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("i.vapic", $"vm vcpus=1\nwritel 0xfee000f0 0x1ff\nsave {idle}\n"), "--no-trace")).Code);
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", $"restore {armed}\nclock_step 2000\nirr -> 0x31\n"), "--trace", trace)).Code);

        var right = await Vapic.InvokeAsync("replay", trace, "--state", armed);
        var wrong = await Vapic.InvokeAsync("replay", trace, "--state", idle);

        Assert.Equal((ReplayCommand.Success, ""), (right.Code, right.Error));
        Assert.Contains("IRR 0x31", right.Output);
        // The live timer fired at 1000 ns; from the other file the replay's timer is not armed, and its IRR stays empty.
        Assert.Equal(ReplayCommand.Divergent, wrong.Code);
        Assert.Contains("IRR none", wrong.Output);
        Assert.Contains(
            "line 2 (seq 2): the trace restored timer due in 1000 ns, the state file has none: the --state file is not the one this VM was restored from",
            wrong.Error);
        Assert.Contains("line 5 (seq 5): timer expiry due at 1000 ns: the replay's timer is not armed, the trace says Accepted", wrong.Error);
    }

    [Fact]
    public async Task Replay_TimerOutcomeOtherThanRecorded_IsAMismatch()
    {
        using var dir = new TempDirectory();
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", ArmTimer + "\nclock_step 2000\nirr -> 0x31\n"), "--trace", trace)).Code);
        var text = File.ReadAllText(trace);
        Assert.Contains("\"Event\":\"TimerFired\"", text);
        var altered = dir.Write("altered.clef", text.Replace("\"Seq\":8,\"Detail\":\"Accepted\"", "\"Seq\":8,\"Detail\":\"Coalesced\"", StringComparison.Ordinal));
        Assert.NotEqual(text, File.ReadAllText(altered));

        var replay = await Vapic.InvokeAsync("replay", altered);

        Assert.Equal(ReplayCommand.Divergent, replay.Code);
        Assert.Contains("(seq 8): timer expiry due at 1000 ns ended Accepted, the trace says Coalesced", replay.Error);
        Assert.Equal((ReplayCommand.Success, ""), ((await Vapic.InvokeAsync("replay", trace)).Code, (await Vapic.InvokeAsync("replay", trace)).Error));
    }

    [Fact]
    public async Task Replay_SeveralExpiriesInOneNanosecond_FirstWrittenApart_NoMismatch()
    {
        // At 4 GHz a period of one tick is a quarter of a nanosecond: each call takes several expiries, and when the
        // first sets the IRR bit the others find set, the vAPIC writes it as an event of its own.
        using var dir = new TempDirectory();
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", """
            vm vcpus=1 timer-hz=4000000000
            writel 0xfee000f0 0x1ff
            writel 0xfee003e0 0xb
            writel 0xfee00320 0x00020031
            writel 0xfee00380 1
            clock_step 3
            ack -> 0x31
            clock_step 2
            eoi
            ack -> 0x31
            """), "--trace", trace)).Code);
        Assert.Contains("\"Detail\":\"Coalesced expiries=3\"", File.ReadAllText(trace));

        var replay = await Vapic.InvokeAsync("replay", trace);

        Assert.Equal((ReplayCommand.Success, ""), (replay.Code, replay.Error));
    }

    [Fact]
    public async Task Replay_LocalInterruptOutcomeOtherThanRecorded_IsAMismatch()
    {
        // LINT0 through an unmasked LVT0 sets IRR bit 0x31; an error (an illegal vector sent) fires LVTERR; a
        // TSC deadline in the past fires the timer LVT at once. Each is written after the input that caused it.
        using var dir = new TempDirectory();
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", """
            vm vcpus=1
            writel 0xfee000f0 0x1ff
            writel 0xfee00350 0x00008031
            lint0 1
            writel 0xfee00370 0x33
            writel 0xfee00300 0x00044005
            writel 0xfee00320 0x00040045
            clock_step 5
            wrmsr 0x6e0 1
            irr -> 0x31 0x33 0x45
            """), "--trace", trace)).Code);
        var text = File.ReadAllText(trace);
        Assert.Equal((ReplayCommand.Success, ""), ((await Vapic.InvokeAsync("replay", trace)).Code, (await Vapic.InvokeAsync("replay", trace)).Error));
        var lint = "\"Event\":\"Lint\",\"Register\":\"LVT0\",\"Value\":null,\"Vector\":49,";
        Assert.Contains(lint, text);
        var altered = dir.Write("altered.clef", text.Replace("\"Detail\":\"Accepted\"", "\"Detail\":\"DroppedMasked\"", StringComparison.Ordinal));

        var replay = await Vapic.InvokeAsync("replay", altered);

        Assert.Equal(ReplayCommand.Divergent, replay.Code);
        var seqs = text.Split('\n').Where(l => l.Contains("\"Detail\":\"Accepted\"", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("\"Seq\":", StringComparison.Ordinal) + 6)..l.IndexOf(",\"Detail", StringComparison.Ordinal)]).ToList();
        Assert.Equal(3, seqs.Count);
        Assert.Contains($"(seq {seqs[0]}): LVT0 fired (Accepted), the trace says LVT0 (DroppedMasked)", replay.Error);
        Assert.Contains($"(seq {seqs[1]}): LVTERR fired (Accepted), the trace says LVTERR (DroppedMasked)", replay.Error);
        Assert.Contains($"(seq {seqs[2]}): LVTT fired (Accepted), the trace says LVTT (DroppedMasked)", replay.Error);
    }

    [Fact]
    public async Task Replay_WriteOrEoiResultOtherThanRecorded_IsAMismatch()
    {
        // An x2APIC MSR faults in xAPIC mode; the EOI of a vCPU waiting for SIPI does not run.
        using var dir = new TempDirectory();
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", """
            vm vcpus=2 boot=bsp
            wrmsr 0x808 0x20 -> #GP
            cpu 1
            eoi
            """), "--trace", trace)).Code);
        var text = File.ReadAllText(trace);
        Assert.Equal((ReplayCommand.Success, ""), ((await Vapic.InvokeAsync("replay", trace)).Code, (await Vapic.InvokeAsync("replay", trace)).Error));
        Assert.Contains("\"Detail\":\"msr=0x808 result=#GP\"", text);
        Assert.Contains("\"Event\":\"Eoi\"", text);
        var altered = dir.Write("altered.clef", text
            .Replace("\"Detail\":\"msr=0x808 result=#GP\"", "\"Detail\":\"msr=0x808 result=0x0\"", StringComparison.Ordinal)
            .Replace("\"Detail\":\"not-running\"", "\"Detail\":\"0x0\"", StringComparison.Ordinal));

        var replay = await Vapic.InvokeAsync("replay", altered);

        Assert.Equal(ReplayCommand.Divergent, replay.Code);
        Assert.Contains("APIC 0x0: line ", replay.Error);
        Assert.Contains("MsrWrite TPR gave #GP, the trace says 0x0", replay.Error);
        Assert.Contains("EOI gave not-running, the trace says 0x0", replay.Error);
    }

    [Fact]
    public async Task Replay_StateFileWithoutTheRestoredApic_SaysTheFileLacksItNotThatNoneWasGiven()
    {
        using var dir = new TempDirectory();
        var two = dir.File("two.json");
        var three = dir.File("three.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("s.vapic", $"vm vcpus=2\nsave {two}\nvm vcpus=3\nsave {three}\n"), "--no-trace")).Code);
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("t.vapic", $"restore {three}\n"), "--trace", trace)).Code);

        var replay = await Vapic.InvokeAsync("replay", trace, "--state", two);

        Assert.Equal(ReplayCommand.Divergent, replay.Code);
        Assert.DoesNotContain("not given", replay.Error);
        var line = Assert.Single(replay.Error.Split(Environment.NewLine), l => l.Contains("APIC 0x2:", StringComparison.Ordinal));
        Assert.EndsWith(
            "(seq 2): restored, but the --state file has no vCPU 2 with APIC ID 0x2: it is not the one this VM was restored from; the replay goes on from the state before the restore",
            line);
        Assert.Equal((ReplayCommand.Success, ""), ((await Vapic.InvokeAsync("replay", trace, "--state", three)).Code, (await Vapic.InvokeAsync("replay", trace, "--state", three)).Error));
    }

    [Fact]
    public async Task Replay_TraceAndStateBothFromStandardInput_Refused()
    {
        using var dir = new TempDirectory();
        var state = dir.File("s.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("run", dir.Write("s.vapic", $"vm vcpus=1\nsave {state}\n"), "--no-trace")).Code);

        var replay = await Vapic.InvokeWithInputAsync(File.ReadAllText(state), "replay", "-", "--state", "-");

        Assert.Equal((ReplayCommand.UsageError, ""), (replay.Code, replay.Output));
        Assert.Equal("vapic: the trace and the --state file cannot both be read from standard input: give one of them as a file" + Environment.NewLine, replay.Error);
    }
}
