using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>The trace, replay and state commands as a user runs them.</summary>
[Collection(SerilogCollection.Name)]
public sealed class TraceCommandLineTests
{
    [Theory]
    [InlineData("trace --help")]
    [InlineData("trace export --help")]
    [InlineData("trace view --help")]
    [InlineData("trace ipis --help")]
    [InlineData("trace import-kvm --help")]
    [InlineData("replay --help")]
    [InlineData("trace replay --help")]
    [InlineData("state --help")]
    [InlineData("state save --help")]
    [InlineData("state restore --help")]
    [InlineData("state show --help")]
    [InlineData("state export-kvm --help")]
    [InlineData("state import-kvm --help")]
    public async Task Help_OnEveryTraceAndStateCommand_PrintsUsage(string args)
    {
        var (code, output, _) = await InvokeAsync(args.Split(' '));

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains(args.Replace(" --help", "", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task TraceReplay_IsReplayUnderTheTraceTools_SameOptionsSameOutput()
    {
        using var dir = new TempDirectory();
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("run", dir.Write("timeline.vapic", SimulatorTraces.Timeline), "--trace", trace)).Code);

        var help = await InvokeAsync("trace", "--help");
        Assert.Contains(help.Output.Split('\n'), l => l.TrimStart().StartsWith("replay ", StringComparison.Ordinal));

        foreach (var args in new[] { new[] { trace }, [trace, "--vm", "timeline", "--apic", "0x1", "--until", "5"], [trace, "--apic", "one"], [trace, "--vm", "nothing"] })
        {
            var replay = await InvokeAsync(["replay", .. args]);
            var traceReplay = await InvokeAsync(["trace", "replay", .. args]);
            Assert.Equal(replay.Code, traceReplay.Code);
            Assert.Equal(replay.Output, traceReplay.Output);
            Assert.Equal(replay.Error.Replace("vapic replay", "vapic trace replay", StringComparison.Ordinal), traceReplay.Error);
        }
        var page = await InvokeAsync("trace", "replay", trace, "--vm", "timeline", "--apic", "0x1", "-o", dir.File("p.bin"));
        Assert.Equal(0, page.Code);
        Assert.Equal(4096, new FileInfo(dir.File("p.bin")).Length);
    }

    [Theory]
    [InlineData("trace view")]
    [InlineData("trace ipis")]
    [InlineData("trace export --format chrome -o OUT")]
    [InlineData("replay")]
    [InlineData("trace replay")]
    public async Task AScriptOrABinaryFileForATrace_OneLineSaysItIsNotATrace_Exit2(string command)
    {
        using var dir = new TempDirectory();
        var script = dir.Write("timeline.vapic", SimulatorTraces.Timeline);
        var binary = dir.File("zeros.bin");
        await File.WriteAllBytesAsync(binary, [.. Enumerable.Repeat((byte)0, 4000), (byte)'\n', .. Enumerable.Repeat((byte)0, 10)]);
        var timeline = dir.File("t.json");

        foreach (var (input, reason) in new[] { (script, "the first 20 lines are not trace events"), (binary, "binary data: a NUL byte on line 1") })
        {
            var words = command.Split(' ').Select(w => w == "OUT" ? timeline : w).ToList();
            words.Insert(command.StartsWith("trace ", StringComparison.Ordinal) ? 2 : 1, input);
            var (code, output, error) = await InvokeAsync([.. words]);

            Assert.Equal(2, code);
            Assert.Equal($"{input} does not look like a message trace ({reason})", error.Trim());
            Assert.Equal("", output);
            Assert.False(File.Exists(timeline));
        }
    }

    [Fact]
    public async Task RunThenExportViewAndReplay_FromTheCommandLine()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("timeline.vapic", SimulatorTraces.Timeline);
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);

        var export = await InvokeAsync("trace", "export", trace, "--format", "chrome", "-o", dir.File("t.json"));
        Assert.Equal(0, export.Code);
        Assert.Contains("IPI arrows", export.Output);
        ChromeTraceFile.Load(dir.File("t.json"));

