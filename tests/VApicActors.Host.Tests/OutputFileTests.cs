using Spectre.Console;
using VApicActors.Host.Cli;
using VApicActors.Host.Scale;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests;

/// <summary>
/// Trace and JSON files that cannot be written: refused before anything runs when it shows at once, reported after
/// the printed results (never as written, never as a stack trace) when it shows only in the writing; exit 2 both ways.
/// </summary>
[Collection(SerilogCollection.Name)]
public sealed class OutputFileTests
{
    private const string DevFull = "/dev/full";

    [Fact]
    public void CannotWrite_NamesADirectory_AndLeavesNoFileBehind()
    {
        using var dir = new TempDirectory();
        Assert.Equal($"'{dir.Path}' is a directory, not a file", CommandLineFiles.CannotWrite(dir.Path));

        var fresh = dir.File("fresh.json");
        Assert.Null(CommandLineFiles.CannotWrite(fresh));
        Assert.False(File.Exists(fresh));

        var existing = dir.Write("existing.json", "kept");
        Assert.Null(CommandLineFiles.CannotWrite(existing));
        Assert.Equal("kept", File.ReadAllText(existing));

        var blocker = dir.Write("plain-file", "x");
        Assert.Equal($"'{blocker}' is a file, not a folder", CommandLineFiles.CannotWrite(Path.Combine(blocker, "under-a-file.json")));
        Assert.Equal($"'{blocker}' is a file, not a folder", CommandLineFiles.CannotWrite(Path.Combine(blocker, "deeper", "x.json")));
    }

