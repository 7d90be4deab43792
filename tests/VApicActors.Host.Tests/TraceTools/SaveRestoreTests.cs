using VApicActors.Actors;
using VApicActors.Host.Scenarios;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class SaveRestoreTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    /// <summary>The first half: IPIs in flight in IRR and ISR, a periodic timer and a TSC deadline armed, a level MSI to EOI, an AP waiting for SIPI.</summary>
    private const string FirstHalf = """
        vm vcpus=4 boot=bsp apic-ids=0,2,4,6 timer-hz=100000000
        writel 0xfee000f0 0x1ff
        writel 0xfee00320 0x000200e1
        writel 0xfee003e0 0xb
        writel 0xfee00380 250
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00000699
        cpu 1
        writel 0xfee000f0 0x1ff
        wrmsr 0x6e0 0
        writel 0xfee00320 0x000400d1
        wrmsr 0x6e0 7000
        cpu 0
        writel 0xfee00300 0x00004051
        writel 0xfee00300 0x00004071
        msi 0xfee02000 0xc061
        cpu 1
        ack -> 0x71
        clock_step 1234
        """;

    private const string SecondHalf = """
        cpu 1
        isr -> 0x71
        irr
        eoi
        ack -> 0x61
        eoi
        eoi-broadcasts -> 0x61
        clock_step 10000
        irr
        ack
        cpu 0
        ack
        clock_step
        clock
        rdtsc
        readl 0xfee00390
        cpu 2
        state -> wait-for-sipi
        cpu 0
        writel 0xfee00310 0x04000000
        writel 0xfee00300 0x0000069a
        cpu 2
        state -> running
        sipi -> 0x9a
        readl 0xfee00390
        """;

    [Fact]
    public async Task SaveHalfway_RestoreIntoANewVm_BothFinishTheSame()
    {
        using var dir = new TempDirectory();
        var statePath = dir.File("half.json");
        await using var original = new ScenarioSession(fixture.System, "original") { BaseDirectory = dir.Path };
        await RunAsync(original, FirstHalf);
        await RunAsync(original, "save half.json");
        await using var copy = new ScenarioSession(fixture.System, "copy") { BaseDirectory = dir.Path };
        await RunAsync(copy, "vm vcpus=1");
        await RunAsync(copy, "restore half.json");

        var originalResults = await RunAsync(original, SecondHalf);
        var copyResults = await RunAsync(copy, SecondHalf);

        Assert.Equal(originalResults, copyResults);
        Assert.Contains("ack => 0xe1", originalResults);
        var a = await original.Vm!.SaveAsync();
        var b = await copy.Vm!.SaveAsync();
        Assert.Equal(a.VirtualTimeNs, b.VirtualTimeNs);
        Assert.Equal(a.PendingEoiBroadcasts.ToArray(), b.PendingEoiBroadcasts.ToArray());
        for (var i = 0; i < a.Apics.Length; i++)
        {
            Assert.True(a.Apics[i].Page.SequenceEqual(b.Apics[i].Page), $"vCPU {i}: pages differ");
            Assert.Equal(a.Apics[i] with { Page = default }, b.Apics[i] with { Page = default });
            Assert.Equal(await original.Vm.SnapshotAsync(i), await copy.Vm.SnapshotAsync(i));
        }
        Assert.NotEqual(original.Vm.Spec.Name, copy.Vm.Spec.Name);
        Assert.True(File.Exists(statePath));
    }

    /// <summary>Three APICs (IDs 4, 2, 9) in flat logical mode, and two lowest-priority IPIs to all three, tied: APICs 2 then 4 won.</summary>
    private const string LowestPriorityFirstHalf = """
        vm vcpus=3 apic-ids=4,2,9
        cpu 0
        writel 0xfee000f0 0x1ff
        writel 0xfee000d0 0x01000000
        cpu 1
        writel 0xfee000f0 0x1ff
        writel 0xfee000d0 0x02000000
        cpu 2
        writel 0xfee000f0 0x1ff
        writel 0xfee000d0 0x04000000
        cpu 0
        writel 0xfee00310 0x07000000
        writel 0xfee00300 0x00004941
        writel 0xfee00300 0x00004942
        """;

    /// <summary>The next lowest-priority IPI: after APIC 4, APIC 9 (vCPU 2) takes vector 0x43 (IRR word 2, bit 3).</summary>
    private const string LowestPrioritySecondHalf = """
        cpu 0
        writel 0xfee00300 0x00004943
        cpu 2
        readl 0xfee00220 -> 0x8
        cpu 0
        readl 0xfee00220 -> 0x4
        cpu 1
        readl 0xfee00220 -> 0x2
        """;

    [Fact]
    public async Task SaveBetweenLowestPriorityIpis_RestoreIntoANewVm_TheRoundRobinGoesOnAsInTheOriginal()
    {
        using var dir = new TempDirectory();
        await using var original = new ScenarioSession(fixture.System, "lp-original") { BaseDirectory = dir.Path };
        await RunAsync(original, LowestPriorityFirstHalf);
        await RunAsync(original, "save lp.json");
        Assert.Contains("\"lowestPriorityPreviousWinner\": \"0x4\"", await File.ReadAllTextAsync(dir.File("lp.json")));
        await using var copy = new ScenarioSession(fixture.System, "lp-copy") { BaseDirectory = dir.Path };
        await RunAsync(copy, "vm vcpus=1");
        await RunAsync(copy, "restore lp.json");

        var originalResults = await RunAsync(original, LowestPrioritySecondHalf);
        var copyResults = await RunAsync(copy, LowestPrioritySecondHalf);

        Assert.Equal(originalResults, copyResults);
        Assert.Equal(9u, (await original.Vm!.SaveAsync()).LowestPriorityPreviousWinner);
        Assert.Equal(9u, (await copy.Vm!.SaveAsync()).LowestPriorityPreviousWinner);
    }

    [Fact]
    public void StateFile_LowestPriorityPreviousWinner_RoundTrips_AndAFileWithoutItHasNone()
    {
        var json = TwoVcpuStateJson();
        var none = VmStateFile.FromJson(json);
        Assert.Null(none.LowestPriorityPreviousWinner);
        Assert.Contains("\"lowestPriorityPreviousWinner\": null", json);

        var withWinner = VmStateFile.ToJson(none with { LowestPriorityPreviousWinner = 1 });
        Assert.Contains("\"lowestPriorityPreviousWinner\": \"0x1\"", withWinner);
        Assert.Equal(1u, VmStateFile.FromJson(withWinner).LowestPriorityPreviousWinner);

        // A file written before the field existed loads as before: no previous winner.
        var old = json.Replace("\"lowestPriorityPreviousWinner\": null,", "", StringComparison.Ordinal);
        Assert.DoesNotContain("lowestPriorityPreviousWinner", old);
        Assert.Null(VmStateFile.FromJson(old).LowestPriorityPreviousWinner);

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(
            json.Replace("\"lowestPriorityPreviousWinner\": null", "\"lowestPriorityPreviousWinner\": \"0x100000000\"", StringComparison.Ordinal)));
        Assert.Equal("lowestPriorityPreviousWinner must be a 0x hexadecimal string (or a number) up to 0xffffffff, not \"0x100000000\"", e.Message);
    }

    [Fact]
    public async Task Run_SaveAndRestoreVerbs_FilesBesideTheScript()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("both.vapic", """
            vm vcpus=2
            writel 0xfee00080 0x30
            save saved.json
            writel 0xfee00080 0x50
            restore saved.json
            readl 0xfee00080 -> 0x30
            clock -> 0
            save
            """);
        var output = new StringWriter();
        var error = new StringWriter();

        var summary = await new ScenarioRunner(fixture.System).RunAsync([script], output, error);

        Assert.True(File.Exists(dir.File("saved.json")));
        Assert.Equal(2, summary.Passed);
        Assert.Equal(1, summary.Errors);
        Assert.Contains("both.vapic:8: error: save: missing argument (usage: save FILE)", error.ToString());
    }

    [Fact]
    public async Task StateFile_RoundTrip_KeepsEverything()
    {
        await using var session = new ScenarioSession(fixture.System, "roundtrip");
        await RunAsync(session, FirstHalf);
        var state = await session.Vm!.SaveAsync();

        var read = VmStateFile.FromJson(VmStateFile.ToJson(state));

        Assert.Equal(state.Spec with { ApicIds = null }, read.Spec with { ApicIds = null });
        Assert.Equal(state.Spec.ApicIds, read.Spec.ApicIds);
        Assert.Equal(state.VirtualTimeNs, read.VirtualTimeNs);
        Assert.Equal(state.PendingEoiBroadcasts.ToArray(), read.PendingEoiBroadcasts.ToArray());
        for (var i = 0; i < state.Apics.Length; i++)
        {
            Assert.True(state.Apics[i].Page.SequenceEqual(read.Apics[i].Page));
            Assert.Equal(state.Apics[i] with { Page = default }, read.Apics[i] with { Page = default });
        }
        Assert.Equal(VcpuRunState.WaitForSipi, read.Apics[2].RunState);
        Assert.True(read.Apics[0].TimerDueInNs > 0);
        Assert.Equal(0x99, read.Apics[1].SipiVector);
    }

    [Theory]
    [InlineData("{", "not a JSON document")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("""{"format":"other"}""", "format is not")]
    public void StateFile_NotAState_SaysWhy(string json, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json));
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\n")]
    public void StateFile_Empty_IsSaidSo_NotWithTheParsersInternals(string json)
    {
        // An empty file (a save that never happened, a redirect that truncated it) used to be "The input does not contain
        // any JSON tokens. Expected the input to start with a valid JSON token, when isFinalBlock is true".
        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json));

        Assert.Equal("the file is empty: a state file is one JSON object (docs/state-format.md)", e.Message);
    }

    [Fact]
    public void StateFile_NotJson_NamesTheLineCountedFromOne()
    {
        // Given a trace by mistake: the parser's "LineNumber: 1 | BytePositionInLine: 0" meant the second line.
        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson("{\"Vm\":\"a\"}\n{\"Vm\":\"b\"}\n"));

        Assert.Equal("not a JSON document: '{' is invalid after a single JSON value. Expected end of data (at line 2, byte 1)", e.Message);
    }

    [Fact]
    public async Task StateFile_BadField_NamesIt()
    {
        await using var session = new ScenarioSession(fixture.System, "bad");
        await RunAsync(session, "vm vcpus=2\nwritel 0xfee000f0 0x1ff");
        var json = VmStateFile.ToJson(await session.Vm!.SaveAsync());

        var badBase = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json.Replace("\"apicBase\": \"0xfee00800\"", "\"apicBase\": \"fee00800\"", StringComparison.Ordinal)));
        Assert.Contains("apics[1].apicBase", badBase.Message);
        var badRun = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json.Replace("\"runState\": \"running\"", "\"runState\": \"halted\"", StringComparison.Ordinal)));
        Assert.Contains("apics[0].runState", badRun.Message);
    }

    [Theory]
    [InlineData("\"apicBase\": \"0xfee00900\"", "\"apicBase\": \"0xfee00500\"", "apics[0].apicBase 0xfee00500 is not a valid IA32_APIC_BASE: EXTD (bit 10, x2APIC mode) is set without EN (bit 11)")]
    [InlineData("\"apicBase\": \"0xfee00800\"", "\"apicBase\": \"0xfee00a00\"", "apics[1].apicBase 0xfee00a00 is not a valid IA32_APIC_BASE: reserved bits 0x200 are set")]
    [InlineData("\"apicBase\": \"0xfee00900\"", "\"apicBase\": \"0xfee00800\"", "apics[0].apicBase 0xfee00800 does not have BSP (bit 8) set: vCPU 0 is the VM's bootstrap processor, and only it")]
    [InlineData("\"apicBase\": \"0xfee00800\"", "\"apicBase\": \"0xfee00900\"", "apics[1].apicBase 0xfee00900 has BSP (bit 8) set: vCPU 0 is the VM's bootstrap processor, and only it")]
    [InlineData("\"apicIds\": [\n      \"0x0\",\n      \"0x1\"", "\"apicIds\": [\n      \"0x0\",\n      \"0x7\"", "vm.apicIds[1] is 0x7, but apics[1].initialApicId is 0x1")]
    [InlineData("\"apicIds\": [\n      \"0x0\",\n      \"0x1\"\n    ]", "\"apicIds\": [\n      \"0x0\"\n    ]", "vm.apicIds: 1 entry for 2 vCPUs")]
    [InlineData("\"apicIds\": [\n      \"0x0\",\n      \"0x1\"\n    ],", "", "vm.apicIds must be an array, not missing")]
    [InlineData("\"initialApicId\": \"0x1\"", "\"initialApicId\": \"0x0\"", "apics[1].initialApicId 0x0 is also the ID of apics[0]")]
    [InlineData("\"index\": 1", "\"index\": 7", "apics[1].index must be 1 (its position in apics), not 7")]
    [InlineData("\"nmiCount\": 0", "\"nmiCount\": null", "apics[0].nmiCount must be a number from 0 to 2147483647, not null")]
    [InlineData("\"esrPending\": \"0x0\"", "\"esrPending\": null", "apics[0].esrPending must be a 0x hexadecimal string (or a number) up to 0xffffffff, not null")]
    // Counts are numbers, and said to be (they were called "a 0x hexadecimal string (or a number)").
    [InlineData("\"expiries\": 0", "\"expiries\": -1", "apics[0].timer.expiries must be a number from 0 to 18446744073709551615, not -1")]
    [InlineData("\"periodTicks\": 0", "\"periodTicks\": \"many\"", "apics[0].timer.periodTicks must be a number from 0 to 18446744073709551615, not \"many\"")]
    [InlineData("\"runState\": \"running\"", "\"runState\": \"wait-for-sipi\"", "apics[0].runState is wait-for-sipi, but vCPU 0 is the bootstrap processor, which never waits for a Start-up IPI")]
    public void StateFile_InconsistentField_RefusedNamingIt(string field, string replacement, string reason)
    {
        var json = TwoVcpuStateJson();
        Assert.Contains(field, json);

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json.Replace(field, replacement, StringComparison.Ordinal)));

        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData("\"format\": \"vapic-vm-state\",", "\"format\": \"vapic-vm-state\", \"format\": \"vapic-vm-state\",", "'format'")]
    [InlineData("\"lint0\": false,", "\"lint0\": false, \"lint0\": true,", "'lint0'")]
    [InlineData("\"name\": \"two\"", "\"name\": \"\\ud800\"", "vm.name is not text: it holds a lone surrogate")]
    [InlineData("\"lint0\": false", "\"lint0\": \"\\udc00x\"", "apics[0].lint0 is not text: it holds a lone surrogate")]
    [InlineData("\"lint0\": false", "\"\\ud800\": false", "apics[0] has a key that is not text")]
    public void StateFile_KeyTwiceOrLoneSurrogate_RefusedNamingTheField(string field, string replacement, string reason)
    {
        var json = TwoVcpuStateJson();
        Assert.Contains(field, json);

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json.Replace(field, replacement, StringComparison.Ordinal)));

        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void StateFile_LongValueWhereItDoesNotBelong_QuotedCutShort()
    {
        var json = TwoVcpuStateJson();
        var page = System.Text.RegularExpressions.Regex.Match(json, "\"page\": (\"[^\"]*\")").Groups[1].Value;

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json.Replace("\"pendingEoiBroadcasts\": []", "\"pendingEoiBroadcasts\": " + page, StringComparison.Ordinal)));

        Assert.Equal($"pendingEoiBroadcasts must be an array, not {page[..40]}... ({page.Length} characters)", e.Message);
    }

    [Fact]
    public void StateFile_KeyThatIsNotTextBeforeAKeyTwice_RefusedForTheKeyTwice()
    {
        var json = TwoVcpuStateJson()
            .Replace("\"name\": \"two\"", "\"\\ud800\": \"two\"", StringComparison.Ordinal)
            .Replace("\"virtualTimeNs\": 0,", "\"virtualTimeNs\": 0, \"virtualTimeNs\": 0,", StringComparison.Ordinal);

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json));

        Assert.Equal("the document has a key twice", e.Message);
    }

    [Fact]
    public async Task Restore_StateWithAKeyTwice_IsTheLinesErrorNotTheSimulators()
    {
        using var dir = new TempDirectory();
        dir.Write("twice.json", TwoVcpuStateJson().Replace("\"version\": 1,", "\"version\": 1, \"version\": 1,", StringComparison.Ordinal));
        await using var session = new ScenarioSession(fixture.System, "twice") { BaseDirectory = dir.Path };

        var outcome = await session.ExecuteAsync("restore twice.json");

        Assert.Equal(LineOutcomeKind.Error, outcome.Kind);
        Assert.StartsWith($"restore: cannot read {dir.File("twice.json")}: not a JSON document: ", outcome.Error);
        Assert.Contains("'version'", outcome.Error);
    }

    [Fact]
    public void StateFile_XApicIdAbove0xFE_RefusedButAllowedInAnX2ApicVm()
    {
        var json = TwoVcpuStateJson().Replace("\"0x1\"", "\"0x1ff\"", StringComparison.Ordinal);

        var e = Assert.Throws<InvalidDataException>(() => VmStateFile.FromJson(json));
        Assert.Contains("apics[1].initialApicId 0x1ff is above 0xfe, the highest APIC ID of an xapic VM (vm.mode)", e.Message);
        var x2 = VmStateFile.FromJson(json.Replace("\"mode\": \"xapic\"", "\"mode\": \"x2apic\"", StringComparison.Ordinal));
        Assert.Equal(0x1ffu, x2.Apics[1].InitialApicId);
        Assert.Equal([0u, 0x1ffu], x2.Spec.ApicIds);
    }

    /// <summary>A valid state of a 2-vCPU xAPIC VM at power-on (APIC IDs 0 and 1), as a state file holds it.</summary>
    internal static string TwoVcpuStateJson()
    {
        var apics = Enumerable.Range(0, 2).Select(i =>
        {
            using var apic = new LocalApic(new ApicConfig(i, (uint)i, IsBsp: i == 0));
            return apic.Save(0);
        });
        return VmStateFile.ToJson(new VmState(new VmSpec("two", 2, ApicIds: [0u, 1u]), 0, [], [.. apics]));
    }

    [Fact]
    public async Task KvmExport_IsTheFirstKibibyteWithLiveCurrentCountAnd32BitX2ApicId()
    {
        await using var session = new ScenarioSession(fixture.System, "kvm");
        await RunAsync(session, """
            vm vcpus=2 mode=x2apic apic-ids=3,9
            cpu 1
            wrmsr 0x80f 0x1ff
            wrmsr 0x838 1000
            clock_step 300
            """);
        var state = await session.Vm!.SaveAsync();

        var regs = VmStateFile.ToKvmLapicStates(state);

        Assert.Equal(2, regs.Count);
        Assert.All(regs, r => Assert.Equal(LocalApic.KvmLapicStateSize, r.Length));
        Assert.Equal(9u, BitConverter.ToUInt32(regs[1], (int)ApicOffsets.Id));
        Assert.Equal(3u, BitConverter.ToUInt32(regs[0], (int)ApicOffsets.Id));
        var live = await session.Vm.ReadMsrAsync(1, ApicOffsets.ToMsr(ApicOffsets.TimerCurrentCount));
        Assert.Equal((uint)live.Value, BitConverter.ToUInt32(regs[1], (int)ApicOffsets.TimerCurrentCount));
        Assert.Equal(850u, BitConverter.ToUInt32(regs[1], (int)ApicOffsets.TimerCurrentCount));
        Assert.Equal(0x1ffu, BitConverter.ToUInt32(regs[1], (int)ApicOffsets.Svr));
        Assert.True(regs[1].AsSpan((int)ApicOffsets.Version).SequenceEqual(state.Apics[1].Page.AsSpan((int)ApicOffsets.Version, LocalApic.KvmLapicStateSize - (int)ApicOffsets.Version))
            || regs[1][(int)ApicOffsets.TimerCurrentCount] != state.Apics[1].Page[(int)ApicOffsets.TimerCurrentCount]);
    }

    [Fact]
    public async Task Replay_ThroughARestore_ExactWithTheStateFile()
    {
        using var dir = new TempDirectory();
        await using (var first = new ScenarioSession(fixture.System, "first") { BaseDirectory = dir.Path })
        {
            await RunAsync(first, FirstHalf);
            await RunAsync(first, "save half.json");
        }
        var tracePath = dir.File("restored.clef");
        VmState live;
        string vm;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            await using var second = new ScenarioSession(fixture.System, "second", sink) { BaseDirectory = dir.Path };
            await RunAsync(second, "restore half.json");
            await RunAsync(second, SecondHalf);
            live = await second.Vm!.SaveAsync();
            vm = second.Vm.Spec.Name;
        }
        var events = ClefTraceReader.ReadFile(tracePath).Events;

        var exact = TraceReplayer.Replay(events, new ReplayOptions(vm, AtNs: live.VirtualTimeNs, SavedState: VmStateFile.Read(dir.File("half.json"))));
        var without = TraceReplayer.Replay(events, new ReplayOptions(vm, AtNs: live.VirtualTimeNs));

        foreach (var apic in exact.Apics)
        {
            Assert.Empty(apic.Notes);
            Assert.True(live.Apics[apic.Config.Index].Page.SequenceEqual(apic.State.Page));
        }
        Assert.All(without.Apics, a => Assert.Contains(a.Notes, n => n.Contains("--state", StringComparison.Ordinal)));
    }

    /// <summary>Runs script lines; every line must run (expectations must hold). Returns the results, one per line.</summary>
    private static async Task<List<string>> RunAsync(ScenarioSession session, string script)
    {
        var results = new List<string>();
        foreach (var line in script.Split('\n'))
        {
            var outcome = await session.ExecuteAsync(line);
            Assert.True(outcome.Kind is LineOutcomeKind.Empty or LineOutcomeKind.Executed or LineOutcomeKind.Passed, line.Trim() + ": " + outcome.Describe());
            if (outcome.Kind != LineOutcomeKind.Empty)
            {
                results.Add(line.Trim() + " => " + outcome.Result?.Text);
            }
        }
        return results;
    }
}