        var view = await InvokeAsync("trace", "view", trace, "--filter", "Event = 'IpiSent' and Vector = 0x51");
        Assert.Equal(0, view.Code);
        Assert.Single(view.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var badFilter = await InvokeAsync("trace", "view", trace, "--filter", "Vector = (");
        Assert.Equal(2, badFilter.Code);
        Assert.Contains("invalid filter", badFilter.Error);

        var vm = ClefTraceReader.ReadFile(trace).Events[0].Vm;
        var replay = await InvokeAsync("replay", trace, "--vm", vm, "--apic", "0x1", "-o", dir.File("p.bin"));
        Assert.Equal(0, replay.Code);
        Assert.Equal(4096, new FileInfo(dir.File("p.bin")).Length);

        var badApic = await InvokeAsync("replay", trace, "--apic", "one");
        Assert.Equal(2, badApic.Code);
        Assert.Contains("is not an APIC ID", badApic.Error);

        var unknownFormat = await InvokeAsync("trace", "export", trace, "--format", "svg", "-o", dir.File("t.svg"));
        Assert.Equal(2, unknownFormat.Code);

        var ipis = await InvokeAsync("trace", "ipis", trace, "--apic", "2", "--vector", "0x51");
        Assert.Equal(0, ipis.Code);
        var followed = ipis.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("fixed 0x51 to all-but-self -> 0x2: accepted #4 +0 ns, lost at INIT #6", followed[0].TrimEnd());
        Assert.StartsWith("0 IPIs sent by 0x2, 1 delivery to or from it followed:", followed[1]);

        var badVector = await InvokeAsync("trace", "ipis", trace, "--vector", "0x100");
        Assert.Equal(2, badVector.Code);
        Assert.Contains("--vector: '0x100' is not a vector", badVector.Error);
    }

    [Theory]
    [InlineData("@mt = '{Event} at APIC {ApicId}' and Event = 'IpiSent' and Vector = 0x51")]
    [InlineData("@m like '%IpiSent at APIC%' and Vector = 0x51")]
    public async Task ViewFilter_StartingWithAt_IsAnExpressionNotAResponseFile(string filter)
    {
        using var dir = new TempDirectory();
        var script = dir.Write("timeline.vapic", SimulatorTraces.Timeline);
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);

        var view = await InvokeAsync("trace", "view", trace, "--filter", filter);

        Assert.True(view.Code == 0, view.Error);
        var line = Assert.Single(view.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("IpiSent", line);
        Assert.Contains("vector=0x51", line);
    }

    [Fact]
    public async Task StateSaveRestoreShowExport_FromTheCommandLine()
    {
        using var dir = new TempDirectory();
        var first = dir.Write("first.vapic", "vm vcpus=2\ncpu 1\nwritel 0xfee000f0 0x1ff\ncpu 0\nwritel 0xfee000f0 0x1ff\nwritel 0xfee00310 0x01000000\nwritel 0xfee00300 0x4041\n");
        var second = dir.Write("second.vapic", "cpu 1\nirr -> 0x41\nack -> 0x41\n");
        var state = dir.File("s.json");

        var save = await InvokeAsync("state", "save", first, "-o", state, "--no-trace");
        Assert.Equal(0, save.Code);
        var restore = await InvokeAsync("state", "restore", state, second, "-o", dir.File("s2.json"), "--no-trace");
        Assert.Equal(0, restore.Code);
        Assert.Contains("2 passed, 0 failed", restore.Output);

        var show = await InvokeAsync("state", "show", dir.File("s2.json"));
        Assert.Equal(0, show.Code);
        Assert.Contains("ISR 0x41", show.Output);

        var export = await InvokeAsync("state", "export-kvm", state, "-o", dir.File("kvm"));
        Assert.Equal(0, export.Code);
        Assert.Equal(1024, new FileInfo(Path.Combine(dir.File("kvm"), "vcpu-1.lapic")).Length);

        var broken = await InvokeAsync("state", "show", dir.Write("bad.json", "{}"));
        Assert.Equal(2, broken.Code);
        Assert.Contains("format", broken.Error);
    }

