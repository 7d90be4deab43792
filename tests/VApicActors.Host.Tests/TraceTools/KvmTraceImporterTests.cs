using System.Globalization;
using VApicActors.Host.TraceTools;
using Xunit;
using static VApicActors.Host.Tests.TraceTools.ScriptLines;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class KvmTraceImporterTests
{
    [Fact]
    public void Import_X2ApicTrace_StartsAnX2ApicVmWithEveryApicSoftwareEnabled()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule);
        var commands = Commands(result.Script);

        Assert.Equal(["vm vcpus=2 mode=x2apic", "wrmsr 0x80f 0x1ff", "cpu 1", "wrmsr 0x80f 0x1ff"], commands.Take(4));
        Assert.Contains("mode=x2apic: the trace accesses x2APIC MSRs", result.Script);
        Assert.Contains("every APIC is software-enabled first", result.Script);
        Assert.True(result.Report.X2Apic);
        Assert.Equal(2, result.Report.VcpuCount);
    }

    [Fact]
    public void Import_XApicGuestWhoseX2ApicMsrAccessesFault_StaysXApic_AndTheFaultsAreExpected()
    {
        // kvm-unit-tests' check that x2APIC MSRs fault in xAPIC mode: the faults are no sign of x2APIC mode.
        var result = KvmTraceImporter.Import(
        [
            " CPU 0/KVM-4321  [002] 12345.678900: kvm_apic: apic_write APIC_TASKPRI = 0x10",
            " CPU 0/KVM-4321  [002] 12345.678901: kvm_msr: msr_read 802 = 0x0 (#GP)",
            " CPU 0/KVM-4321  [002] 12345.678902: kvm_msr: msr_write 808 = 0x20 (#GP)",
            " CPU 0/KVM-4321  [002] 12345.678903: kvm_apic: apic_read APIC_TASKPRI = 0x10",
        ]);
        var commands = Commands(result.Script);

        Assert.False(result.Report.X2Apic);
        Assert.Equal(
            ["vm vcpus=1 mode=xapic", "writel 0xfee000f0 0x1ff", "writel 0xfee00080 0x10", "rdmsr 0x802 -> #GP", "wrmsr 0x808 0x20 -> #GP", "readl 0xfee00080 -> 0x10"],
            commands);
    }

    [Fact]
    public void Import_X2ApicIcrWritePrintedAfterItsEffects_ReplaysTheWriteBeforeCheckingTheTarget()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule).Script);

        ContainsRun(commands,
            "cpu 0",
            "wrmsr 0x830 0x1000000fd",
            "rdmsr 0x830 -> 0x1000000fd/0xffffffff000cdfff",
            "cpu 1",
            "rdmsr 0x827 -> 0x20000000/0x20000000");
        ContainsRun(commands,
            "wrmsr 0x830 0xfb",
            "rdmsr 0x830 -> 0xfb/0xffffffff000cdfff",
            "cpu 0",
            "rdmsr 0x827 -> 0x8000000/0x8000000");
    }

    [Fact]
    public void Import_KvmApicAndKvmMsrLinesOfOneAccess_ReplayOneAccess()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule);
        var commands = Commands(result.Script);

        Assert.Equal(4, result.Report.DuplicatesMerged);
        Assert.Equal(2, commands.Count(c => c.StartsWith("wrmsr 0x830 ", StringComparison.Ordinal)));
        Assert.Equal(2, commands.Count(c => c == "eoi"));
        Assert.DoesNotContain(commands, c => c.StartsWith("wrmsr 0x80b", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_EoiEvent_TakesTheInterruptThenEndsItThenChecksTheIsr()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule).Script);

        ContainsRun(commands, "ack -> 0xfd", "eoi", "rdmsr 0x817 -> 0x0/0x20000000");
        ContainsRun(commands, "ack -> 0xfb", "eoi", "rdmsr 0x817 -> 0x0/0x8000000");
    }

    [Fact]
    public void Import_Report_CountsWhatWasReadAndWritten()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule);
        var commands = Commands(result.Script);
        var report = result.Report;

        Assert.Equal(14, report.EventsRead);
        Assert.Equal(commands.Count, report.CommandsWritten);
        Assert.Equal(commands.Count(c => c.Contains(" -> ", StringComparison.Ordinal)), report.ExpectationsWritten);
        Assert.Equal(8, report.ExpectationsWritten);
        Assert.Equal(new Dictionary<string, int> { ["kvm_entry"] = 1, ["kvm_exit"] = 1 }, report.UnknownEvents);
        Assert.Equal(2, report.UnknownEventsSkipped);
        Assert.Empty(report.TornLines);
    }

    [Fact]
    public void Import_XApicTrace_UsesMmioAndResolvesAnonymousTasksByThreadId()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicQuirks);
        var commands = Commands(result.Script);

        Assert.Equal("vm vcpus=2 mode=xapic", commands[0]);
        Assert.False(result.Report.X2Apic);
        ContainsRun(commands,
            "cpu 1",
            "readl 0xfee00270 -> 0x20000000/0x20000000",
            "readl 0xfee00020 -> 0x1000000",
            "writel 0xfee00080 0x10",
            "readl 0xfee00080 -> 0x10",
            "readl 0xfee00030 -> 0x14/0xff",
            "ack -> 0xfd",
            "eoi",
            "readl 0xfee00170 -> 0x0/0x20000000");
    }

    [Fact]
    public void Import_XApicAcceptPrintedBeforeTheIcrWrite_RebuildsIcr2FromTheIpiLine()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicQuirks);
        var commands = Commands(result.Script);

        ContainsRun(commands,
            "writel 0xfee00310 0x0",
            "writel 0xfee00300 0xfb",
            "readl 0xfee00300 -> 0xfb/0xcdfff",
            "cpu 0",
            "readl 0xfee00270 -> 0x8000000/0x8000000");
        Assert.Contains("ICR2 is not in the excerpt", CommentOf(result.Script, "writel 0xfee00310 0x0"));
    }

    [Fact]
    public void Import_XApicLogicalIpi_IsCheckedOnlyWhenTheExcerptWritesEveryLdrAndDfr()
    {
        var before = KvmTraceImporter.Import(KvmTraceExcerpts.XApicLogicalIpiLdrBeforeTheExcerpt);
        var written = KvmTraceImporter.Import(KvmTraceExcerpts.XApicLogicalIpiLdrInTheExcerpt);

        // The logical IDs KVM matched were set before the excerpt: where the simulator delivers is not checked.
        Assert.DoesNotContain(Commands(before.Script), c => c.StartsWith("readl 0xfee00270 ->", StringComparison.Ordinal));
        Assert.Contains(before.Report.Notes, n => n.Contains("logical destination", StringComparison.Ordinal));
        // With every LDR and DFR in the excerpt, both destinations are checked and the EOIs expect the vector.
        Assert.Equal(2, Commands(written.Script).Count(c => c == "readl 0xfee00270 -> 0x4000000/0x4000000"));
        Assert.Equal(2, Commands(written.Script).Count(c => c == "ack -> 0xfa"));
    }

    [Fact]
    public void Import_ReadsThatDependOnEarlierStateOrTime_AreReplayedWithoutExpectation()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicQuirks);
        var commands = Commands(result.Script);

        Assert.Contains("readl 0xfee00390", commands);
        Assert.DoesNotContain(commands, c => c.StartsWith("readl 0xfee00390 ->", StringComparison.Ordinal));
        Assert.Contains("readl 0xfee00300 -> 0x0/0x1000", commands);
    }

    [Fact]
    public void Import_TornAndUnknownLines_AreReportedAndTheRestIsProcessed()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicQuirks);
        var report = result.Report;

        var torn = Assert.Single(report.TornLines);
        Assert.Equal(22, torn.LineNumber);
        Assert.Contains("no EVENT: FIELDS part", torn.Reason);
        Assert.Equal(new Dictionary<string, int> { ["kvm_entry"] = 1, ["kvm_exit"] = 1 }, report.UnknownEvents);
        Assert.Equal(1, report.OtherMsrAccesses);
        Assert.Contains("ack -> 0xfb", Commands(result.Script));
    }

    [Fact]
    public void Import_LinesWithoutTask_BelongToTheGivenVcpu()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.MailedWithoutTasks, defaultVcpu: 1);
        var commands = Commands(result.Script);

        Assert.Equal("vm vcpus=3 mode=xapic", commands[0]);
        ContainsRun(commands,
            "cpu 1",
            "writel 0xfee00310 0x2000000",
            "writel 0xfee00300 0x40f6",
            "readl 0xfee00300 -> 0x40f6/0xcdfff",
            "cpu 2",
            "readl 0xfee00270 -> 0x400000/0x400000",
            "ack -> 0xf6",
            "eoi",
            "readl 0xfee00170 -> 0x0/0x400000");
        Assert.Contains("lines without a task prefix belong to vCPU 1", result.Script);
    }

    [Fact]
    public void Import_LinesWithoutTask_DefaultToVcpu0()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.MailedWithoutTasks).Script);

        ContainsRun(commands, "cpu 2", "writel 0xfee000f0 0x1ff", "cpu 0", "writel 0xfee00310 0x2000000");
    }

    [Fact]
    public void Import_FaultingAndDerivedReads_BecomeExpectations()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks).Script);

        ContainsRun(commands,
            "rdmsr 0x80d -> 0x2",
            "rdmsr 0x1b -> 0xfee00c00",
            "wrmsr 0x831 0x0 -> #GP",
            "cpu 0",
            "wrmsr 0x832 0x400ec",
            "rdmsr 0x832 -> 0x400ec/0x700ff",
            "wrmsr 0x6e0 0x2a5c8e6f1c0");
    }

    [Fact]
    public void Import_AcceptNoIpiExplains_IsInjectedAsAnMsi()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks).Script);

        ContainsRun(commands,
            "msi 0xfee00000 0xec",
            "rdmsr 0x827 -> 0x1000/0x1000",
            "ack -> 0xec",
            "eoi",
            "rdmsr 0x817 -> 0x0/0x1000");
    }

    [Fact]
    public void Import_NmiIpiAndEmptyEoi_CheckTheCountAndTakeNothing()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks).Script);

        ContainsRun(commands,
            "wrmsr 0x830 0x100000400",
            "rdmsr 0x830 -> 0x100000400/0xffffffff000cdfff",
            "cpu 1",
            "nmi -> 1",
            "eoi",
            "cpu 0",
            "wrmsr 0x830 0x1000000fc");
    }

    [Fact]
    public void Import_EoiOfAnInterruptTakenBeforeTheExcerpt_IsNotReplayed()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks);

        Assert.DoesNotContain("ack -> 0xef", Commands(result.Script));
        Assert.Contains(result.Report.Notes, n => n.Contains("line 21", StringComparison.Ordinal) && n.Contains("before the excerpt began", StringComparison.Ordinal));
        Assert.Equal(3, Commands(result.Script).Count(c => c == "eoi"));
    }

    [Fact]
    public void Import_EoiPrintedBeforeTheIpiThatDeliveredIt_ReplaysTheIpiFirst()
    {
        var commands = Commands(KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks).Script);

        ContainsRun(commands,
            "wrmsr 0x830 0x1000000fc",
            "rdmsr 0x830 -> 0x1000000fc/0xffffffff000cdfff",
            "cpu 1",
            "rdmsr 0x827 -> 0x10000000/0x10000000",
            "ack -> 0xfc",
            "eoi");
    }

    [Fact]
    public void Import_LinesRunTogetherAndOtherColumns_AreHandled()
    {
        var report = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicQuirks).Report;

        Assert.Equal(26, Assert.Single(report.TornLines).LineNumber);
        Assert.Equal(new Dictionary<string, int> { ["kvm_inj_virq"] = 1 }, report.UnknownEvents);
        Assert.Equal(24, report.EventsRead);
    }

    [Fact]
    public void Import_TraceThatEnablesX2ApicItself_StartsInXApicMode()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicBringUp);
        var commands = Commands(result.Script);

        Assert.Equal("vm vcpus=2 mode=xapic", commands[0]);
        ContainsRun(commands, "wrmsr 0x1b 0xfee00c00", "rdmsr 0x802 -> 0x1", "rdmsr 0x1b -> 0xfee00c00");
    }

    [Fact]
    public void Import_InitAndStartUpIpis_CheckTheRunState()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicBringUp);
        var commands = Commands(result.Script);

        ContainsRun(commands,
            "writel 0xfee00300 0xc500",
            "readl 0xfee00300 -> 0xc500/0xcdfff",
            "cpu 1",
            "state -> wait-for-sipi",
            "cpu 0",
            "writel 0xfee00300 0x8500",
            "readl 0xfee00300 -> 0x8500/0xcdfff",
            "writel 0xfee00300 0x69a",
            "readl 0xfee00300 -> 0x69a/0xcdfff",
            "cpu 1",
            "state -> running",
            "sipi -> 0x9a");
        Assert.Contains("INIT level de-assert", result.Script);
    }

    [Fact]
    public void Import_AcceptByASoftwareDisabledApic_IsNotChecked()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicBringUp);

        Assert.DoesNotContain(Commands(result.Script), c => c.StartsWith("readl 0xfee00220", StringComparison.Ordinal));
        Assert.Contains("vec 65 (Fixed|edge): vCPU 1's APIC is software-disabled", result.Script);
    }

    [Fact]
    public void Import_ReadThatDisagreesWithTheProfile_IsReplayedUncheckedAndNoted()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicBringUp);
        var commands = Commands(result.Script);

        ContainsRun(commands, "writel 0xfee00350 0x700", "readl 0xfee00350", "wrmsr 0x1b 0xfee00c00");
        Assert.Contains(result.Report.Notes, n => n.Contains("line 17", StringComparison.Ordinal) && n.Contains("not checked", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_XApicIcrWriteWithoutIcr2OrIpiLine_TakesTheDestinationFromItsAccept()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.MailedDestinationInTheAcceptOnly);
        var commands = Commands(result.Script);

        ContainsRun(commands, "writel 0xfee00310 0x2000000", "writel 0xfee00300 0x40f6", "cpu 2", "readl 0xfee00270 -> 0x400000/0x400000", "ack -> 0xf6");
        Assert.Contains("destination 0x2 from kvm_apic_accept_irq", CommentOf(result.Script, "writel 0xfee00310 0x2000000"));
    }

    [Fact]
    public void Import_X2ApicIcrWriteWithoutItsMsrOrIpiLine_TakesTheDestinationFromItsAccept()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicDestinationInTheAcceptOnly);
        var commands = Commands(result.Script);

        ContainsRun(commands, "wrmsr 0x830 0x1000000fd", "cpu 1", "rdmsr 0x827 -> 0x20000000/0x20000000", "ack -> 0xfd");
        Assert.Contains("destination 0x1 from line 1 (kvm_apic_accept_irq)", CommentOf(result.Script, "wrmsr 0x830 0x1000000fd"));
        Assert.DoesNotContain(result.Report.Notes, n => n.Contains("destination 0 assumed", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_InitWhoseAcceptLineIsTorn_LeavesItsTargetUncheckedFromThere()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicInitAcceptTorn);
        var commands = Commands(result.Script);

        ContainsRun(commands, "writel 0xfee00300 0x41", "readl 0xfee00300 -> 0x41/0xcdfff", "cpu 1", "readl 0xfee00220");
        Assert.Contains(result.Report.Notes, n => n.StartsWith("line 2: ", StringComparison.Ordinal) && n.EndsWith("no accept line of it is in the excerpt; vCPU 1 not checked from here on", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_IcrWriteWhoseDestinationAndEffectAreUnknown_DropsTheAckItCouldDisturb()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicIcrWriteAlone);
        var commands = Commands(result.Script);

        ContainsRun(commands, "wrmsr 0x830 0xf6", "ack", "eoi", "rdmsr 0x817 -> 0x0/0x1000");
        Assert.Contains(result.Report.Notes, n => n.StartsWith("line 2: ", StringComparison.Ordinal) && n.Contains("its destination is not in the excerpt", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_LevelTriggeredFixedIpi_ChecksTheIrrButNotTheTmr()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.XApicLevelTriggeredFixedIpi);
        var commands = Commands(result.Script);

        ContainsRun(commands, "cpu 1", "readl 0xfee00220 -> 0x2/0x2");
        Assert.DoesNotContain(commands, c => c.StartsWith("readl 0xfee001a0", StringComparison.Ordinal));
        Assert.Contains("fixed IPIs are edge-triggered in the profile", result.Script);
    }

    [Fact]
    public void Import_BroadcastInitMissingMostAccepts_NotesTheVcpusInOneShortLine()
    {
        const string trace = """
             CPU 254/KVM-9  [000] 1.000001: kvm_apic: apic_write APIC_ICR = 0xc4500
             CPU 254/KVM-9  [000] 1.000001: kvm_apic_ipi: dst 0 vec 0 (INIT|physical|assert|edge|all-but-self)
             CPU 254/KVM-9  [000] 1.000001: kvm_apic_accept_irq: apicid 0 vec 0 (INIT|edge)
            """;

        var result = KvmTraceImporter.Import(trace);

        var note = Assert.Single(result.Report.Notes);
        Assert.InRange(note.Length, 1, 200);
        Assert.EndsWith("for vCPUs 1, 2, 3 and 250 more; vCPUs 1, 2, 3 and 250 more not checked from here on", note);
    }

    [Fact]
    public void Import_LowestPriorityIpi_DeliversWithoutCheckingWhere()
    {
        const string trace = """
             CPU 0/KVM-7  [000] 5.000001: kvm_apic: apic_write APIC_ICR2 = 0x3000000
             CPU 0/KVM-7  [000] 5.000002: kvm_apic: apic_write APIC_ICR = 0x941
             CPU 0/KVM-7  [000] 5.000002: kvm_apic_ipi: dst 3 vec 65 (LowPrio|logical|de-assert|edge|dst)
             CPU 0/KVM-7  [000] 5.000002: kvm_apic_accept_irq: apicid 1 vec 65 (LowPrio|edge)
             CPU 1/KVM-8  [001] 5.000010: kvm_apic: apic_write APIC_EOI = 0x0
             CPU 1/KVM-8  [001] 5.000010: kvm_eoi: apicid 1 vector 65
            """;
        var result = KvmTraceImporter.Import(trace);
        var commands = Commands(result.Script);

        ContainsRun(commands, "writel 0xfee00300 0x941", "readl 0xfee00300 -> 0x941/0xcdfff", "cpu 1", "ack", "eoi");
        Assert.Contains("lowest priority", result.Script);
        Assert.DoesNotContain("ack -> 0x41", commands);
    }

    [Theory]
    [InlineData("255")]
    [InlineData("2147483648")]
    [InlineData("99999999999999999999999")]
    public void Import_VcpuThreadBeyondTheVm_IsSkippedAndNotedAsSuch(string n)
    {
        var trace = $"""
             CPU 0/KVM-7  [000] 5.000001: kvm_apic: apic_write APIC_TASKPRI = 0x10
             CPU {n}/KVM-7  [000] 5.000002: kvm_apic: apic_write APIC_TASKPRI = 0x20
             CPU {n}/KVM-8  [000] 5.000003: kvm_apic: apic_write APIC_TASKPRI = 0x30
            """;

        var result = KvmTraceImporter.Import(trace);

        Assert.Equal(["vm vcpus=1 mode=xapic", "writel 0xfee000f0 0x1ff", "writel 0xfee00080 0x10"], Commands(result.Script));
        Assert.Equal(
            [$"line 2: vCPU {n} is beyond the 255 vCPUs a generated VM may have: skipped", $"line 3: vCPU {n} is beyond the 255 vCPUs a generated VM may have: skipped"],
            result.Report.Notes);
    }

    [Theory]
    [InlineData("trace\nvm vcpus=0\n.txt")]
    [InlineData("trace\r.txt")]
    [InlineData("trace\r\nack -> 0x1.txt")]
    [InlineData("trace\u0085\u2028\u2029\f\v.txt")]
    public void Import_SourceNameWithLineBreaks_StaysInTheHeaderComment(string name)
    {
        var plain = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule).Script;

        var named = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule, 0, Path.Combine("traces", name)).Script;

        Assert.Equal(Commands(plain), Commands(named.ReplaceLineEndings("\n")));
        Assert.Contains("(trace", named.Split('\n')[0]);
    }

    [Theory]
    [InlineData("CPU 0/KVM-4321  [002] 12345.678901: kvm_apic:             apic_write APIC_ICR = 0x4041", 0x300u, 0x4041u)]
    [InlineData("           <...>-4321  [002] d..1. 12345.678901: kvm_apic: apic_write APIC_TASKPRI = 0x10", 0x080u, 0x10u)]
    [InlineData("CPU 3/KVM-99 (     90) [000] .... 1.5: kvm_apic: apic_read 0x210 = 0x2", 0x210u, 0x2u)]
    [InlineData("kvm_apic: apic_write SPIV = 0x1ff", 0x0F0u, 0x1FFu)]
    [InlineData("12345.678901: kvm:kvm_apic: apic_read APIC_LVT0 = 0x700", 0x350u, 0x700u)]
    [InlineData("       CPU 0/KVM    4321 [002] 12345.678901:      kvm:kvm_apic: apic_write APIC_ICR = 0x4041", 0x300u, 0x4041u)]
    [InlineData("qemu-system-x86 4300/4321 [002] 1.500000000: kvm:kvm_apic: apic_read 0x210 = 0x2", 0x210u, 0x2u)]
    public void Parse_TraceLineForms_YieldTheAccess(string line, uint offset, uint value)
    {
        var parse = KvmTraceLineParser.Parse(line, 1);

        var access = Assert.IsType<ApicAccessEvent>(parse.Event);
        Assert.Equal(offset, access.Offset);
        Assert.Equal(value, access.Value);
    }

    [Theory]
    [InlineData("       CPU 3/KVM    4321 [002] 12345.678901:      kvm:kvm_eoi: apicid 3 vector 253", "CPU 3/KVM", 4321)]
    [InlineData("qemu-system-x86 4300/4321 [002] 1.5: kvm:kvm_eoi: apicid 3 vector 253", "qemu-system-x86", 4321)]
    public void Parse_PerfScriptLine_TakesTheTaskAndItsThreadId(string line, string task, int thread)
    {
        var eoi = Assert.IsType<EoiEvent>(KvmTraceLineParser.Parse(line, 7).Event);

        Assert.Equal(new TraceOrigin(7, task, thread, line.Contains("1.5:", StringComparison.Ordinal) ? "1.5" : "12345.678901"), eoi.Origin);
        Assert.Equal(253, eoi.Vector);
    }

    [Fact]
    public void Parse_PerfScriptLineOfATaskNamedInHexDigits_IsAnEventNotACallchainFrame()
    {
        var line = "            cafe    4321 [002] 1.5: kvm:kvm_apic_ipi: dst 1 vec 253 (Fixed|physical|de-assert|edge|dst)";

        var ipi = Assert.IsType<IpiEvent>(KvmTraceLineParser.Parse(line, 1).Event);

        Assert.Equal("cafe", ipi.Origin.Task);
    }

    [Theory]
    [InlineData("\tffffffffc0a1b2c3 __apic_accept_irq+0x1f3 ([kernel.kallsyms])")]
    [InlineData("            7fb5c2a3e8f1 ioctl+0xb (/usr/lib/x86_64-linux-gnu/libc.so.6)")]
    public void Parse_PerfCallchainFrame_IsIgnored(string line)
    {
        Assert.Equal(TraceLineKind.Ignored, KvmTraceLineParser.Parse(line, 1).Kind);
    }

    [Fact]
    public void Import_PerfScriptOutput_GivesTheScriptOfTheSameTraceFromTraceCmd()
    {
        var fromPerf = KvmTraceImporter.Import(KvmTraceExcerpts.PerfScriptReschedule);
        var fromTraceCmd = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule);

        Assert.Equal(Commands(fromTraceCmd.Script), Commands(fromPerf.Script));
        Assert.Equal(fromTraceCmd.Report.EventsRead, fromPerf.Report.EventsRead);
        Assert.Empty(fromPerf.Report.TornLines);
        Assert.Equal(2, fromPerf.Report.UnknownEventsSkipped);
    }

    [Theory]
    [InlineData("CPU 0/KVM-4321  [002] 12345.678901: kvm_apic:             apic_wri")]
    [InlineData("CPU 0/KVM-4321  [002] 12345.67")]
    [InlineData("CPU 0/KVM-4321  [002] 12345.678901: kvm_apic_ipi: dst 1 vec 300 (Fixed|physical|assert|edge|dst)")]
    [InlineData("CPU 0/KVM-4321  [002] 12345.678901: kvm_apic: apic_write APIC_BOGUS = 0x1")]
    [InlineData("CPU 0/KVM-4321  [002] 12345.678901: kvm_msr: msr_write 830 =")]
    public void Parse_DamagedLine_IsTorn(string line)
    {
        Assert.Equal(TraceLineKind.Torn, KvmTraceLineParser.Parse(line, 1).Kind);
    }

    [Theory]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic: apic_write APIC_ICR = 0x{0}")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic: apic_write APIC_{0} = 0x1")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_msr: msr_write 830 = 0x{0}")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic_ipi: dst {0} vec 253 (Fixed|physical|de-assert|edge|dst)")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic_accept_irq: apicid {0} vec 253 (Fixed|edge)")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_eoi: apicid 1 vector {0}")]
    public void Parse_FieldOfAMillionDigits_IsTornWithAShortReason(string format)
    {
        var line = string.Format(CultureInfo.InvariantCulture, format, new string('f', 1_000_000));

        var parse = KvmTraceLineParser.Parse(line, 1);

        Assert.Equal(TraceLineKind.Torn, parse.Kind);
        Assert.InRange(parse.Reason!.Length, 1, 200);
        Assert.Contains(" characters)", parse.Reason);
    }

    [Theory]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_exit: a{0}x", "Unknown")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic: apic_write{0}x", "Torn")]
    [InlineData("kvm_msr: msr_write 830{0}= 0x1", "Event")]
    [InlineData("kvm_apic_ipi: dst 1 vec 253{0}(Fixed|physical|de-assert|edge|dst)", "Event")]
    [InlineData("kvm_eoi:{0}apicid 1 vector 253{0}", "Event")]
    [InlineData("CPU 0/KVM{0}1 [000] 1.0: kvm:kvm_eoi: apicid 1 vector 253", "Event")]
    [InlineData("a{0}1{0}[000]{0}1.0:{0}kvm:kvm_exit: x", "Unknown")]
    [InlineData("a{0}1{0}[000]{0}1.0{0}kvm:kvm_exit: x", "Torn")]
    [InlineData("\tffffffff81060bd4{0}x{0}(", "Torn")]
    public async Task Parse_LineWithAMegabyteOfBlanks_TakesLinearTime(string format, string kind)
    {
        var line = string.Format(CultureInfo.InvariantCulture, format, new string(' ', 1_000_000));

        // Backtracking over the blanks took time quadratic in their number: hours for a megabyte.
        var parse = await Task.Run(() => KvmTraceLineParser.Parse(line, 1)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(kind, parse.Kind.ToString());
    }

    [Theory]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_eoi: apicid 1 vector \u0661")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_eoi: apicid 1 vector 2\uff15\uff13")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic_ipi: dst 1 vec \u0967 (Fixed|physical|de-assert|edge|dst)")]
    [InlineData("CPU 0/KVM-1  [000] 1.0: kvm_apic_accept_irq: apicid 1 vec 6\u0665 (Fixed|edge)")]
    public void Parse_DigitsOtherThanAscii_AreTorn(string line)
    {
        var parse = KvmTraceLineParser.Parse(line, 1);

        Assert.Equal(TraceLineKind.Torn, parse.Kind);
    }

    [Fact]
    public void Parse_FieldsOfTheOtherTracepoints_AreDecoded()
    {
        var msr = Assert.IsType<MsrAccessEvent>(KvmTraceLineParser.Parse("CPU 1/KVM-5 [001] 1.0: kvm_msr: msr_write 831 = 0x0 (#GP)", 1).Event);
        var ipi = Assert.IsType<IpiEvent>(KvmTraceLineParser.Parse("CPU 1/KVM-5 [001] 1.0: kvm_apic_ipi: dst ff vec 65 (Fixed|logical|assert|level|all-but-self)", 1).Event);
        var accept = Assert.IsType<AcceptEvent>(KvmTraceLineParser.Parse("CPU 1/KVM-5 [001] 1.0: kvm_apic_accept_irq: apicid a vec 65 (LowPrio|level) (coalesced)", 1).Event);
        var eoi = Assert.IsType<EoiEvent>(KvmTraceLineParser.Parse("CPU 1/KVM-5 [001] 1.0: kvm_eoi: apicid 1 vector -1", 1).Event);

        Assert.True(msr is { IsWrite: true, Msr: 0x831, Value: 0, Faulted: true });
        Assert.Equal(0xC_C841u, ipi.IcrLow);
        Assert.Equal(0xFFu, ipi.Destination);
        Assert.True(accept is { ApicId: 0xA, Vector: 65, DeliveryMode: 1, Level: true });
        Assert.Equal(-1, eoi.Vector);
    }
}