    [Fact]
    public void CannotWrite_IntoFoldersThatDoNotExist_SaysItCanAndLeavesNoFolderBehind()
    {
        // The file will be written with the folders above it created, as a trace is: the check creates and removes them.
        using var dir = new TempDirectory();

        Assert.Null(CommandLineFiles.CannotWrite(Path.Combine(dir.Path, "new", "deeper", "report.json")));

        Assert.False(Directory.Exists(Path.Combine(dir.Path, "new")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData("stress", "--operations", "100", "--vcpus", "2")]
    [InlineData("bench", "--seconds", "0.1", "--warm-up", "0", "--vcpus", "2", "--designs", "direct")]
    [InlineData("scale", "--total", "64", "--vcpus-per-vm", "32")]
    public async Task Json_IntoFoldersThatDoNotExist_CreatesThemAsATraceDoes(params string[] args)
    {
        using var dir = new TempDirectory();
        var json = Path.Combine(dir.Path, "new", "deeper", "report.json");

        var (code, _, error) = await InvokeAsync([.. args, "--json", json]);

        Assert.True(code == 0, error);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
    }

    [Fact]
    public async Task OutputFiles_IntoFoldersThatDoNotExist_AreWrittenThere()
    {
        // Every file a command writes (--output of the trace and state tools, a scenario's save) creates the folders
        // above it, as --trace and --json do.
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "vm vcpus=1\nwritel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var trace = Path.Combine(dir.Path, "t1", "trace.clef");
        var kvm = dir.Write("kvm.txt", " CPU 0/KVM-4321  [002] 12345.678903: kvm_apic:             apic_write APIC_SPIV = 0x1ff\n");
        string Under(string folder, string name) => Path.Combine(dir.Path, folder, "sub", name);

        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);
        foreach (var (args, written) in new (string[], string)[]
        {
            (["state", "save", script, "-o", Under("o1", "st.json"), "--no-trace"], Under("o1", "st.json")),
            (["state", "restore", Under("o1", "st.json"), script, "-o", Under("o2", "st.json"), "--no-trace"], Under("o2", "st.json")),
            (["replay", trace, "-o", Under("o3", "page.bin")], Under("o3", "page.bin")),
            (["trace", "export", trace, "-o", Under("o4", "timeline.json")], Under("o4", "timeline.json")),
            (["trace", "import-kvm", kvm, "-o", Under("o5", "kvm.vapic")], Under("o5", "kvm.vapic")),
            (["state", "export-kvm", Under("o1", "st.json"), "-o", Under("o6", "lapic")], Path.Combine(Under("o6", "lapic"), "vcpu-0.lapic")),
            (["state", "import-kvm", Under("o6", "lapic"), "-o", Under("o7", "st.json")], Under("o7", "st.json")),
            (["run", script, "--no-trace", "--junit", Under("o8", "run.xml")], Under("o8", "run.xml")),
        })
        {
            var (code, _, error) = await InvokeAsync(args);

            Assert.True(code == 0, string.Join(" ", args) + ": exit " + code + ": " + error);
            Assert.True(File.Exists(written), written);
        }
        var save = dir.Write("save.vapic", "vm vcpus=1\nsave out/later/saved.json\n");
        Assert.Equal(0, (await InvokeAsync("run", save, "--no-trace")).Code);
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "later", "saved.json")));
    }

    [Fact]
    public async Task Trace_ToADirectory_IsRefusedBeforeTheSimulation()
    {
        using var dir = new TempDirectory();
        var (code, output, error) = await InvokeAsync("--vcpus", "2", "--duration", "10ms", "--trace", dir.Path);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains($"vapic: cannot write the trace to {dir.Path}: '{dir.Path}' is a directory, not a file", error);
        Assert.DoesNotContain("events written", error);
    }

    [Fact]
    public async Task Trace_UnderAFile_IsRefusedBeforeTheScriptsRun()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var blocker = dir.Write("plain-file", "x");
        var trace = Path.Combine(blocker, "x.clef");

        var (code, output, error) = await InvokeAsync("run", script, "--trace", trace);

        Assert.Equal(2, code);
        Assert.DoesNotContain("passed", output);
        Assert.Contains($"vapic: cannot write the trace to {trace}: ", error);
        Assert.DoesNotContain("events written", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Run_WithNoReadableScript_LeavesTheLastTraceAlone()
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("vapic-trace.clef", "{\"@t\":\"the last run's trace\"}\n");
        var missing = dir.File("typo.vapic");

        var (code, output, error) = await InvokeAsync("run", missing, dir.Path, "--trace", trace);

        Assert.Equal(2, code);
        Assert.Contains($"{missing}: error: no such file", error);
        Assert.Contains($"{dir.Path}: error: cannot read the file: '{dir.Path}' is a directory, not a file", error);
        Assert.Equal("0 passed, 0 failed", output.Trim());
        Assert.DoesNotContain("events written", error);
        Assert.Equal("{\"@t\":\"the last run's trace\"}\n", File.ReadAllText(trace));
    }

    [Fact]
    public async Task Run_WithOneReadableScript_RunsItAndNamesTheOther()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var trace = dir.File("t.clef");
        var missing = dir.File("typo.vapic");

        var (code, output, error) = await InvokeAsync("run", missing, script, "--trace", trace);

        Assert.Equal(2, code);
        Assert.Contains($"{missing}: error: no such file", error);
        Assert.Equal("1 passed, 0 failed", output.Trim());
        Assert.Contains(ClefReader.Read(trace), e => e.GetProperty("Register").GetString() == "SVR");
    }

    [Fact]
    public async Task Trace_ThroughASymbolicLink_WritesTheTargetAndKeepsTheLink()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // (making a symbolic link needs a privilege there)
        }
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var target = dir.Write("target.clef", "old\n");
        var link = dir.File("link.clef");
        File.CreateSymbolicLink(link, target);

        var (code, _, error) = await InvokeAsync("run", script, "--trace", link);

        Assert.True(code == 0, error);
        // The file is emptied and written, not deleted and made anew: a link (or a device such as /dev/null) stays one.
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Contains(ClefReader.Read(target), e => e.GetProperty("Register").GetString() == "SVR");
    }

    [Fact]
    public async Task Trace_ThatFailsWhileWriting_PrintsTheSummaryThenTheErrorAndExitsTwo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // (needs /dev/full, where every write fails)
        }
        var (code, output, error) = await InvokeAsync("--vcpus", "2", "--duration", "50ms", "--trace", DevFull);

        Assert.Equal(2, code);
        Assert.Contains("VM default", output);
        Assert.Contains($"trace: writing {DevFull} failed: ", output);
        Assert.DoesNotContain("events written", output);
        Assert.Contains($"vapic: writing the trace to {DevFull} failed: ", error);
    }

    [Fact]
    public async Task Run_TraceThatFailsWhileWriting_PrintsTheResultsThenTheErrorAndExitsTwo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");

        var (code, output, error) = await InvokeAsync("run", script, "--trace", DevFull);

        Assert.Equal(2, code);
        Assert.Equal("1 passed, 0 failed", output.Trim());
        Assert.DoesNotContain("events written", error);
        Assert.Contains($"vapic: writing the trace to {DevFull} failed: ", error);
    }

    [Theory]
    [InlineData("stress", "--operations", "100")]
    [InlineData("bench", "--seconds", "0.1")]
    [InlineData("scale", "--total", "64")]
    public async Task Json_ToADirectory_IsRefusedBeforeTheRun(params string[] args)
    {
        using var dir = new TempDirectory();
        var (code, output, error) = await InvokeAsync([.. args, "--json", dir.Path]);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vapic {args[0]}: --json: cannot write {dir.Path}: '{dir.Path}' is a directory, not a file", error.Trim());
    }

    [Theory]
    [InlineData("stress", "--operations", "100")]
    [InlineData("bench", "--seconds", "0.1")]
    [InlineData("scale", "--total", "64")]
    public async Task Json_WithAnEmptyName_IsRefusedSayingSo(params string[] args)
    {
        var (code, output, error) = await InvokeAsync([.. args, "--json", ""]);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vapic {args[0]}: --json: cannot write : the file name is empty", error.Trim());
    }

    [Fact]
    public async Task Stress_JsonAndTraceToOneFile_IsRefusedBeforeTheRun()
    {
        // The report, written at the end, replaced the trace the run had written there.
        using var dir = new TempDirectory();
        var file = dir.File("run.json");

        var (code, output, error) = await InvokeAsync("stress", "--operations", "100", "--json", file, "--trace", Path.Combine(dir.Path, ".", "run.json"));

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vapic stress: --json: {file} is also the --trace file; give each its own file", error.Trim());
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task Stress_TraceUnderAFile_IsRefusedBeforeTheRun()
    {
        using var dir = new TempDirectory();
        var trace = Path.Combine(dir.Write("plain-file", "x"), "x.clef");
        var (code, _, error) = await InvokeAsync("stress", "--operations", "100", "--trace", trace);

        Assert.Equal(2, code);
        Assert.StartsWith($"vapic stress: cannot write the trace to {trace}: ", error.Trim());
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Stress_JsonThatFailsAtTheEnd_PrintsTheReportThenOneLineAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with { Progress = false, Vcpus = 2, Operations = 200, Seed = 5 };
        var (console, printed) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() => StressCommand.RunAsync(settings, dir.Path, console, CancellationToken.None));

        Assert.Equal(2, code);
        Assert.Contains("every invariant holds", printed.ToString());
        Assert.Equal($"vapic stress: --json: cannot write {dir.Path}: '{dir.Path}' is a directory, not a file", error.Trim());
    }

    [Fact]
    public async Task Stress_TraceThatFailsWhileWriting_PrintsTheReportThenTheErrorAndExitsTwo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with { Progress = false, Vcpus = 2, Operations = 200, Seed = 5 };
        var (console, printed) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() => StressCommand.RunAsync(settings, null, console, CancellationToken.None, DevFull));

        Assert.Equal(2, code);
        Assert.Contains("every invariant holds", printed.ToString());
        Assert.DoesNotContain("events written", error);
        Assert.StartsWith($"vapic stress: writing the trace to {DevFull} failed: ", error.Trim());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stress_WithATrace_PointsToTraceIpisOnlyWhenAnInvariantIsViolated(bool lose)
    {
        using var dir = new TempDirectory();
        var trace = dir.File("s.clef");
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false, Vcpus = 2, Operations = 300, Seed = 5, LoseOneIpi = lose, FaultVcpu = 1,
            Mix = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 1 }),
        };
        var (console, _) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() => StressCommand.RunAsync(settings, null, console, CancellationToken.None, trace));

        Assert.Equal(lose ? 1 : 0, code);
        Assert.Contains("events written to " + trace, error);
        Assert.Equal(lose, error.Contains($"to follow the IPIs that did not end in an EOI: vapic trace ipis {trace} --problems", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scale_JsonThatFailsAtTheEnd_PrintsTheReportThenOneLineAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var (console, printed) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() =>
            ScaleCommand.RunAsync(new ScaleSettings(Total: 64, VcpusPerVm: 32), dir.Path, console, CancellationToken.None));

        Assert.Equal(2, code);
        Assert.Contains("scale: summary", printed.ToString());
        Assert.Equal($"vapic scale: --json: cannot write {dir.Path}: '{dir.Path}' is a directory, not a file", error.Trim());
    }

    [Fact]
    public async Task Bench_JsonThatFailsAtTheEnd_SaysSoInOneLineAndExitsTwo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // (needs /dev/full: it opens for writing, so the check before the run lets it through)
        }
        var (code, _, error) = await InvokeAsync("bench", "--seconds", "0.1", "--warm-up", "0", "--vcpus", "2", "--designs", "direct", "--json", DevFull);

        Assert.Equal(2, code);
        Assert.StartsWith($"vapic bench: --json: cannot write {DevFull}: ", error.Trim());
        Assert.DoesNotContain("   at ", error);
    }

    private static async Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var (code, error) = await StandardError.CaptureAsync(async () =>
        {
            var commandError = new StringWriter();
            var result = await new VapicCommandLine(output, commandError).InvokeAsync(args);
            await Console.Error.WriteAsync(commandError.ToString());
            return result;
        });
        return (code, output.ToString(), error);
    }
}