    [Theory]
    [InlineData("xapic")]
    [InlineData("x2apic")]
    public async Task StateImportKvm_WhatExportKvmWrote_RestoresToTheSameRegisters_AndRunsOn(string mode)
    {
        using var dir = new TempDirectory();
        // A TPR, an interrupt in service and one pending at vCPU 1, a periodic timer at divide 16 half-way through its count.
        string Write(uint offset, uint value) => mode == "x2apic" ? $"wrmsr 0x{0x800 + (offset >> 4):x} 0x{value:x}" : $"writel 0x{0xFEE00000 + offset:x} 0x{value:x}";
        var setUp = dir.Write("busy.vapic", string.Join('\n',
            $"vm vcpus=3 mode={mode} apic-ids=0,2,5", "cpu 1", Write(0xF0, 0x1FF), "cpu 0", Write(0xF0, 0x1FF), Write(0x80, 0x20),
            Write(0x3E0, 0x3), Write(0x320, 0x200EC), Write(0x380, 100_000), "msi 0xfee02000 0x4061", "msi 0xfee02000 0x4051",
            "cpu 1", "ack -> 0x61", "clock_step 700000") + "\n");
        var state = dir.File("busy.json");
        Assert.Equal(0, (await InvokeAsync("state", "save", setUp, "-o", state, "--no-trace")).Code);
        Assert.Equal(0, (await InvokeAsync("state", "export-kvm", state, "-o", dir.File("kvm"))).Code);

        var import = await InvokeAsync("state", "import-kvm", dir.File("kvm"), "-o", dir.File("back.json"), "--mode", mode);

        Assert.True(import.Code == 0, import.Error);
        Assert.StartsWith($"{dir.File("back.json")}: 3 vCPUs from {dir.File("kvm")} ({mode}, APIC IDs 0x0 0x2 0x5), at virtual time 0", import.Output);
        // The registers are the same; only the time (0 now) and the timer's due time with it differ.
        var before = (await InvokeAsync("state", "show", state)).Output.Split('\n').Skip(1).Where(l => !l.Contains("timer due at", StringComparison.Ordinal));
        var after = (await InvokeAsync("state", "show", dir.File("back.json"))).Output.Split('\n').Skip(1).Where(l => !l.Contains("timer due at", StringComparison.Ordinal));
        Assert.Equal(before, after);
        // 700 us into 100000 counts at divide 16 (1.6 ms): 56250 counts left, and the tick 900 us after the import.
        var current = mode == "x2apic" ? "rdmsr 0x839" : "readl 0xfee00390";
        var goOn = dir.Write("go-on.vapic", $"cpu 0\n{current} -> 56250\nclock_step 899999\nirr -> none\nclock_step 1\nirr -> 0xec\ncpu 1\nisr -> 0x61\nirr -> 0x51\n");
        var restore = await InvokeAsync("state", "restore", dir.File("back.json"), goOn, "--no-trace");
        Assert.True(restore.Code == 0, restore.Output + restore.Error);
        Assert.Contains("5 passed, 0 failed", restore.Output);
    }

