using VApicActors.Actors;
using VApicActors.Host.Scenarios;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class ReplayTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    /// <summary>x2APIC: MSR accesses, a self IPI, TPR masking, a periodic timer over several expiries, a logical IPI, LINT0.</summary>
    public const string X2ApicWork = """
        vm vcpus=4 mode=x2apic timer-hz=250000000
        cpu 0
        wrmsr 0x80f 0x1ff
        wrmsr 0x835 0x00000721
        cpu 1
        wrmsr 0x80f 0x1ff
        wrmsr 0x808 0x20
        cpu 2
        wrmsr 0x80f 0x1ff
        cpu 3
        wrmsr 0x80f 0x1ff
        cpu 0
        wrmsr 0x83f 0x33
        wrmsr 0x830 0x0000000100000041
        wrmsr 0x830 0x0000000100004861
        wrmsr 0x830 0x0000000600000851
        wrmsr 0x3e0 0
        cpu 1
        wrmsr 0x832 0x000200ef
        wrmsr 0x838 1000
        clock_step 10000
        ack -> 0xef
        clock_step 5000
        eoi
        ack -> 0x51
        clock_step 2000
        lint0 1
        cpu 0
        ack -> 0x61
        rdmsr 0x80a
        cpu 2
        rdmsr 0x839
        cpu 1
        rdmsr 0x839
        """;

    [Theory]
    [InlineData(nameof(SimulatorTraces.Timeline))]
    [InlineData(nameof(X2ApicWork))]
    public async Task Replay_ScenarioRun_RebuildsEveryPageByteForByte(string name)
    {
        var script = name == nameof(X2ApicWork) ? X2ApicWork : SimulatorTraces.Timeline;
        using var dir = new TempDirectory();
        var (tracePath, live, vmName) = await RunAndObserveAsync(dir, script);

        var trace = ClefTraceReader.ReadFile(tracePath);
        var result = TraceReplayer.Replay(trace.Events, new ReplayOptions(Vm: vmName, AtNs: live.State.VirtualTimeNs));

        Assert.Empty(trace.Errors);
        AssertSameAsLive(live.State, live.Snapshots, result);
    }

    [Fact]
    public async Task Replay_ConcurrentDrivers_RebuildsEveryPageByteForByte()
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("concurrent.clef");
        VmState live;
        List<ApicSnapshot> snapshots;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            await using var vm = await VmHandle.CreateAsync(fixture.System, new VmSpec("concurrent", 8, TimerHz: 100_000_000), sink);
            await ConcurrentWorkload.RunAsync(fixture.System, vm, operationsPerVcpu: 400, seed: 7);
            live = await vm.SaveAsync();
            snapshots = [];
            for (var i = 0; i < vm.VcpuCount; i++)
            {
                snapshots.Add(await vm.SnapshotAsync(i));
            }
        }

        var trace = ClefTraceReader.ReadFile(tracePath);
        var result = TraceReplayer.Replay(trace.Events, new ReplayOptions(Vm: "concurrent", AtNs: live.VirtualTimeNs));

        Assert.Empty(trace.Errors);
        Assert.True(trace.Events.Count(e => e.Event == "IpiSent") > 500, "the workload sent too few IPIs to mean anything");
        Assert.Contains(trace.Events, e => e.Event == "Coalesced");
        Assert.Contains(trace.Events, e => e.Event == "TimerFired");
        AssertSameAsLive(live, snapshots, result);
    }

    [Fact]
    public async Task Replay_UntilSeq_StopsAfterThatEvent()
    {
        using var dir = new TempDirectory();
        var (tracePath, _, vmName) = await RunAndObserveAsync(dir, SimulatorTraces.Timeline);
        var events = ClefTraceReader.ReadFile(tracePath).Events;
        var ackOf0x61 = events.Single(e => e.Vm == vmName && e.Event == "Acknowledged" && e.Vector == 0x61);

        var before = Assert.Single(TraceReplayer.Replay(events, new ReplayOptions(vmName, 1, ackOf0x61.Seq - 1)).Apics);
        var after = Assert.Single(TraceReplayer.Replay(events, new ReplayOptions(vmName, 1, ackOf0x61.Seq)).Apics);

        Assert.Equal([0x41], before.Snapshot.Isr.Vectors());
        Assert.Equal([0x51, 0x61], before.Snapshot.Irr.Vectors());
        Assert.Equal([0x41, 0x61], after.Snapshot.Isr.Vectors());
        Assert.Equal([0x51], after.Snapshot.Irr.Vectors());
        Assert.Equal(ackOf0x61.Seq, after.LastSeq);
    }

    [Fact]
    public async Task ReplayCommand_WritesThePageOrPrintsTheRegisters()
    {
        using var dir = new TempDirectory();
        var (tracePath, _, vmName) = await RunAndObserveAsync(dir, SimulatorTraces.Timeline);
        var page = dir.File("apic1.bin");
        var output = new StringWriter();
        var error = new StringWriter();

        var code = ReplayCommand.Run(tracePath, vmName, 1, null, page, output, error);

        Assert.Equal(ReplayCommand.Success, code);
        var bytes = File.ReadAllBytes(page);
        Assert.Equal(ApicOffsets.PageSize, bytes.Length);
        var replayed = TraceReplayer.Replay(ClefTraceReader.ReadFile(tracePath).Events, new ReplayOptions(vmName, 1)).Apics[0];
        Assert.Equal(replayed.State.Page, bytes);
        Assert.Equal(0x1ffu, BitConverter.ToUInt32(bytes, (int)ApicOffsets.Svr));

        output = new StringWriter();
        Assert.Equal(ReplayCommand.Success, ReplayCommand.Run(tracePath, vmName, 1, null, null, output, error));
        var text = output.ToString();
        Assert.Contains("SVR      0x000001ff", text);
        Assert.Contains("ISR 0xee", text);
        Assert.Contains("LVTT     0x000000ee", text);

        Assert.Equal(ReplayCommand.UsageError, ReplayCommand.Run(tracePath, vmName, null, null, page, TextWriter.Null, error));
        Assert.Contains("choose one with --vm and --apic", error.ToString());
        // How many APICs the selection matched, in words (it read "but VM x matches 4").
        Assert.Contains($"-o writes one APIC's page, but 3 APICs match (VM {vmName}): choose one with --vm and --apic", error.ToString());
        error = new StringWriter();
        Assert.Equal(ReplayCommand.UsageError, ReplayCommand.Run(tracePath, null, null, null, page, TextWriter.Null, error));
        Assert.Contains("-o writes one APIC's page, but 3 APICs match (no --vm or --apic given): choose one with --vm and --apic", error.ToString());

        // A selection that names nothing in the trace, said as trace ipis says it (it read "of any VM, APIC 0x7").
        foreach (var (vm, apic, what) in new (string?, uint?, string)[] { (null, 7, "APIC 0x7"), (vmName, 7, $"APIC 0x7 (VM {vmName})"), ("nope", null, $"VM nope; its VMs: {vmName}"), ("nope", 1, $"VM nope; its VMs: {vmName}") })
        {
            error = new StringWriter();
            Assert.Equal(ReplayCommand.UsageError, ReplayCommand.Run(tracePath, vm, apic, null, null, TextWriter.Null, error));
            Assert.Equal($"vapic: {tracePath} has no events of {what}", error.ToString().Trim());
        }
    }

    [Fact]
    public async Task Replay_MalformedLines_NamedAndTheRestReplayed()
    {
        using var dir = new TempDirectory();
        var (tracePath, live, vmName) = await RunAndObserveAsync(dir, SimulatorTraces.Timeline);
        var lines = File.ReadAllLines(tracePath).ToList();
        lines.Insert(0, "garbage");
        var broken = dir.Write("broken.clef", string.Join('\n', lines));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = ReplayCommand.Run(broken, vmName, 1, null, null, output, error);

        Assert.Equal(ReplayCommand.Divergent, code);
        Assert.Contains($"{broken}:1: error: not a JSON line", error.ToString());
        var replayed = TraceReplayer.Replay(ClefTraceReader.ReadFile(broken).Events, new ReplayOptions(vmName, 1, AtNs: live.State.VirtualTimeNs)).Apics[0];
        Assert.True(live.State.Apics[1].Page.SequenceEqual(replayed.State.Page));
        Assert.Equal(live.Snapshots[1], replayed.Snapshot);
    }

    [Fact]
    public void Replay_RecordedReadDisagrees_CountsTheMismatch()
    {
        var lines = new[]
        {
            """{"Vm":"v","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":1,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""",
            """{"Vm":"v","ApicId":0,"Event":"MmioRead","Register":"TPR","Value":48,"VirtualTimeNs":0,"Seq":2,"Detail":"addr=0xFEE00080 size=4 result=0x30"}""",
        };

        var apic = Assert.Single(TraceReplayer.Replay(ClefTraceReader.Read(lines, "t").Events, new ReplayOptions()).Apics);

        Assert.Equal(1, apic.Mismatches);
        Assert.Equal(0x20, apic.Snapshot.Tpr);
        Assert.Contains(apic.Notes, n => n.Contains("gave 0x20, the trace says 0x30", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, "x2apic=false timer-hz=0 tsc-hz=1000000000", "timer-hz=0 is not a clock rate (a number of Hz above 0)")]
    [InlineData(0, "x2apic=false timer-hz=1000000000 tsc-hz=fast", "tsc-hz=fast is not a clock rate (a number of Hz above 0)")]
    [InlineData(0x1ff, "x2apic=false timer-hz=1000000000 tsc-hz=1000000000", "APIC ID 0x1ff with x2apic=false: an xAPIC ID is at most 0xfe")]
    public void Replay_ApicCreatedNoApicCanHave_ReportedAsASkippedLine(int apicId, string detail, string reason)
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("created.clef", string.Join('\n',
            $$"""{"Vm":"v","ApicId":{{apicId}},"Event":"ApicCreated","Value":{{apicId}},"VirtualTimeNs":0,"Seq":1,"Detail":"index=0 bsp=true running=true {{detail}}"}""",
            $$"""{"Vm":"v","ApicId":{{apicId}},"Event":"MmioWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":2,"Detail":"addr=0xFEE00080 size=4 result=0x0"}"""));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = ReplayCommand.Run(trace, null, null, null, null, output, error);

        Assert.Equal(ReplayCommand.Divergent, code);
        Assert.Contains($"{trace}:1: error: ApicCreated: {reason}: skipped", error.ToString());
        Assert.Contains("ApicCreated not usable: assumed vCPU 0 (BSP)", error.ToString());
        Assert.Contains("1 input replayed up to seq 2", output.ToString());
    }

    [Theory]
    [InlineData("MmioRead", "addr=0xFEE00080 size=3 result=0x0", "MmioRead without its address, a size of 1, 2, 4 or 8 bytes: skipped")]
    [InlineData("MmioWrite", "addr=0xFEE00080 size=0 result=0x0", "MmioWrite without its address, a size of 1, 2, 4 or 8 bytes or its value: skipped")]
    [InlineData("MsrWrite", "msr=0x100000808 result=0x0", "MsrWrite without its MSR (32 bits) or its value: skipped")]
    [InlineData("MsrRead", "msr=0x100000808 result=0x0", "MsrRead without its MSR (32 bits): skipped")]
    public void Replay_AccessNoGuestCanMake_SkippedNamingItsLine(string access, string detail, string reason)
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("access.clef", string.Join('\n',
            """{"Vm":"v","ApicId":0,"Event":"ApicCreated","Value":0,"VirtualTimeNs":0,"Seq":1,"Detail":"index=0 bsp=true x2apic=true running=true"}""",
            $$"""{"Vm":"v","ApicId":0,"Event":"{{access}}","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":2,"Detail":"{{detail}}"}""",
            """{"Vm":"v","ApicId":0,"Event":"MsrWrite","Register":"TPR","Value":48,"VirtualTimeNs":0,"Seq":3,"Detail":"msr=0x808 result=0x0"}"""));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = ReplayCommand.Run(trace, null, null, null, null, output, error);

        Assert.Equal(ReplayCommand.Divergent, code);
        Assert.Equal($"{trace}:2: error: {reason}", error.ToString().Trim());
        Assert.Contains("1 input replayed up to seq 3", output.ToString());
        Assert.Contains("TPR      0x00000030", output.ToString());
    }

    [Fact]
    public void Replay_ServiceRequestEvents_KeptOutOfTheApicsSeq()
    {
        using var dir = new TempDirectory();
        const string Created = "index=0 bsp=true x2apic=false running=true timer-hz=1000000000 tsc-hz=1000000000";
        var trace = dir.Write("svc.clef", string.Join('\n',
            $$"""{"Vm":"s1-1","ApicId":0,"Event":"ApicCreated","Value":0,"VirtualTimeNs":0,"Seq":1,"Detail":"{{Created}}"}""",
            """{"Vm":"s1-1","ApicId":0,"Event":"ServiceRequest","VirtualTimeNs":-1,"Seq":1,"Detail":"session=1 request=\"vm vcpus=1\" response=\"OK\""}""",
            """{"Vm":"s1-1","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":2,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""",
            """{"Vm":"s1-1","ApicId":0,"Event":"ServiceRequest","VirtualTimeNs":-1,"Seq":2,"Detail":"session=1 request=\"writel 0xfee00080 0x20\" response=\"OK\""}""",
            """{"Vm":"s1-1","ApicId":0,"Event":"MmioRead","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":3,"Detail":"addr=0xFEE00080 size=4 result=0x20"}""",
            """{"Vm":"s1-1","ApicId":0,"Event":"ServiceRequest","VirtualTimeNs":-1,"Seq":3,"Detail":"session=1 request=\"readl 0xfee00080\" response=\"0x20\""}"""));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = ReplayCommand.Run(trace, null, null, null, null, output, error);

        Assert.Equal(ReplayCommand.Success, code);
        Assert.Equal("", error.ToString());
        Assert.Contains("VM s1-1 APIC 0x0 (vCPU 0): 2 inputs replayed up to seq 3, at 0 ns", output.ToString());
        Assert.Contains("TPR      0x00000020", output.ToString());
    }

    [Fact]
    public void Replay_RepeatedSeq_SaysItRepeats()
    {
        var write = """{"Vm":"v","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":2,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""";
        var lines = new[]
        {
            """{"Vm":"v","ApicId":0,"Event":"ApicCreated","Value":0,"VirtualTimeNs":0,"Seq":1,"Detail":"index=0 bsp=true x2apic=false running=true"}""",
            write,
            write,
            """{"Vm":"v","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":48,"VirtualTimeNs":0,"Seq":5,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""",
        };

        var apic = Assert.Single(TraceReplayer.Replay(ClefTraceReader.Read(lines, "t").Events, new ReplayOptions()).Apics);

        Assert.Equal(
            ["line 3: Seq 2 repeats: more than one event has it, the replay may differ",
             "line 4: Seq jumps from 2 to 5: events are missing (a trace filter?), the replay may differ"],
            apic.Notes);
    }

    [Fact]
    public void Replay_ApicsWithApicCreated_ReplayedAsReadWithoutKeepingEvents()
    {
        const string Created = "index={0} bsp={1} x2apic=false running=true timer-hz=1000000000 tsc-hz=1000000000";
        var lines = new List<string>
        {
            $$"""{"Vm":"v","ApicId":0,"Event":"ApicCreated","Value":0,"VirtualTimeNs":0,"Seq":1,"Detail":"{{string.Format(Created, 0, "true")}}"}""",
            $$"""{"Vm":"v","ApicId":1,"Event":"ApicCreated","Value":1,"VirtualTimeNs":0,"Seq":1,"Detail":"{{string.Format(Created, 1, "false")}}"}""",
        };
        // Each APIC writes its TPR 1000 times, the last value 0x20 + its ID.
        for (var i = 0; i < 1000; i++)
        {
            foreach (var id in new[] { 0, 1 })
            {
                var value = i == 999 ? 0x20 + id : i % 16;
                lines.Add($$"""{"Vm":"v","ApicId":{{id}},"Event":"MmioWrite","Register":"TPR","Value":{{value}},"VirtualTimeNs":{{i}},"Seq":{{i + 2}},"Detail":"addr=0xFEE00080 size=4 result=0x0"}""");
            }
        }
        using var replay = new TraceReplay(new ReplayOptions());
        foreach (var e in ClefTraceReader.Stream(lines, "t", error => Assert.Fail(error.ToString())))
        {
            replay.Add(e);
            Assert.Equal(0, replay.EventsKept);
        }
        Assert.Equal(2, replay.ApicsReplayedAsRead);

        var result = replay.Finish();

        Assert.Equal([0x20, 0x21], result.Apics.Select(a => (int)a.Snapshot.Tpr));
        Assert.All(result.Apics, a => Assert.Equal((1000, 1001L, 999L), (a.Inputs, a.LastSeq, a.NowNs)));
        Assert.All(result.Apics, a => Assert.Empty(a.Notes));
        // The same trace read as a list gives the same replay.
        var listed = TraceReplayer.Replay(ClefTraceReader.Read(lines, "t").Events, new ReplayOptions());
        Assert.Equal(result.Apics.Select(a => a.State.Page.ToArray()), listed.Apics.Select(a => a.State.Page.ToArray()));
    }

    [Fact]
    public void Replay_SeqGoingBack_SaysTheTraceIsOutOfOrder()
    {
        var lines = new[]
        {
            """{"Vm":"v","ApicId":0,"Event":"ApicCreated","Value":0,"VirtualTimeNs":0,"Seq":1,"Detail":"index=0 bsp=true x2apic=false running=true"}""",
            """{"Vm":"v","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":48,"VirtualTimeNs":0,"Seq":3,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""",
            """{"Vm":"v","ApicId":0,"Event":"MmioWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":2,"Detail":"addr=0xFEE00080 size=4 result=0x0"}""",
        };
        var apic = Assert.Single(TraceReplayer.Replay(ClefTraceReader.Read(lines, "t").Events, new ReplayOptions()).Apics);
        Assert.Equal(
            ["line 2: Seq jumps from 1 to 3: events are missing (a trace filter?), the replay may differ",
             "line 3: Seq goes back from 3 to 2: the trace is not in the order the APIC wrote it, the replay may differ"],
            apic.Notes);
        // Replayed in the order written: the last write wins.
        Assert.Equal(0x20, apic.Snapshot.Tpr);
    }

    [Fact]
    public void Replay_NoApicCreatedAndAnIdAboveXApic_GuessesX2Apic()
    {
        var lines = new[]
        {
            """{"Vm":"v","ApicId":511,"Event":"MsrWrite","Register":"TPR","Value":32,"VirtualTimeNs":0,"Seq":1,"Detail":"msr=0x808 result=0x0"}""",
        };

        var result = TraceReplayer.Replay(ClefTraceReader.Read(lines, "t").Events, new ReplayOptions());

        var apic = Assert.Single(result.Apics);
        Assert.Empty(result.SkippedLines);
        Assert.True(apic.Config.StartInX2Apic);
        Assert.Equal(0x20, apic.Snapshot.Tpr);
    }

    /// <summary>Every selected APIC replayed as the live VM has it: the page byte for byte, the rest of its state, its registers, its KVM view.</summary>
    private static void AssertSameAsLive(VmState live, List<ApicSnapshot> snapshots, ReplayResult result)
    {
        Assert.Equal(live.Apics.Length, result.Apics.Count);
        var kvm = VmStateFile.ToKvmLapicStates(live);
        foreach (var apic in result.Apics)
        {
            var index = apic.Config.Index;
            Assert.True(apic.Notes.Count == 0 && apic.Mismatches == 0, string.Join("\n", apic.Notes));
            var differing = Enumerable.Range(0, ApicOffsets.PageSize).Where(i => live.Apics[index].Page[i] != apic.State.Page[i]).ToList();
            Assert.True(differing.Count == 0, $"vCPU {index} page differs at " + string.Join(", ", differing.Select(i => $"0x{i:x3}: live 0x{live.Apics[index].Page[i]:x2}, replayed 0x{apic.State.Page[i]:x2}")));
            Assert.Equal(live.Apics[index] with { Page = default }, apic.State with { Page = default });
            Assert.Equal(snapshots[index], apic.Snapshot);
            Assert.Equal(kvm[index], apic.KvmLapicState);
        }
    }

    /// <summary>Runs the script with a trace and returns the trace, the live VM's state and registers at the end, and the VM's name.</summary>
    private async Task<(string Trace, (VmState State, List<ApicSnapshot> Snapshots) Live, string Vm)> RunAndObserveAsync(TempDirectory dir, string script)
    {
        var tracePath = dir.File("run.clef");
        var snapshots = new List<ApicSnapshot>();
        VmState state;
        string vmName;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            await using var session = new ScenarioSession(fixture.System, "replay", sink);
            foreach (var line in script.Split('\n'))
            {
                var outcome = await session.ExecuteAsync(line);
                Assert.True(outcome.Kind is LineOutcomeKind.Empty or LineOutcomeKind.Executed or LineOutcomeKind.Passed, line + ": " + outcome.Describe());
            }
            var vm = session.Vm!;
            vmName = vm.Spec.Name;
            state = await vm.SaveAsync();
            for (var i = 0; i < vm.VcpuCount; i++)
            {
                snapshots.Add(await vm.SnapshotAsync(i));
            }
        }
        return (tracePath, (state, snapshots), vmName);
    }
}
