using VApicActors.Host.Cli;

namespace VApicActors.Host.Tests;

[Collection(SerilogCollection.Name)]
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("run --help")]
    public async Task Help_OnEveryCommand_PrintsUsageAndExitsZero(string args)
    {
        var (code, output, _) = await InvokeAsync(args.Split(' '));
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("vapic", output);
    }

    [Fact]
    public async Task Help_Root_ListsRunAndTheOverrides()
    {
        var (_, output, _) = await InvokeAsync("--help");
        Assert.Contains("run", output);
        Assert.Contains("--vcpus", output);
        Assert.Contains("--trace-filter", output);
    }

    [Fact]
    public async Task Help_Config_SaysTheFileIsLaidOverTheDefaults()
    {
        var (code, output, _) = await InvokeAsync("--help");
        Assert.Equal(0, code);
        var text = System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");
        Assert.Contains("HOCON file laid over the defaults", text);
        Assert.DoesNotContain("instead of hocon/vapic.hocon", text);
    }

    [Theory]
    [InlineData("bench", "--trace", "t.clef")]
    [InlineData("scale", "--no-trace")]
    [InlineData("trace", "view", "t.clef", "--trace-filter", "ApicId = 1")]
    [InlineData("replay", "t.clef", "--trace", "u.clef")]
    [InlineData("state", "show", "s.json", "--no-trace")]
    public async Task TraceOptions_OnACommandThatWritesNoTrace_AreRefusedNotIgnored(params string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        Assert.Contains("Unrecognized command or argument '--", error);
    }

    [Theory]
    [InlineData("stress", "--seconds", "2", "--operations", "100")]
    [InlineData("stress", "--sequential", "--seconds", "2")]
    public async Task Stress_OptionsThatCannotBothApply_AreRefused(params string[] args)
    {
        var (code, _, _) = await InvokeAsync(args);
        Assert.Equal(2, code);
    }

    [Fact]
    public async Task Stress_OperationsZeroWithSeconds_RunsByTime()
    {
        // operations = 0 means "run for the duration" in the configuration; --operations 0 means the same.
        using var dir = new TempDirectory();
        var json = dir.File("by-time.json");

        var (code, error) = await StandardError.CaptureAsync(async () =>
            (await InvokeAsync("stress", "--operations", "0", "--seconds", "0.3", "--vcpus", "2", "--json", json)).Code);

        Assert.True(code == 0, error);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("concurrent", report.RootElement.GetProperty("run").GetString());
        Assert.True(report.RootElement.GetProperty("elapsedSeconds").GetDouble() >= 0.3);
        Assert.True(report.RootElement.GetProperty("operations").GetInt64() > 0);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("serve")]
    [InlineData("state", "save")]
    [InlineData("state", "restore")]
    public async Task TraceOptions_AreOfferedWhereATraceIsWritten(params string[] command)
    {
        var (_, output, _) = await InvokeAsync([.. command, "--help"]);
        Assert.Contains("--trace <FILE>", output);
        Assert.Contains("--no-trace", output);
        Assert.Contains("--trace-filter", output);
    }

    [Fact]
    public async Task ConfigurationError_NamesTheKeyAndExitsTwo()
    {
        var (code, _, error) = await InvokeAsync("--vcpus", "0", "--no-trace");
        Assert.Equal(2, code);
        Assert.Contains("vapic.simulation.vcpus", error);
        Assert.Contains("between 1 and 4096", error);
    }

    [Fact]
    public async Task MoreXApicVcpusThanIds_IsAConfigurationError()
    {
        var (code, _, error) = await InvokeAsync("--vcpus", "300", "--mode", "xapic", "--no-trace");
        Assert.Equal(2, code);
        Assert.Contains("vapic.simulation.vcpus", error);
        Assert.Contains("use mode = x2apic", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("stress")]
    [InlineData("bench")]
    [InlineData("scale")]
    public async Task BadDispatcherSetting_IsRefusedNamingItAndExitsTwo(string command)
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "vapic-vcpu-dispatcher.vcpu-executor.spin-rounds = -1");
        var args = command == "run" ? new[] { "--config", path, "--no-trace" } : new[] { command, "--config", path };
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        if (command == "run")
        {
            // (stress, bench and scale write their errors to the process's own standard error.)
            Assert.Contains("vapic-vcpu-dispatcher.vcpu-executor.spin-rounds", error);
            Assert.Contains("0 to 1000000", error);
        }
    }

    [Fact]
    public async Task BadConfigurationFile_NamesTheKeyAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "vapic.hocon")).Replace("mode = xapic", "mode = apic");
        var path = dir.Write("bad.hocon", text);
        var (code, _, error) = await InvokeAsync("--config", path, "--no-trace");
        Assert.Equal(2, code);
        Assert.Contains("vapic.simulation.mode", error);
        Assert.Contains("xapic or x2apic", error);
    }

    [Fact]
    public async Task ApicIdListWithAnObject_NamesTheKeyAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "vapic.simulation { vcpus = 2, apic-ids = [0, {a=1}] }");
        var (code, _, error) = await InvokeAsync("--config", path, "--no-trace");
        Assert.Equal(2, code);
        Assert.Contains("vapic.simulation.apic-ids", error);
        Assert.Contains("an object at item 2", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task UnclosedBraceInTheConfigFile_IsNotValidHoconAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "vapic.simulation { vcpus = 2 \n");
        var (code, output, error) = await InvokeAsync("--config", path, "--no-trace");
        Assert.Equal(2, code);
        Assert.Equal($"vapic: invalid configuration: {path}: not valid HOCON: the '{{' of line 1 is never closed{Environment.NewLine}", error);
        Assert.Empty(output);
    }

    [Fact]
    public async Task MisspelledKeyInTheConfigFile_IsWarnedAboutAndTheRunGoesOn()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("typo.hocon", "vapic.simulation.vcpu = 2\nvapic.simulaton.vcpus = 2\n");
        var (code, output, error) = await InvokeAsync("--config", path, "--no-trace", "--vcpus", "1", "--duration", "10ms", "--tick-period", "1ms");
        Assert.Equal(0, code);
        Assert.Contains($"vapic: warning: unknown setting vapic.simulation.vcpu in {path} (ignored; did you mean vapic.simulation.vcpus?)", error);
        Assert.Contains($"vapic: warning: unknown setting vapic.simulaton.vcpus in {path} (ignored; did you mean vapic.simulation.vcpus?)", error);
        Assert.Contains("VM default: 1 vCPU, ", output);
    }

    [Fact]
    public async Task AkkaSettingAkkaCannotRead_IsOneLineNamingTheKeyAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "akka.actor.ask-timeout = banana\n");
        var (code, output, error) = await InvokeAsync("--config", path, "--no-trace");
        Assert.Equal(2, code);
        Assert.Equal(
            "vapic: invalid configuration: akka.actor.ask-timeout: not accepted by Akka: The input string 'banana' was not in a correct format."
                + Environment.NewLine,
            error);
        Assert.Empty(output);
    }

    [Fact]
    public async Task ActorSystemThatDoesNotStart_IsOneLineAndExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "akka.actor.default-dispatcher.type = banana\n");
        var (code, output, error) = await InvokeAsync("--config", path, "--no-trace");
        Assert.Equal(2, code);
        Assert.Equal(
            "vapic: the actor system did not start (see the akka settings): Could not resolve dispatcher type banana for path akka.actor.default-dispatcher"
                + Environment.NewLine,
            error);
        Assert.Empty(output);
    }

    [Fact]
    public async Task InvalidTraceFilter_IsReportedAndExitsTwo()
    {
        var (code, _, error) = await InvokeAsync("run", "x.vapic", "--trace-filter", "Vector = (");
        Assert.Equal(2, code);
        Assert.Contains("vapic.trace.filter", error);
        Assert.Contains("not a valid Serilog expression", error);
    }

    [Theory]
    [InlineData("--mode", "x3apic")]
    [InlineData("--vcpus", "four")]
    [InlineData("--no-such-option")]
    [InlineData("run")]
    public async Task ParseError_ExitsTwo(params string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        // The usage hint names the command that was given: the root's help for its options, run's for run.
        Assert.Contains(args[0] == "run" ? "Run 'vapic run --help'" : "Run 'vapic --help'", error);
    }

    [Theory]
    [InlineData("--vcpus: an xapic VM has at most 255 vCPUs (IDs 0 to 0xFE); use --mode x2apic", "stress", "--vcpus", "300")]
    [InlineData("--vcpus: an xapic VM has at most 255 vCPUs (IDs 0 to 0xFE); use --mode x2apic", "stress", "--mode", "xapic", "--vcpus", "256")]
    [InlineData("--vcpus: must be 1 to 4096, not 0", "stress", "--vcpus", "0")]
    [InlineData("--apic-ids: sparse xapic IDs (3 apart) fit at most 85 vCPUs", "stress", "--vcpus", "100", "--apic-ids", "sparse")]
    [InlineData("--vms: must be 1 to", "stress", "--vms", "0")]
    [InlineData("--seconds: must be more than 0 and at most 3600", "stress", "--seconds", "0")]
    [InlineData("--seconds: must be more than 0 and at most 3600", "stress", "--seconds", "0", "--operations", "10")]
    [InlineData("--seconds: must be at least 0.0000001 (100 ns)", "stress", "--seconds", "1e-9")]
    [InlineData("--seconds: give --seconds or a number of --operations, not both", "stress", "--seconds", "2", "--operations", "100")]
    public async Task StressValueFromTheCommandLine_RefusedNamingTheOption(string message, params string[] args)
    {
        var (code, error) = await StandardError.CaptureAsync(async () => (await InvokeAsync(args)).Code);
        Assert.Equal(2, code);
        Assert.Contains("vapic stress: invalid configuration: " + message, error);
        Assert.DoesNotContain("vapic.stress.", error);
    }

    [Theory]
    [InlineData("--mix: 'bogus=3' is not name=weight with a name among fixed, logical,", "--mix", "bogus=3")]
    [InlineData("--mix: 'fixed=-1': a weight is 0 to 1000000", "--mix", "fixed=-1")]
    [InlineData("--mix: 'fixed=99999999999': a weight is 0 to 1000000", "--mix", "fixed=99999999999")]
    [InlineData("--mix: at least one weight must be above 0", "--mix",
        "fixed=0,logical=0,shorthand=0,broadcast=0,lowest=0,nmi=0,self=0,msi=0,tpr=0,callfn=0,timer=0,read=0")]
    [InlineData("--mix: names no operation kind (NAME=W,... with NAME among fixed, logical,", "--mix", "")]
    [InlineData("--mix: names no operation kind (NAME=W,... with NAME among fixed, logical,", "--mix", " , ")]
    [InlineData("--vcpus: must be 1 to 4096, not 0", "--vcpus", "0")]
    public async Task Stress_BadMixOrVcpus_IsOneLineNamingTheOptionAndExitsTwo(string message, params string[] args)
    {
        var (code, error) = await StandardError.CaptureAsync(async () => (await InvokeAsync(["stress", .. args])).Code);

        Assert.Equal(2, code);
        Assert.StartsWith("vapic stress: invalid configuration: " + message, error.Trim());
        Assert.Single(error.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("vapic.stress.vcpus = 300", "--mode", "x2apic")]
    [InlineData("vapic.stress { apic-ids = sparse, vcpus = 100 }", "--vcpus", "8")]
    [InlineData("vapic.stress { vcpus = 300, mode = x2apic }", "--mode", "xapic", "--vcpus", "8")]
    [InlineData("vapic.stress.mix { fixed = 0, logical = 0, shorthand = 0, broadcast = 0, lowest = 0, nmi = 0, self = 0, msi = 0, tpr = 0, callfn = 0, timer = 0, read = 0 }",
        "--vcpus", "4", "--mix", "fixed=1")]
    public async Task Stress_FileCombinationTheOptionsMakeValid_Runs(string hocon, params string[] args)
    {
        // The combination was checked on the file's values alone, before the options that win over them were applied,
        // so "vcpus = 300" refused --mode x2apic with "an xapic VM has at most 255 vCPUs".
        using var dir = new TempDirectory();
        var config = dir.Write("stress.hocon", hocon + "\n");

        var (code, error) = await StandardError.CaptureAsync(async () =>
            (await InvokeAsync(["--config", config, "stress", "--sequential", "--operations", "300", .. args])).Code);

        Assert.DoesNotContain("invalid configuration", error);
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Stress_FaultVcpuBeyondTheFilesVcpusButWithinVcpusOption_LosesThatVcpusIpi()
    {
        // fault-vcpu = 99 was refused as "must be below vcpus (64)" although --vcpus 128 gives the run 128 vCPUs.
        using var dir = new TempDirectory();
        var config = dir.Write("fault.hocon", "vapic.stress { lose-one-ipi = on, fault-vcpu = 99 }\n");

        var (code, error) = await StandardError.CaptureAsync(async () => (await InvokeAsync(["--config", config, "stress", "--sequential",
            "--vcpus", "128", "--mode", "x2apic", "--operations", "256",
            "--mix", "fixed=1,logical=0,shorthand=0,broadcast=0,lowest=0,nmi=0,self=0,msi=0,tpr=0,callfn=0,timer=0,read=0"])).Code);

        Assert.DoesNotContain("invalid configuration", error);
        Assert.Equal(1, code);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Bench_Json_SaysWhetherTheBenchWasInterrupted(bool interrupt)
    {
        // An interrupted bench wrote the same JSON as a finished one, with fewer (or no) designs' rows in it: read on
        // its own, the file could not tell a cut-short bench from one that measured less.
        using var dir = new TempDirectory();
        var json = dir.File("bench.json");
        using var stop = new CancellationTokenSource();
        if (interrupt)
        {
            stop.Cancel();
        }

        var (code, _) = await StandardError.CaptureAsync(() => new VapicCommandLine(TextWriter.Null, TextWriter.Null).InvokeAsync(
            ["bench", "--seconds", "0.1", "--warm-up", "0", "--vcpus", "2", "--designs", "direct", "--json", json], stop.Token));

        Assert.Equal(interrupt ? 130 : 0, code);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(interrupt, report.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.Equal(interrupt ? 0 : 1, report.RootElement.GetProperty("designs").GetArrayLength());
    }

    [Theory]
    [InlineData("stress", "--vcpus", "2", "--operations", "20")]
    [InlineData("bench", "--seconds", "0.2", "--warm-up", "0", "--vcpus", "2")]
    [InlineData("scale", "--total", "2")]
    public async Task MeasuringCommand_DispatcherSettingItCannotTake_IsOneLineNamingTheKeyAndExitsTwo(params string[] args)
    {
        // Used to end in "vapic: unexpected error: System.FormatException: ..." with a stack trace, and exit 1.
        using var dir = new TempDirectory();
        var config = dir.Write("dispatcher.hocon", "vapic-vcpu-dispatcher.vcpu-executor.threads = many\n");

        var (code, error) = await StandardError.CaptureAsync(async () => (await InvokeAsync(["--config", config, .. args])).Code);

        Assert.Equal(2, code);
        Assert.Equal($"vapic {args[0]}: invalid configuration: vapic-vcpu-dispatcher.vcpu-executor.threads: must be 0 (one per core) to 1024, not many", error.Trim());
    }

    [Theory]
    [InlineData("--vcpus: '4,,8' has an empty entry", "--vcpus", "4,,8")]
    [InlineData("--vcpus: '4,8,' has an empty entry", "--vcpus", "4,8,")]
    [InlineData("--designs: 'actors,,locks' has an empty entry", "--designs", "actors,,locks")]
    public async Task Bench_AListWithAnEmptyEntry_IsOneLineNamingTheOptionAndExitsTwo(string message, params string[] args)
    {
        var (code, error) = await StandardError.CaptureAsync(async () => (await InvokeAsync(["bench", .. args])).Code);

        Assert.Equal(2, code);
        Assert.Equal("vapic bench: invalid configuration: " + message, error.Trim());
    }

    [Theory]
    [InlineData("--vcpus: 'abc' is not a whole number", "--vcpus", "abc")]
    [InlineData("--seed: '1.5' is not a whole number", "--seed", "1.5")]
    [InlineData("--timer-hz: 'fast' is not a whole number", "--timer-hz", "fast")]
    [InlineData("--vcpus: '99999999999' is too large", "--vcpus", "99999999999")]
    [InlineData("--vcpus: '-99999999999' is too small", "stress", "--vcpus", "-99999999999")]
    [InlineData("--seed: '99999999999999999999' is too large", "stress", "--seed", "99999999999999999999")]
    [InlineData("--vcpus: 'abc' is not a whole number", "stress", "--vcpus", "abc")]
    [InlineData("--seconds: 'abc' is not a number", "stress", "--seconds", "abc")]
    [InlineData("--seed: 'x' is not a whole number", "stress", "--seed", "x")]
    [InlineData("--seconds: 'NaN' is not a number", "bench", "--seconds", "NaN")]
    [InlineData("--total: 'lots' is not a whole number", "scale", "--total", "lots")]
    public async Task NotANumber_SaysSoInWordsAndExitsTwo(string message, params string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        Assert.Contains("vapic: " + message, error);
        Assert.DoesNotContain("System.", error);
        Assert.DoesNotContain("expected type", error);
    }

    [Theory]
    [InlineData("vapic: --apic-ids: must be dense or sparse, not 'foo'", "scale", "--apic-ids", "foo")]
    [InlineData("vapic: --actor-exits: must be per-exit, batched or hosted, not 'fast'", "bench", "--actor-exits", "fast")]
    [InlineData("vapic: --mode: must be xapic or x2apic, not 'x3apic'", "stress", "--mode", "x3apic")]
    [InlineData("vapic: --boot: must be all or bsp, not 'some'", "--boot", "some")]
    public async Task NotOneOfTheWordsAnOptionTakes_IsOneLineNamingTheOptionAndExitsTwo(string message, params string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);

        Assert.Equal(2, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(message, lines[0]);
        Assert.StartsWith("Run '", lines[1]);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task Help_OfAnOptionThatTakesOneOfSomeWords_StillListsThem()
    {
        var (code, output, _) = await InvokeAsync("scale", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--apic-ids <dense|sparse>", output);
    }

    [Fact]
    public void EveryNumberOption_HasAParserThatSaysWhatIsWrongInWords()
    {
        var root = new VapicCommandLine(TextWriter.Null, TextWriter.Null).Root;
        var missing = new List<string>();
        Visit(root);
        Assert.Empty(missing);

        void Visit(System.CommandLine.Command command)
        {
            foreach (var option in command.Options)
            {
                var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
                var parser = option.GetType().GetProperty("CustomParser")?.GetValue(option);
                if ((type.IsPrimitive && type != typeof(bool)) && parser is null)
                {
                    missing.Add(command.Name + " " + option.Name);
                }
            }
            foreach (var sub in command.Subcommands)
            {
                Visit(sub);
            }
        }
    }

    [Fact]
    public async Task Run_Dash_ReadsTheScriptFromStandardInput_NamedDashInItsLines()
    {
        using var dir = new TempDirectory();
        var trace = dir.File("stdin.clef");
        // A relative save from a script with no folder of its own lands in the current directory.
        var saved = Path.Combine("vapic-run-stdin-" + Guid.NewGuid().ToString("N"), "state.json");
        var script = $"vm vcpus=2\ncpu 1\nreadl 0xfee00020 -> 0x02000000\nsave {saved}\nbogus\n";
        var output = new StringWriter();
        var error = new StringWriter();
        try
        {
            var code = await new VapicCommandLine(output, error, () => new StringReader(script)).InvokeAsync(["run", "-", "--trace", trace]);

            Assert.Equal(2, code);
            var lines = output.ToString().Trim().ReplaceLineEndings("\n").Split('\n');
            Assert.StartsWith("-:3: expected 0x02000000, got 0x", lines[0]);
            Assert.Equal("0 passed, 1 failed", lines[^1]);
            Assert.Contains("-:5: error: unknown command 'bogus'", error.ToString());
            Assert.True(File.Exists(Path.Combine(Directory.GetCurrentDirectory(), saved)), error.ToString());
            Assert.Equal(["stdin"], ClefReader.Read(trace).Select(e => e.GetProperty("Vm").GetString()).Distinct());
        }
        finally
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(saved))!;
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Run_Dash_AByteOrderMarkBeforeTheFirstLine_IsDropped_AsForAFileOrTheService()
    {
        using var dir = new TempDirectory();
        const string script = "\uFEFFreadl 0xfee00030 -> 0x1060014\nirr -> none\n";
        var file = dir.Write("bom.vapic", script);

        var fromFile = await Vapic.InvokeAsync("run", "--no-trace", file);
        var fromInput = await Vapic.InvokeWithInputAsync(script, "run", "--no-trace", "-");

        Assert.Equal((0, "2 passed, 0 failed", ""), (fromFile.Code, fromFile.Output.Trim(), fromFile.Error));
        Assert.Equal((0, "2 passed, 0 failed", ""), (fromInput.Code, fromInput.Output.Trim(), fromInput.Error));
    }

    [Fact]
    public async Task Run_DashTwice_TheSecondIsAnError_StandardInputIsReadOnce()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new VapicCommandLine(output, error, () => new StringReader("clock -> 0\n")).InvokeAsync(["run", "-", "-", "--no-trace"]);

        Assert.Equal(2, code);
        Assert.Contains("-: error: standard input was read by an earlier '-' of this run", error.ToString());
        Assert.Equal("1 passed, 0 failed", output.ToString().Trim());
    }

    [Fact]
    public async Task Run_ExitCodes_PassFailError()
    {
        using var dir = new TempDirectory();
        var pass = dir.Write("pass.vapic", "vm vcpus=2\ncpu 1\nreadl 0xfee00020 -> 0x01000000\n");
        var fail = dir.Write("fail.vapic", "readl 0xfee00020 -> 0x01000000\n");
        var bad = dir.Write("bad.vapic", "readl\n");

        var (passCode, passOut, _) = await InvokeAsync("run", pass, "--no-trace");
        Assert.Equal(0, passCode);
        Assert.Equal("1 passed, 0 failed", passOut.Trim());

        var (failCode, failOut, _) = await InvokeAsync("run", pass, fail, "--no-trace");
        Assert.Equal(1, failCode);
        Assert.Contains($"{fail}:1: expected 0x01000000, got 0x0", failOut);
        Assert.EndsWith("1 passed, 1 failed", failOut.Trim());

        var (badCode, _, badErr) = await InvokeAsync("run", bad, pass, "--no-trace");
        Assert.Equal(2, badCode);
        Assert.Contains($"{bad}:1: error: readl: missing argument", badErr);

        var (missingCode, _, missingErr) = await InvokeAsync("run", dir.File("missing.vapic"), "--no-trace");
        Assert.Equal(2, missingCode);
        Assert.Contains("missing.vapic: error: no such file", missingErr);
    }

    [Fact]
    public async Task Run_WithTrace_WritesTheFileAndSaysWhere()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");
        var trace = dir.File("out.clef");
        var (code, output, error) = await InvokeAsync("run", script, "--trace", trace);
        Assert.Equal(0, code);
        Assert.Equal("1 passed, 0 failed", output.Trim());
        Assert.Contains(trace, error);
        var events = ClefReader.Read(trace);
        Assert.Contains(events, e => e.GetProperty("Register").GetString() == "SVR");
    }

    [Fact]
    public async Task DefaultSimulation_FromTheCommandLine_PrintsTheSummaryAndTracePath()
    {
        using var dir = new TempDirectory();
        var trace = dir.File("sim.clef");
        var (code, output, error) = await InvokeAsync("--duration", "100ms", "--trace", trace);

        Assert.True(code == 0, error);
        Assert.Contains("VM default", output);
        Assert.Equal(4, output.Split('\n').Count(l => l.Contains("running", StringComparison.Ordinal) && !l.Contains("wait-for-sipi", StringComparison.Ordinal)));
        Assert.Contains(" ec:25 ", output);
        Assert.Contains(trace, output);
        Assert.True(ClefReader.Read(trace).Count > 100);
    }

    [Fact]
    public async Task Run_ADirectory_SaysItIsADirectory()
    {
        using var dir = new TempDirectory();
        var pass = dir.Write("pass.vapic", "writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n");

        var (code, output, error) = await InvokeAsync("run", dir.Path, pass, "--no-trace");

        Assert.Equal(2, code);
        Assert.Equal("1 passed, 0 failed", output.Trim());
        Assert.Contains($"{dir.Path}: error: cannot read the file: '{dir.Path}' is a directory, not a file", error);
        Assert.DoesNotContain("denied", error);
    }

    [Fact]
    public async Task AMissingFile_IsNoSuchFile_InAScriptsRestoreAndTheTraceTools_AsInRun()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("gone.json");
        var restore = dir.Write("restore.vapic", "restore gone.json\n");

        var run = await InvokeAsync("run", restore, "--no-trace");
        var view = await InvokeAsync("trace", "view", dir.File("gone.clef"));
        var ipis = await InvokeAsync("trace", "ipis", System.IO.Path.Combine(dir.Path, "gone", "deeper.clef"));

        Assert.Equal(2, run.Code);
        Assert.Contains($"restore.vapic:1: error: restore: cannot read {missing}: no such file", run.Error);
        Assert.Equal(2, view.Code);
        Assert.Equal($"{dir.File("gone.clef")}: error: cannot read the trace: no such file", view.Error.Trim());
        Assert.Equal(2, ipis.Code);
        Assert.Contains("no such file", ipis.Error);
        Assert.DoesNotContain("Could not find", run.Error + view.Error + ipis.Error);
    }

    [Fact]
    public async Task ScriptSaveAndRestore_OfADirectory_SayItIsADirectory()
    {
        using var dir = new TempDirectory();
        var save = dir.Write("save.vapic", $"save {dir.Path}\n");
        var restore = dir.Write("restore.vapic", $"restore {dir.Path}\n");

        var (code, _, error) = await InvokeAsync("run", save, restore, "--no-trace");

        Assert.Equal(2, code);
        Assert.Contains($"save.vapic:1: error: save: cannot write {dir.Path}: '{dir.Path}' is a directory, not a file", error);
        Assert.Contains($"restore.vapic:1: error: restore: cannot read {dir.Path}: '{dir.Path}' is a directory, not a file", error);
    }

    [Theory]
    [InlineData("trace view DIR")]
    [InlineData("trace export TRACE -o DIR")]
    [InlineData("replay TRACE -o DIR")]
    [InlineData("trace import-kvm DIR -o OUT")]
    [InlineData("trace import-kvm KVM -o DIR")]
    [InlineData("state show DIR")]
    [InlineData("state save DIR -o OUT --no-trace")]
    [InlineData("state restore DIR SCRIPT --no-trace")]
    public async Task TraceAndStateCommands_GivenADirectoryForAFile_SayItIsADirectory(string command)
    {
        using var dir = new TempDirectory();
        var folder = Directory.CreateDirectory(dir.File("folder")).FullName;
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\n");
        var trace = dir.File("t.clef");
        Assert.Equal(0, (await InvokeAsync("run", script, "--trace", trace)).Code);
        var kvm = dir.Write("kvm.txt", "");
        var args = command.Split(' ').Select(a => a switch
        {
            "DIR" => folder,
            "TRACE" => trace,
            "SCRIPT" => script,
            "KVM" => kvm,
            "OUT" => dir.File("out"),
            _ => a,
        }).ToArray();

        var (code, _, error) = await InvokeAsync(args);

        Assert.Equal(2, code);
        Assert.Contains($"{folder}: error: ", error);
        Assert.Contains($"'{folder}' is a directory, not a file", error);
        Assert.DoesNotContain("denied", error);
        Assert.DoesNotContain("error: error:", error);
    }

    [Fact]
    public async Task StateSave_ToAFileThatCannotBeWritten_SaysErrorOnce()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\n");
        var state = Path.Combine(dir.Write("plain-file", "x"), "s.json");

        var (code, output, error) = await InvokeAsync("state", "save", script, "-o", state, "--no-trace");

        Assert.Equal(2, code);
        Assert.DoesNotContain("state saved", output);
        Assert.StartsWith($"{state}: error: cannot write the state: ", error.Trim());
        Assert.DoesNotContain("error: error:", error);
    }

    [Fact]
    public async Task StateRestore_FromAMissingFile_SaysErrorOnce()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", "writel 0xfee000f0 0x1ff\n");
        var state = dir.File("missing.json");

        var (code, _, error) = await InvokeAsync("state", "restore", state, script, "--no-trace");

        Assert.Equal(2, code);
        Assert.Equal($"{state}: error: no such file", error.Trim());
        Assert.DoesNotContain("error: error:", error);
    }

    [Theory]
    [InlineData("vapic: Unrecognized command or argument 'stres' (did you mean 'stress'?)", "stres", "--vcpus", "2")]
    [InlineData("vapic: Unrecognized command or argument 'veiw' (did you mean 'view'?)", "trace", "veiw", "t.clef")]
    [InlineData("vapic: Unrecognized command or argument '--filtr' (did you mean '--filter'?)", "trace", "view", "--filtr", "x", "t.clef")]
    [InlineData("vapic: Unrecognized command or argument '--vpcus' (did you mean '--vcpus'?)", "stress", "--vpcus", "3")]
    [InlineData("vapic: Unrecognized command or argument '--junt' (did you mean '--junit'?)", "run", "--junt", "r.xml", "a.vapic")]
    [InlineData("vapic: Unrecognized command or argument 'frobnicate'.", "frobnicate")]
    public async Task AMistypedCommandOrOption_NamesTheOneItWasProbablyMeantToBe(string message, params string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        Assert.Equal(message, error.Split(Environment.NewLine)[0]);
    }

    [Theory]
    [InlineData("vapic: Unrecognized command or argument 'frob' (the trace subcommands are 'export', 'view', 'ipis', 'import-kvm' or 'replay')", "trace", "frob")]
    [InlineData("vapic: Unrecognized command or argument 'veiw' (did you mean 'view'?)", "trace", "veiw")]
    [InlineData("vapic: Unrecognized command or argument 'shwo' (did you mean 'show'?)", "state", "shwo")]
    public async Task AnUnknownSubcommand_IsOneLine_NamingTheWordAndTheSubcommands(string message, params string[] args)
    {
        // "trace frob" used to print the unknown word without a hint and then "Required command was not provided".
        await AssertRefusedInOneLineAsync(message, args);
    }

    [Theory]
    [InlineData("vapic: FILE: the file name is empty", "run", "--no-trace", "")]
    [InlineData("vapic: FILE: the file name is empty", "run", "--no-trace", "a.vapic", "")]
    [InlineData("vapic: FILE: the file name is empty", "client", "--connect", "127.0.0.1:1", "")]
    [InlineData("vapic: TRACE: the file name is empty", "trace", "view", "")]
    [InlineData("vapic: TRACE: the file name is empty", "replay", "")]
    [InlineData("vapic: STATE: the file name is empty", "state", "show", "")]
    [InlineData("vapic: --config: the file name is empty", "--config", "", "--no-trace")]
    [InlineData("vapic: --config: the file name is empty", "trace", "view", "t.clef", "--config", "")]
    public async Task AnEmptyFileName_IsRefusedInOneLine_WithoutAStackTrace(string message, params string[] args)
    {
        // "vapic run \"$SCRIPT\"" with SCRIPT unset: run and client used to print "unexpected error" and a stack trace.
        await AssertRefusedInOneLineAsync(message, args);
    }

    /// <summary>The command exits 2 with two lines on standard error: <paramref name="message"/>, then the usage hint.</summary>
    private static async Task AssertRefusedInOneLineAsync(string message, string[] args)
    {
        var (code, _, error) = await InvokeAsync(args);
        Assert.Equal(2, code);
        var lines = error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(message, lines[0]);
        Assert.StartsWith("Run 'vapic", lines[1]);
        Assert.Equal(2, lines.Length);
    }

    [Theory]
    [InlineData("run", "--vcpus", "2", "a.vapic")]
    [InlineData("run", "-q", "a.vapic")]
    [InlineData("trace", "view", "--bogus", "t.clef")]
    [InlineData("replay", "--bogus", "t.clef")]
    [InlineData("state", "show", "--bogus")]
    public async Task AnUnknownOption_IsReportedAsAnOption_NotTakenForAFileName(params string[] args)
    {
        var (code, output, error) = await InvokeAsync(args);

        // It used to be taken for a file: "--vcpus: error: no such file", or "Unrecognized ... 't.clef'" for the real file.
        var unknown = args.First(a => a.StartsWith('-'));
        Assert.Equal(2, code);
        Assert.Contains($"Unrecognized command or argument '{unknown}'", error);
        Assert.DoesNotContain("no such file", error);
        Assert.DoesNotContain("t.clef'", error);
        Assert.DoesNotContain("passed", output);
        // The hint names the command the option was given to.
        Assert.Contains($"Run 'vapic {string.Join(' ', args.TakeWhile(a => a != unknown))} --help' for usage.", error);
    }

    [Theory]
    [InlineData("--trace", "t.clef", "--no-trace", "--vcpus", "1", "--duration", "1ms", "--tick-period", "1ms")]
    [InlineData("run", "a.vapic", "--no-trace", "--trace", "t.clef")]
    [InlineData("state", "save", "a.vapic", "-o", "s.json", "--trace", "t.clef", "--no-trace")]
    public async Task TraceAndNoTrace_Together_AreRefused(params string[] args)
    {
        // The default simulation ran without a trace and then said "trace: off (enable with --trace FILE ...)".
        var (code, output, error) = await InvokeAsync(args);

        Assert.Equal(2, code);
        Assert.Contains("give --trace FILE or --no-trace, not both", error);
        Assert.Equal("", output);
    }

    private static Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args) => Vapic.InvokeAsync(args);
}