    [Fact]
    public async Task StateImportKvm_AFolderThatIsNoSetOfKvmStates_IsRefusedNamingTheFile_AndWritesNothing()
    {
        using var dir = new TempDirectory();
        var empty = dir.File("empty");
        Directory.CreateDirectory(empty);
        var gap = dir.File("gap");
        Directory.CreateDirectory(gap);
        File.WriteAllBytes(Path.Combine(gap, "vcpu-0.lapic"), new byte[1024]);
        File.WriteAllBytes(Path.Combine(gap, "vcpu-2.lapic"), new byte[1024]);
        var shortFile = dir.File("short");
        Directory.CreateDirectory(shortFile);
        File.WriteAllBytes(Path.Combine(shortFile, "vcpu-0.lapic"), new byte[1000]);
        var twins = dir.File("twins");
        Directory.CreateDirectory(twins);
        File.WriteAllBytes(Path.Combine(twins, "vcpu-0.lapic"), new byte[1024]);
        File.WriteAllBytes(Path.Combine(twins, "vcpu-1.lapic"), new byte[1024]);

        foreach (var (folder, message) in new[]
        {
            (empty, $"{empty}: error: no vcpu-N.lapic file in it"),
            (gap, $"{Path.Combine(gap, "vcpu-1.lapic")}: error: missing (the vCPUs go up to vcpu-2.lapic)"),
            (shortFile, $"{Path.Combine(shortFile, "vcpu-0.lapic")}: error: 1000 bytes, not the 1024 of a struct kvm_lapic_state"),
            (twins, $"{Path.Combine(twins, "vcpu-1.lapic")}: error: APIC ID 0x0 is vCPU 0's as well"),
            (dir.File("absent"), $"{dir.File("absent")}: error: cannot read it: "),
        })
        {
            var result = await InvokeAsync("state", "import-kvm", folder, "-o", dir.File("out.json"));
            Assert.True(result.Code == 2, $"{folder}: exit {result.Code}");
            Assert.StartsWith(message, result.Error.Trim(), StringComparison.Ordinal);
        }
        Assert.False(File.Exists(dir.File("out.json")));
        var badHz = await InvokeAsync("state", "import-kvm", gap, "-o", dir.File("out.json"), "--timer-hz", "0");
        Assert.Equal(2, badHz.Code);
        Assert.Contains("--timer-hz must be a whole number of Hz from 1 to", badHz.Error);
    }

    [Fact]
    public async Task AnOutputFileThatIsTheCommandsOwnInput_IsRefused_AndTheInputStays()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "vm vcpus=2\nwritel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var trace = dir.File("t.clef");
        var state = dir.File("s.json");
        Assert.Equal(0, (await InvokeAsync("state", "save", script, "-o", state, "--trace", trace)).Code);
        var kvm = dir.Write("kvm.txt", KvmTraceExcerpts.X2ApicReschedule);
        var before = new[] { script, trace, state, kvm }.ToDictionary(f => f, File.ReadAllBytes);
        // Each names one of its inputs again for what it writes, by another spelling of the path.
        var same = (string f) => Path.Combine(dir.Path, ".", Path.GetFileName(f));

        foreach (var (args, message) in new (string[] Args, string Message)[]
        {
            (["trace", "export", trace, "--format", "chrome", "-o", same(trace)], $"vapic: the timeline would be written over the trace it is drawn from, {trace}: give -o another file"),
            (["replay", trace, "--vm", "s", "--apic", "0", "-o", same(trace)], $"vapic: the page would be written over {trace}, which the replay reads: give -o another file"),
            (["replay", trace, "--vm", "s", "--apic", "0", "--state", state, "-o", same(state)], $"vapic: the page would be written over {state}, which the replay reads: give -o another file"),
            (["trace", "import-kvm", kvm, "-o", same(kvm)], $"vapic: the scenario would be written over the trace it comes from, {kvm}: give -o another file"),
            (["state", "save", script, "-o", same(script), "--no-trace"], $"vapic: the state would be written over the script {script}: give -o another file"),
            (["state", "save", script, "-o", dir.File("new.json"), "--trace", same(script)], $"vapic: the trace would be written over {script}, which this command reads: give --trace another file"),
            (["state", "restore", state, script, "--trace", same(state)], $"vapic: the trace would be written over {state}, which this command reads: give --trace another file"),
        })
        {
            var result = await InvokeAsync(args);

            Assert.True(result.Code == 2, $"{string.Join(' ', args)}: exit {result.Code}, {result.Error}");
            Assert.Equal(message, result.Error.Trim());
            foreach (var (file, bytes) in before)
            {
                Assert.Equal(bytes, File.ReadAllBytes(file));
            }
        }
        Assert.False(File.Exists(dir.File("new.json")));
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int link(string existing, string created);

