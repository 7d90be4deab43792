using VApicActors.Actors;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class TraceIpisCommandTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    /// <summary>
    /// Every way a destination's part can end: 0x41 accepted then again coalesced, both ended by one EOI; 0x42 to a
    /// software-disabled APIC; 0x43 to an APIC ID nobody has; 0x44 left pending and 0x45 left in service; 0x47 lost
    /// when an INIT resets its destination.
    /// </summary>
    private const string EveryEnd = """
        vm vcpus=3
        cpu 0
        writel 0xfee000f0 0x1ff
        cpu 1
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x00004041
        clock_step 100
        writel 0xfee00300 0x00004041
        clock_step 100
        cpu 1
        ack -> 0x41
        clock_step 50
        eoi
        cpu 0
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x00004042
        writel 0xfee00310 0x07000000
        writel 0xfee00300 0x00004043
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x00004044
        writel 0xfee00300 0x00004045
        cpu 1
        ack -> 0x45
        cpu 2
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x00004047
        writel 0xfee00300 0x00004500
        """;

    [Fact]
    public async Task Ipis_EveryWayAPartEnds_OneLineEachThenTheSummary()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "ends", EveryEnd);
        var vm = ClefTraceReader.ReadFile(trace).Events[0].Vm;

        var (code, output, error) = Run(trace, new IpiSelection());

        Assert.True(code == 0, error);
        Assert.Equal(
        [
            $"  0.000000000 {vm} 0x0 #6 fixed 0x41 to physical 0x1 -> 0x1: accepted #4 +0 ns, acknowledged #6 +200 ns, EOI #7 +250 ns",
            $"  0.000000100 {vm} 0x0 #8 fixed 0x41 to physical 0x1 -> 0x1: coalesced #5 +0 ns into IPI 0x0 #6, acknowledged #6 +100 ns, EOI #7 +150 ns",
            $"  0.000000250 {vm} 0x0 #11 fixed 0x42 to physical 0x2 -> 0x2: DroppedSoftwareDisabled #2 +0 ns",
            $"  0.000000250 {vm} 0x0 #24 INIT to physical 0x2 -> 0x2: InitReset #6 +0 ns",
            $"  0.000000250 {vm} 0x0 #22 fixed 0x47 to physical 0x2 -> 0x2: accepted #5 +0 ns, lost at INIT #6",
            $"  0.000000250 {vm} 0x0 #17 fixed 0x44 to physical 0x1 -> 0x1: accepted #8 +0 ns, still pending in IRR at the end (blocked by 0x45 in service, not EOI'd: its priority class 4 is not above PPR 0x40)",
            $"  0.000000250 {vm} 0x0 #19 fixed 0x45 to physical 0x1 -> 0x1: accepted #9 +0 ns, acknowledged #10 +0 ns, still in service at the end (no EOI)",
            $"  0.000000250 {vm} 0x0 #14 fixed 0x43 to physical 0x7: reached no APIC (no APIC has ID 0x7; the VM's APIC IDs: 0x0, 0x1, 0x2)",
            "8 IPIs sent, 7 deliveries followed: 2 taken to EOI (1 coalesced into an interrupt already pending), 1 NMI/SMI/INIT/SIPI delivered, " +
                "1 dropped, 1 lost, 1 still pending, 1 still in service; 1 IPI reached no APIC",
            "dropped: 1 DroppedSoftwareDisabled",
            "virtual time from send to acceptance: p50 0 ns, p99 0 ns, max 0 ns; to EOI: p50 150 ns, p99 250 ns, max 250 ns",
        ], Lines(output));
    }

    [Fact]
    public async Task Ipis_StillPendingAtTheEnd_SaysWhatKeptTheCoreFromTakingIt()
    {
        // APIC 1 raises its TPR to class 5 and gets 0x41; APIC 2 takes 0x45 without an EOI, then gets 0x42 and 0x35;
        // APIC 3 gets 0x51 and 0x52 and takes neither.
        const string script = """
            vm vcpus=4
            cpu 0
            writel 0xfee000f0 0x1ff
            cpu 1
            writel 0xfee000f0 0x1ff
            writel 0xfee00080 0x50
            cpu 2
            writel 0xfee000f0 0x1ff
            cpu 3
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            writel 0xfee00310 0x02000000
            writel 0xfee00300 0x00004045
            cpu 2
            ack -> 0x45
            cpu 0
            writel 0xfee00300 0x00004042
            writel 0xfee00300 0x00004035
            writel 0xfee00310 0x03000000
            writel 0xfee00300 0x00004051
            writel 0xfee00300 0x00004052
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "tpr", script);

        var (code, output, error) = Run(trace, new IpiSelection(), problemsOnly: true);

        Assert.True(code == 0, error);
        var lines = Lines(output);
        AssertALineEndsWith(lines, "fixed 0x41 to physical 0x1 -> 0x1: accepted #5 +0 ns, still pending in IRR at the end (blocked by TPR 0x50: its priority class 4 is not above PPR 0x50)");
        AssertALineEndsWith(lines, "fixed 0x42 to physical 0x2 -> 0x2: accepted #6 +0 ns, still pending in IRR at the end (blocked by 0x45 in service, not EOI'd: its priority class 4 is not above PPR 0x40)");
        AssertALineEndsWith(lines, "fixed 0x35 to physical 0x2 -> 0x2: accepted #7 +0 ns, still pending in IRR at the end (blocked by 0x45 in service, not EOI'd: its priority class 3 is not above PPR 0x40)");
        AssertALineEndsWith(lines, "fixed 0x51 to physical 0x3 -> 0x3: accepted #4 +0 ns, still pending in IRR at the end (behind 0x52, a higher vector pending)");
        AssertALineEndsWith(lines, "fixed 0x52 to physical 0x3 -> 0x3: accepted #5 +0 ns, still pending in IRR at the end (deliverable at PPR 0x0, never acknowledged)");
    }

    [Fact]
    public async Task Ipis_StillPendingAtAVcpuWaitingForSipi_SaysSo_NotThatItWasDeliverable()
    {
        // A saved VM whose APIC 1 is software-enabled, restored with vCPU 1 waiting for a Start-up IPI: the IPI to it
        // is accepted, but its core takes nothing (its acknowledge answers not-running).
        using var dir = new TempDirectory();
        await SimulatorTraces.RecordAsync(fixture.System, dir, "save", "vm vcpus=2\ncpu 1\nwritel 0xfee000f0 0x1ff\nsave saved.json\n");
        var state = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(dir.File("saved.json")))!;
        state["apics"]![1]!["runState"] = "wait-for-sipi";
        await File.WriteAllTextAsync(dir.File("waiting.json"), state.ToJsonString());
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "waiting", """
            restore waiting.json
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            cpu 1
            ack -> not-running
            """);

        var (code, output, error) = Run(trace, new IpiSelection(), problemsOnly: true);

        Assert.True(code == 0, error);
        AssertALineEndsWith(Lines(output), "-> 0x1: accepted #4 +0 ns, still pending in IRR at the end (the vCPU waits for a Start-up IPI: its core takes no interrupt)");
    }

    [Theory]
    [InlineData("running=true", " (deliverable at PPR 0x0, never acknowledged)")]
    [InlineData("running=false", " (the vCPU waits for a Start-up IPI: its core takes no interrupt)")]
    [InlineData("", "")]
    public async Task Ipis_StillPending_SaysDeliverableOnlyWhenTheTraceShowsTheVcpuRuns(string running, string reason)
    {
        // The same trace with APIC 1's ApicCreated saying it runs, that it waits for a Start-up IPI, or nothing of it.
        const string script = """
            vm vcpus=2
            cpu 1
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "running", script);
        var lines = await File.ReadAllLinesAsync(trace);
        var created = Array.FindIndex(lines, l => l.Contains("\"ApicId\":1,", StringComparison.Ordinal) && l.Contains("ApicCreated", StringComparison.Ordinal));
        lines[created] = lines[created].Replace("running=true", running, StringComparison.Ordinal);
        await File.WriteAllLinesAsync(trace, lines);

        var (code, output, error) = Run(trace, new IpiSelection(), problemsOnly: true);

        Assert.True(code == 0, error);
        AssertALineEndsWith(Lines(output), "-> 0x1: accepted #4 +0 ns, still pending in IRR at the end" + reason);
    }

    [Fact]
    public async Task Ipis_StillPendingAtASoftwareDisabledApic_IsStillDeliverable()
    {
        // Clearing SVR bit 8 discards new fixed interrupts, but IRR keeps what it held and the core still takes it
        // (the acknowledge below would): software-disabled is no reason for a vector left pending.
        const string script = """
            vm vcpus=2
            cpu 1
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            cpu 1
            writel 0xfee000f0 0xff
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "svr-off", script);
        await SimulatorTraces.RecordAsync(fixture.System, dir, "svr-off-ack", script + "\nack -> 0x41\n");

        var (code, output, error) = Run(trace, new IpiSelection(), problemsOnly: true);

        Assert.True(code == 0, error);
        AssertALineEndsWith(Lines(output), "-> 0x1: accepted #4 +0 ns, still pending in IRR at the end (deliverable at PPR 0x0, never acknowledged)");
    }

    [Fact]
    public async Task Ipis_ReachedNoApic_SaysWhatTheApicsWereMatchedOn()
    {
        // 0x41 to logical 0x12 before any LDR is written; APIC 1 then goes to the cluster model with LDR 0x21 (which a
        // logical 0x12 misses as well); 0x43 to logical 0x2 afterwards; 0x44 to an x2APIC cluster nobody is in.
        const string script = """
            vm vcpus=2
            cpu 0
            writel 0xfee000f0 0x1ff
            cpu 1
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00310 0x12000000
            writel 0xfee00300 0x00004841
            cpu 1
            writel 0xfee000e0 0x0fffffff
            writel 0xfee000d0 0x21000000
            cpu 0
            writel 0xfee00300 0x00004843
            vm vcpus=2 mode=x2apic
            cpu 0
            wrmsr 0x80f 0x1ff
            wrmsr 0x830 0x0005000100004844
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "ldr", script);

        var (code, output, error) = Run(trace, new IpiSelection(), problemsOnly: true);

        Assert.True(code == 0, error);
        var lines = Lines(output);
        AssertALineEndsWith(lines, "fixed 0x41 to logical 0x12: reached no APIC (no APIC's logical ID matches 0x12: 0x0 LDR 0x0 flat, 0x1 LDR 0x0 flat; " +
            "an xAPIC's LDR is 0 until the guest writes it)");
        AssertALineEndsWith(lines, "fixed 0x43 to logical 0x12: reached no APIC (no APIC's logical ID matches 0x12: 0x0 LDR 0x0 flat, 0x1 LDR 0x21 cluster; " +
            "the xAPICs' DFRs differ, and the SDM has every APIC of a system use one model, flat or cluster; an xAPIC's LDR is 0 until the guest writes it)");
        AssertALineEndsWith(lines, "fixed 0x44 to logical 0x50001: reached no APIC (no APIC's logical ID matches 0x50001: 0x0 LDR 0x1 (x2APIC cluster), 0x1 LDR 0x2 (x2APIC cluster))");
    }

    [Fact]
    public async Task Ipis_CoalescedIntoAPendingInterrupt_IsNotCountedAmongThoseTakenToEoi()
    {
        // 0x41 twice and never taken: the second coalesces into the first, and both are still pending at the end.
        const string script = """
            vm vcpus=2
            cpu 0
            writel 0xfee000f0 0x1ff
            cpu 1
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004041
            writel 0xfee00300 0x00004041
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "pending", script);

        var (code, output, error) = Run(trace, new IpiSelection());

        Assert.True(code == 0, error);
        var lines = Lines(output);
        AssertALineEndsWith(lines, "-> 0x1: coalesced #5 +0 ns into IPI 0x0 #6, still pending in IRR at the end (deliverable at PPR 0x0, never acknowledged)");
        Assert.Contains("2 IPIs sent, 2 deliveries followed: 0 taken to EOI (0 coalesced into an interrupt already pending), " +
            "0 NMI/SMI/INIT/SIPI delivered, 0 dropped, 0 lost, 2 still pending, 0 still in service; 0 IPIs reached no APIC", lines);
    }

    [Fact]
    public async Task DocExample_TheTraceToolsPage_ShowsWhatIpisPrints()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "ends", EveryEnd);
        var (_, output, _) = Run(trace, new IpiSelection());
        var vm = ClefTraceReader.ReadFile(trace).Events[0].Vm;

        var page = File.ReadAllText(TraceViewCommandTests.DocFile("trace-tools.md")).ReplaceLineEndings("\n");
        var section = page[page.IndexOf("## `vapic trace ipis`", StringComparison.Ordinal)..];
        var example = section.Split("```")[1].Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("ends", vm);
        Assert.Equal(Lines(output), example);
    }

    [Fact]
    public async Task Ipis_ProblemsForOneApic_OnlyItsPartsThatDidNotEndInAnEoi()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "ends", EveryEnd);

        var (code, output, _) = Run(trace, new IpiSelection(Apic: 2), problemsOnly: true);

        Assert.Equal(0, code);
        // The INIT to 0x2 did what it does: not a problem. The summary counts all three of 0x2's parts.
        var lines = Lines(output);
        Assert.Equal(5, lines.Length);
        Assert.EndsWith("-> 0x2: DroppedSoftwareDisabled #2 +0 ns", lines[0]);
        Assert.EndsWith("-> 0x2: accepted #5 +0 ns, lost at INIT #6", lines[1]);
        Assert.StartsWith("0 IPIs sent by 0x2, 3 deliveries to or from it followed: 0 taken to EOI (0 coalesced into an interrupt already pending), 1 NMI/SMI/INIT/SIPI delivered, 1 dropped, 1 lost,", lines[2]);
        Assert.Equal("dropped: 1 DroppedSoftwareDisabled", lines[3]);
    }

    [Fact]
    public async Task Ipis_NestedInterrupts_EachEoiEndsTheHighestInService()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);

        var (_, output, _) = Run(trace, new IpiSelection(Apic: 1));

        // 0x41 is taken at 100 ns, 0x61 at 300 ns; the EOI at 400 ns ends 0x61, the one at 500 ns 0x41.
        var lines = Lines(output);
        Assert.Contains(lines, l => l.Contains("fixed 0x61 to physical 0x1 -> 0x1: accepted", StringComparison.Ordinal) && l.EndsWith("EOI #9 +200 ns", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("fixed 0x41 to physical 0x1 -> 0x1: accepted", StringComparison.Ordinal) && l.EndsWith("EOI #10 +500 ns", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("fixed 0x51 to all-but-self -> 0x1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ipis_ConcurrentRun_EveryDeliveryFollowedOnceAndWhatIsLeftOpenIsWhatTheApicsHold()
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("concurrent.clef");
        var snapshots = new List<Registers.ApicSnapshot>();
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            await using var vm = await VmHandle.CreateAsync(fixture.System, new VmSpec("busy", 6), sink);
            await ConcurrentWorkload.RunAsync(fixture.System, vm, operationsPerVcpu: 300, seed: 5);
            // Whether the workload's IPIs coalesce, and whether an acknowledge finds one before the periodic timers'
            // higher vectors, depends on how the drivers interleave. So, whatever the interleaving: vCPU 0 sends 0xD5,
            // which the workload never sends, twice to APIC 1 (the second coalesces); vCPU 1 ends what it has in
            // service, then takes and EOIs its interrupts until 0xD5 has been taken.
            await vm.WriteMmioAsync(0, 0xFEE0_0310, 4, 1UL << 24);
            await vm.WriteMmioAsync(0, 0xFEE0_0300, 4, 0x40D5);
            await vm.WriteMmioAsync(0, 0xFEE0_0300, 4, 0x40D5);
            await vm.WriteMmioAsync(1, 0xFEE0_0080, 4, 0);
            for (var i = 0; i < 256 && (await vm.SnapshotAsync(1)).Isr.Count > 0; i++)
            {
                await vm.EoiAsync(1);
            }
            for (var i = 0; i < 256; i++)
            {
                var taken = await vm.AcknowledgeAsync(1);
                Assert.True(taken.IsOk, "0xD5 was never taken at vCPU 1");
                await vm.EoiAsync(1);
                if (taken.Value == 0xD5)
                {
                    break;
                }
            }
            for (var i = 0; i < vm.VcpuCount; i++)
            {
                snapshots.Add(await vm.SnapshotAsync(i));
            }
        }
        var events = ClefTraceReader.ReadFile(tracePath).Events;
        var stories = new List<IpiStory>();

        var follower = new IpiFollower(new IpiSelection(), stories.Add);
        foreach (var e in events)
        {
            follower.Add(e);
        }
        var summary = follower.Finish();

        Assert.Equal(0, summary.Unlinked);
        Assert.Equal(events.Count(e => e.Source is not null), summary.Deliveries);
        Assert.Equal(events.Count(e => e.Event == "IpiSent"), summary.Sends);
        Assert.Contains(stories, s => s.Outcome == "Coalesced" && s.Send.Message.Vector == 0xD5 && s.Receiver == 1);
        Assert.Contains(stories, s => s.End == IpiEnd.Eoi && s.Send.Message.Vector == 0xD5);
        Assert.Contains(stories, s => s.Send.Mode == Registers.DeliveryMode.LowestPriority);
        foreach (var story in stories.Where(s => s.End is IpiEnd.PendingAtEnd or IpiEnd.InServiceAtEnd))
        {
            var apic = snapshots.Single(s => s.Index == (int)story.Receiver!.Value);
            var held = story.End == IpiEnd.PendingAtEnd ? apic.Irr : apic.Isr;
            Assert.True(held.Contains(story.Send.Message.Vector), $"{TraceIpisCommand.Format(story)}: vCPU {apic.Index} IRR {apic.Irr} ISR {apic.Isr}");
        }
        // Each interrupt the trace shows taken to EOI was acknowledged before it, after its delivery.
        foreach (var story in stories.Where(s => s.End == IpiEnd.Eoi))
        {
            Assert.True(story.DeliverySeq < story.AckSeq && story.AckSeq < story.EoiSeq, TraceIpisCommand.Format(story));
        }
    }

    /// <summary>vCPU 0 sends 0x41 and 0x42 to vCPU 1, which takes 0x42 (the higher); the script goes on as vCPU 1.</summary>
    private const string TwoIpisOneTaken = """
        vm vcpus=2
        cpu 0
        writel 0xfee000f0 0x1ff
        cpu 1
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x00004041
        writel 0xfee00300 0x00004042
        cpu 1
        ack -> 0x42

        """;

    [Fact]
    public async Task Ipis_HardwareDisable_LosesWhatIsPendingAndInService()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "disable", TwoIpisOneTaken + "wrmsr 0x1b 0xfee00000\n");

        var (_, output, _) = Run(trace, new IpiSelection(), problemsOnly: true);

        var lines = Lines(output);
        Assert.EndsWith("fixed 0x41 to physical 0x1 -> 0x1: accepted #4 +0 ns, lost at hardware disable #8", lines[0]);
        Assert.EndsWith("fixed 0x42 to physical 0x1 -> 0x1: accepted #5 +0 ns, acknowledged #6 +0 ns, lost at hardware disable #8", lines[1]);
        Assert.StartsWith("2 IPIs sent, 2 deliveries followed: 0 taken to EOI", lines[2]);
    }

    /// <summary>
    /// Guests end interrupts by writing the EOI register: 0x42 by an xAPIC MMIO write, 0x41 by WRMSR 0x80B in x2APIC
    /// mode, after an MMIO write in x2APIC mode (the page does not answer) and a WRMSR of 1 (#GP) that end nothing.
    /// </summary>
    internal const string EoiByRegisterWrites = TwoIpisOneTaken + """
        writel 0xfee000b0 0
        ack -> 0x41
        wrmsr 0x1b 0xfee00c00
        writel 0xfee000b0 0
        isr -> 0x41
        wrmsr 0x80b 1 -> #GP
        isr -> 0x41
        wrmsr 0x80b 0
        isr -> none
        """;

    [Fact]
    public async Task Ipis_EoiRegisterWrites_EndTheInterruptOnlyWhereTheyReachTheRegister()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "eoi-writes", EoiByRegisterWrites);
        var events = ClefTraceReader.ReadFile(trace).Events.Where(e => e.ApicId == 1).ToList();
        var mmioEoi = events.First(e => e.Event == "MmioWrite" && e.Register == "EOI").Seq;
        var msrEoi = events.Single(e => e.Event == "MsrWrite" && e.Register == "EOI" && e.Value == 0).Seq;

        var (_, output, _) = Run(trace, new IpiSelection());

        var lines = Lines(output);
        Assert.EndsWith($"fixed 0x42 to physical 0x1 -> 0x1: accepted #5 +0 ns, acknowledged #6 +0 ns, EOI #{mmioEoi} +0 ns", lines[0]);
        Assert.EndsWith($"fixed 0x41 to physical 0x1 -> 0x1: accepted #4 +0 ns, acknowledged #8 +0 ns, EOI #{msrEoi} +0 ns", lines[1]);
        Assert.StartsWith("2 IPIs sent, 2 deliveries followed: 2 taken to EOI", lines[2]);
    }

    /// <summary>
    /// The BSP wakes AP 1 as Linux does (INIT assert, INIT de-assert, two SIPIs: the second is dropped by the AP the
    /// first started), then sends a SIPI to AP 2, which is running from power-on and was never started by one.
    /// </summary>
    private const string SecondSipi = """
        vm vcpus=3 boot=bsp
        cpu 2
        state -> wait-for-sipi
        cpu 0
        writel 0xfee000f0 0x1ff
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00008500
        writel 0xfee00300 0x00000699
        writel 0xfee00300 0x00000699
        cpu 1
        state -> running
        cpu 0
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x00000699
        writel 0xfee00300 0x00000698
        writel 0xfee00300 0x00004500
        writel 0xfee00300 0x00000697
        """;

    [Fact]
    public async Task Ipis_SecondSipiOfABringUp_DroppedAsExpectedAndNotAProblem()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "sipi", SecondSipi);

        var (_, all, _) = Run(trace, new IpiSelection());
        var (_, problems, _) = Run(trace, new IpiSelection(), problemsOnly: true);

        // AP 1: its second SIPI is expected. AP 2: the first SIPI starts it, the second is expected too; after an INIT
        // it waits again, so its next SIPI starts it.
        var lines = Lines(all);
        Assert.Single(lines, l => l.Contains("SIPI 0x99 to physical 0x1 -> 0x1: Started", StringComparison.Ordinal));
        var expected = lines.Where(l => l.Contains("(expected: started by SIPI 0x0 #", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, expected.Length);
        Assert.Contains("SIPI 0x99 to physical 0x1 -> 0x1: DroppedNotWaitingForSipi", expected[0]);
        Assert.Contains("SIPI 0x98 to physical 0x2 -> 0x2: DroppedNotWaitingForSipi", expected[1]);
        Assert.Single(lines, l => l.Contains("SIPI 0x97 to physical 0x2 -> 0x2: Started", StringComparison.Ordinal));
        Assert.Contains("dropped: 2 DroppedNotWaitingForSipi (2 expected: a second Start-up IPI to an AP the first one started)", lines);
        Assert.DoesNotContain(Lines(problems), l => l.Contains(" -> ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ipis_SipiToAnApNeverStartedBySipi_DroppedAndAProblem()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "sipi-running", """
            vm vcpus=2
            cpu 0
            writel 0xfee000f0 0x1ff
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00000699
            """);

        var (_, problems, _) = Run(trace, new IpiSelection(), problemsOnly: true);

        var lines = Lines(problems);
        Assert.EndsWith("SIPI 0x99 to physical 0x1 -> 0x1: DroppedNotWaitingForSipi #2 +0 ns", lines[0]);
        Assert.Equal("dropped: 1 DroppedNotWaitingForSipi", lines[2]);
    }

    [Fact]
    public void Ipis_DeliveryWhoseSendIsNotInTheTrace_CountedApartAndNamedByWhatCoalescesIntoIt()
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("cut.clef", string.Join('\n',
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":10,"Seq":1,"SourceSeq":4,"Detail":"Accepted"}""",
            """{"Vm":"v","ApicId":0,"Event":"IpiSent","Value":16449,"Vector":65,"Destination":"physical 0x1","VirtualTimeNs":20,"Seq":5,"Detail":"Fixed"}""",
            """{"Vm":"v","ApicId":1,"Event":"Coalesced","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":20,"Seq":2,"SourceSeq":5,"Detail":"Coalesced"}""",
            "not json",
            """{"Vm":"v","ApicId":1,"Event":"Acknowledged","Vector":65,"VirtualTimeNs":30,"Seq":3,"Detail":"0x41"}""",
            """{"Vm":"v","ApicId":1,"Event":"Eoi","VirtualTimeNs":45,"Seq":4,"Detail":"0x0"}"""));

        var (code, output, error) = Run(trace, new IpiSelection());

        Assert.Equal(TraceIpisCommand.SkippedLines, code);
        Assert.Contains("cut.clef:4: error:", error);
        var lines = Lines(output);
        Assert.Equal("  0.000000020 v 0x0 #5 fixed 0x41 to physical 0x1 -> 0x1: coalesced #2 +0 ns into IPI from 0x0 (its send is not in the trace), acknowledged #3 +10 ns, EOI #4 +25 ns", lines[0]);
        Assert.Equal("1 IPI delivery has no send in the trace (not followed)", lines[^1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ipis_AnInitWhoseSendIsNotInTheTrace_StillResetsWhatIsFollowed(bool withoutApicCreated)
    {
        // APIC 1 at TPR 0x50 has 0x61 pending when an INIT resets it; a Start-up IPI starts it again, and 0x41 is left
        // pending. With the INIT's send cut from the trace, the INIT must still clear the IRR and the TPR followed:
        // 0x61 is lost at it, and 0x41 is deliverable, not "behind 0x61" or blocked by the old TPR.
        const string script = """
            vm vcpus=2
            cpu 1
            writel 0xfee000f0 0x1ff
            writel 0xfee00080 0x50
            cpu 0
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x00004061
            writel 0xfee00300 0x00004500
            writel 0xfee00300 0x00004610
            cpu 1
            writel 0xfee000f0 0x1ff
            cpu 0
            writel 0xfee00300 0x00004041
            """;
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "cut-init", script);
        var lines = (await File.ReadAllLinesAsync(trace)).ToList();
        var initSent = lines.FindIndex(l => l.Contains("\"IpiSent\"", StringComparison.Ordinal) && l.Contains("\"Init\"", StringComparison.Ordinal));
        Assert.True(initSent >= 0, string.Join('\n', lines));
        lines.RemoveAt(initSent);
        if (withoutApicCreated)
        {
            // A trace cut at the front: APIC 1's TPR and ISR are not known until the INIT resets them.
            lines.RemoveAll(l => l.Contains("\"ApicCreated\"", StringComparison.Ordinal));
        }
        await File.WriteAllLinesAsync(trace, lines);

        var (code, output, error) = Run(trace, new IpiSelection());

        Assert.True(code == 0, error);
        var shown = Lines(output);
        Assert.Contains(shown, l => l.Contains("fixed 0x61 to physical 0x1 -> 0x1: accepted", StringComparison.Ordinal) && l.Contains(", lost at INIT #", StringComparison.Ordinal));
        AssertALineEndsWith(shown, "still pending in IRR at the end (deliverable at PPR 0x0, never acknowledged)");
        Assert.Contains("1 IPI delivery has no send in the trace (not followed)", shown);
    }

    [Fact]
    public void Ipis_MissingTrace_Exit2()
    {
        using var dir = new TempDirectory();

        var (code, output, error) = Run(dir.File("none.clef"), new IpiSelection());

        Assert.Equal(TraceIpisCommand.UsageError, code);
        Assert.Empty(output);
        Assert.Contains("none.clef: error: cannot read the trace", error);
    }

    [Fact]
    public async Task Ipis_AVmOrApicTheTraceDoesNotHave_IsSaid_NotJustCountedAsNothing()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "ends", EveryEnd);
        var vm = ClefTraceReader.ReadFile(trace).Events[0].Vm;

        // A script's first VM is named after its file ("ends"), a second one "ends-2": "--vm ends-2" used to print "0 IPIs sent" alone.
        // It is a mistake in the command, as for replay: exit status 2, so that a script checking it does not take the
        // "0 IPIs sent" for a clean run.
        var (code, output, error) = Run(trace, new IpiSelection(Vm: "ends-2"));
        Assert.Equal(TraceIpisCommand.UsageError, code);
        Assert.StartsWith("0 IPIs sent", output.Trim());
        Assert.Equal($"vapic: {trace} has no events of VM ends-2; its VMs: ends", error.Trim());

        (code, _, error) = Run(trace, new IpiSelection(Vm: vm, Apic: 9));
        Assert.Equal(TraceIpisCommand.UsageError, code);
        Assert.Equal($"vapic: {trace} has no events of APIC 0x9 (VM {vm})", error.Trim());

        (code, _, error) = Run(trace, new IpiSelection(Vm: vm, Apic: 2));
        Assert.Equal(0, code);
        Assert.Equal("", error);
    }

    /// <summary>Some line of the output ends with <paramref name="ending"/>.</summary>
    private static void AssertALineEndsWith(IReadOnlyList<string> lines, string ending) =>
        Assert.True(lines.Any(l => l.EndsWith(ending, StringComparison.Ordinal)), "no line ends with: " + ending + "\n" + string.Join("\n", lines));

    private static (int Code, string Output, string Error) Run(string trace, IpiSelection selection, bool problemsOnly = false)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = TraceIpisCommand.Run(trace, selection, problemsOnly, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}