    [Fact]
    public async Task AnOutputFileThatIsAHardLinkToTheCommandsOwnInput_IsRefused_AndTheInputStays()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // (the hard link is made with link(2))
        }
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "vm vcpus=2\nwritel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);
        var kvm = dir.Write("kvm.txt", KvmTraceExcerpts.X2ApicReschedule);
        var before = new[] { trace, kvm }.ToDictionary(f => f, File.ReadAllBytes);
        // Another name for the same file, which no spelling of the path gives away.
        var other = (string f) =>
        {
            var name = dir.File("other-" + Path.GetFileName(f));
            File.Delete(name);
            Assert.Equal(0, link(f, name));
            return name;
        };

        foreach (var (args, message) in new (string[] Args, string Message)[]
        {
            (["trace", "export", trace, "--format", "chrome", "-o", other(trace)], $"vapic: the timeline would be written over the trace it is drawn from, {trace}: give -o another file"),
            (["replay", trace, "--vm", "s", "--apic", "0", "-o", other(trace)], $"vapic: the page would be written over {trace}, which the replay reads: give -o another file"),
            (["trace", "import-kvm", kvm, "-o", other(kvm)], $"vapic: the scenario would be written over the trace it comes from, {kvm}: give -o another file"),
        })
        {
            var result = await InvokeAsync(args);

            Assert.True(result.Code == 2, $"{string.Join(' ', args)}: exit {result.Code}, {result.Error}");
            Assert.Equal(message, result.Error.Trim());
            foreach (var (file, bytes) in before)
            {
                Assert.Equal(bytes, File.ReadAllBytes(file));
            }
        }
    }

    [Theory]
    [InlineData("xapic", 0xFF00_0000u, "APIC ID 0xff is the xAPIC broadcast ID; an xAPIC VM's IDs go up to 0xfe")]
    [InlineData("x2apic", 0xFFFF_FFFFu, "APIC ID 0xffffffff is the x2APIC broadcast ID, which no APIC has")]
    public async Task StateImportKvm_AnIdNoApicCanHave_IsRefusedNamingTheFile(string mode, uint idWord, string reason)
    {
        using var dir = new TempDirectory();
        var folder = dir.File("kvm");
        Directory.CreateDirectory(folder);
        var regs = new byte[1024];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan(0x20), idWord);
        File.WriteAllBytes(Path.Combine(folder, "vcpu-0.lapic"), regs);

        var result = await InvokeAsync("state", "import-kvm", folder, "-o", dir.File("out.json"), "--mode", mode);

        Assert.Equal(2, result.Code);
        Assert.Equal($"{Path.Combine(folder, "vcpu-0.lapic")}: error: {reason}", result.Error.Trim());
        Assert.False(File.Exists(dir.File("out.json")));
    }

    [Fact]
    public async Task StateImportKvm_AFileOrNothingForTheFolder_SaysWhichWithExit2()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("state.json", "{}");

        var notAFolder = await InvokeAsync("state", "import-kvm", file, "-o", dir.File("out.json"));
        var absent = await InvokeAsync("state", "import-kvm", dir.File("absent"), "-o", dir.File("out.json"));

        Assert.Equal(2, notAFolder.Code);
        Assert.Equal($"{file}: error: cannot read it: '{file}' is a file, not a folder of vcpu-N.lapic files", notAFolder.Error.Trim());
        Assert.Equal(2, absent.Code);
        Assert.Equal($"{dir.File("absent")}: error: cannot read it: no such folder", absent.Error.Trim());
        Assert.False(File.Exists(dir.File("out.json")));
    }

    [Fact]
    public async Task InvalidStateFile_EveryCommandThatReadsIt_NamesTheFieldWithExit2()
    {
        using var dir = new TempDirectory();
        var state = dir.Write("extd.json", SaveRestoreTests.TwoVcpuStateJson()
            .Replace("\"apicBase\": \"0xfee00900\"", "\"apicBase\": \"0xfee00500\"", StringComparison.Ordinal));
        var script = dir.Write("cont.vapic", "readl 0xfee00020 -> 0\n");
        var withRestore = dir.Write("restore.vapic", "restore extd.json\nreadl 0xfee00020 -> 0\n");
        var trace = dir.Write("t.clef", "");
        const string Reason = "apics[0].apicBase 0xfee00500 is not a valid IA32_APIC_BASE: EXTD (bit 10, x2APIC mode) is set without EN (bit 11)";

        var show = await InvokeAsync("state", "show", state);
        var export = await InvokeAsync("state", "export-kvm", state, "-o", dir.File("kvm"));
        var replay = await InvokeAsync("replay", trace, "--state", state);
        var restore = await InvokeAsync("state", "restore", state, script, "--no-trace");
        var run = await InvokeAsync("run", withRestore, "--no-trace");

        foreach (var (name, result) in new[] { ("show", show), ("export-kvm", export), ("replay", replay), ("restore", restore) })
        {
            Assert.True(result.Code == 2, $"{name}: exit {result.Code}, {result.Error}");
            Assert.Equal($"{state}: error: {Reason}", result.Error.Trim());
        }
        Assert.Equal(2, run.Code);
        Assert.Contains($"restore.vapic:1: error: restore: cannot read {state}: {Reason}", run.Error);
        Assert.DoesNotContain(" at ", run.Error);
        Assert.False(Directory.Exists(dir.File("kvm")));
    }

    [Fact]
    public async Task StateFile_XApicIdAbove0xFE_RefusedByShowAndExportAlike()
    {
        using var dir = new TempDirectory();
        var state = dir.Write("idbig.json", SaveRestoreTests.TwoVcpuStateJson().Replace("\"0x1\"", "\"0x1ff\"", StringComparison.Ordinal));

        var show = await InvokeAsync("state", "show", state);
        var export = await InvokeAsync("state", "export-kvm", state, "-o", dir.File("kvm"));

        foreach (var result in new[] { show, export })
        {
            Assert.Equal(2, result.Code);
            Assert.Contains("apics[1].initialApicId 0x1ff is above 0xfe", result.Error);
        }
    }

    [Fact]
    public async Task RunningTimer_ShowReplayAndExportKvm_AllGiveTheCountTheGuestReads()
    {
        using var dir = new TempDirectory();
        // Divide by 1 at 1 GHz: one tick per ns, so 750 us into a count of 1000000 the guest reads 250000 (0x3d090).
        var script = dir.Write("timer.vapic", "vm vcpus=1\nwritel 0xfee003e0 0xb\nwritel 0xfee00320 0x20\nwritel 0xfee00380 1000000\nclock_step 750000\nreadl 0xfee00390 -> 250000\n");
        var state = dir.File("s.json");
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("state", "save", script, "-o", state, "--no-trace")).Code);
        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);

        var show = await InvokeAsync("state", "show", state);
        var replay = await InvokeAsync("replay", trace);
        var export = await InvokeAsync("state", "export-kvm", state, "-o", dir.File("kvm"));

        Assert.Equal(0, show.Code);
        Assert.Contains("TMICT    0x000f4240   TMCCT    0x0003d090", show.Output);
        Assert.Equal(0, replay.Code);
        Assert.Contains("TMICT    0x000f4240   TMCCT    0x0003d090", replay.Output);
        Assert.Equal(0, export.Code);
        Assert.Equal(250000u, BitConverter.ToUInt32(File.ReadAllBytes(Path.Combine(dir.File("kvm"), "vcpu-0.lapic")), 0x390));
    }

    private static Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args) => Vapic.InvokeAsync(args);
}
