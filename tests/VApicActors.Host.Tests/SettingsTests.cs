using Akka.Configuration;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Tests;

public sealed class SettingsTests
{
    [Fact]
    public void Load_RealHoconFile_BindsTheDefaults()
    {
        Assert.True(File.Exists(HoconSettings.DefaultPath), HoconSettings.DefaultPath);
        var (config, settings) = HoconSettings.Load();

        var s = settings.Simulation;
        Assert.Equal(4, s.Vcpus);
        Assert.Equal(ApicModeSetting.XApic, s.Mode);
        Assert.Empty(s.ApicIds);
        Assert.Equal([0u, 1u, 2u, 3u], s.EffectiveApicIds);
        Assert.Equal(BootSetting.Bsp, s.Boot);
        Assert.Equal(1_000_000_000, s.TimerHz);
        Assert.Equal(1_000_000_000, s.TscHz);
        Assert.Equal(1_000_000_000, s.DurationNs);
        Assert.Equal(4_000_000, s.TickPeriodNs);
        Assert.True(settings.Trace.Enabled);
        Assert.Equal("vapic-trace.clef", settings.Trace.File);
        Assert.Equal(string.Empty, settings.Trace.Filter);
        Assert.Equal("WARNING", settings.AkkaLogLevel);
        Assert.Contains("Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog", config.GetStringList("akka.loggers"));
    }

    [Fact]
    public void Apply_Overrides_ReplaceFileValues()
    {
        var (_, settings) = HoconSettings.Load(
        [
            SettingOverride.Number("vapic.simulation.vcpus", 2, "--vcpus"),
            SettingOverride.Text("vapic.simulation.mode", "x2apic", "--mode"),
            SettingOverride.List("vapic.simulation.apic-ids", ["0x10", "0x20"], "--apic-ids"),
            SettingOverride.Text("vapic.simulation.duration", "250ms", "--duration"),
            SettingOverride.Flag("vapic.trace.enabled", false, "--no-trace"),
        ]);
        Assert.Equal(2, settings.Simulation.Vcpus);
        Assert.Equal(ApicModeSetting.X2Apic, settings.Simulation.Mode);
        Assert.Equal([0x10u, 0x20u], settings.Simulation.ApicIds);
        Assert.Equal(250_000_000, settings.Simulation.DurationNs);
        Assert.False(settings.Trace.Enabled);
    }

    [Theory]
    [InlineData("vapic.simulation.vcpus", "0", "between 1 and 4096")]
    [InlineData("vapic.simulation.vcpus", "5000", "between 1 and 4096")]
    [InlineData("vapic.simulation.vcpus", "four", "whole number")]
    [InlineData("vapic.simulation.vcpus", "256", "an xapic VM has at most 255 vCPUs")]
    [InlineData("vapic.simulation.mode", "apic", "xapic or x2apic")]
    [InlineData("vapic.simulation.boot", "some", "all or bsp")]
    [InlineData("vapic.simulation.timer-hz", "0", "frequency in Hz")]
    [InlineData("vapic.simulation.tsc-hz", "-5", "frequency in Hz")]
    [InlineData("vapic.simulation.duration", "0s", "more than 0")]
    [InlineData("vapic.simulation.duration", "soon", "duration such as")]
    [InlineData("vapic.simulation.tick-period", "2s", "at most the duration")]
    [InlineData("vapic.simulation.ipi-rate-hz", "-1", "between 0 and")]
    [InlineData("vapic.trace.enabled", "maybe", "on or off")]
    [InlineData("vapic.trace.filter", "ApicId = (", "not a valid Serilog expression")]
    [InlineData("vapic.trace.filter", "NoSuchFunction(ApicId)", "not a valid Serilog expression")]
    [InlineData("akka.loglevel", "LOUD", "DEBUG, INFO, WARNING, ERROR")]
    [InlineData("vapic.vm-threads", "fibers", "thread-pool or vcpu")]
    public void Apply_InvalidValue_NamesKeyAndAllowedValues(string key, string value, string allowed)
    {
        var e = Assert.Throws<SettingsException>(() => Override(key, value));
        Assert.Equal(key, e.Key);
        Assert.Contains(key, e.Message);
        Assert.Contains(allowed, e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "one ID per vCPU")]
    [InlineData("[0, 1, 2, 2]", "distinct")]
    [InlineData("[0, 1, 2, 255]", "0xFE")]
    [InlineData("[0, 1, 2, \"0xzz\"]", "0xFE")]
    [InlineData("[0, 1, 2, {a = 1}]", "got an object at item 4")]
    [InlineData("[0, 1, [2], 3]", "got a list at item 3")]
    [InlineData("5", "got the single value \"5\"")]
    [InlineData("{ a = 1 }", "got an object")]
    public void Apply_InvalidApicIds_NamesKey(string hocon, string problem)
    {
        var config = ConfigurationFactory.ParseString($"vapic.simulation.apic-ids = {hocon}").WithFallback(FileConfig());
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Apply(config, []));
        Assert.Equal("vapic.simulation.apic-ids", e.Key);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Apply_X2ApicIdsAboveFe_AreAllowedInX2ApicMode()
    {
        var config = ConfigurationFactory.ParseString("vapic.simulation { mode = x2apic, apic-ids = [0, 1, 2, \"0x1000\"] }").WithFallback(FileConfig());
        var (_, settings) = HoconSettings.Apply(config, []);
        Assert.Equal(0x1000u, settings.Simulation.ApicIds[3]);
    }

    [Fact]
    public void Apply_InvalidOverride_NamesTheOption()
    {
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load([SettingOverride.Number("vapic.simulation.vcpus", 0, "--vcpus")]));
        Assert.Contains("(set by --vcpus)", e.Message);
    }

    [Fact]
    public void Load_AFolder_SaysItIsAFolder_NotThatItDoesNotExist()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: dir.Path));
        Assert.EndsWith($"{dir.Path}: is a folder, not a configuration file", e.Message);

        Directory.CreateDirectory(System.IO.Path.Combine(dir.Path, "sub"));
        var main = dir.Write("main.hocon", "include \"sub\"\n");
        e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: main));
        Assert.Contains($"{main}: the included file \"sub\" is a folder, not a file", e.Message);
    }

    [Fact]
    public void Load_MissingFile_SaysSo()
    {
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: "/nonexistent/vapic.hocon"));
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData("vapic.simulation { vcpus = 2 \n", "the '{' of line 1 is never closed")]
    [InlineData("vapic.simulation.apic-ids = [0, 1\n", "the '[' of line 1 is never closed")]
    [InlineData("vapic.simulation { vcpus = 2 }\n}\n", "'}' on line 2 closes nothing")]
    [InlineData("vapic.simulation { apic-ids = [0, 1 }\n", "'}' on line 1 does not close the '[' of line 1")]
    [InlineData("vapic.trace.file = \"x.clef\nvapic.simulation.vcpus = 2\n", "the string that starts on line 1 is not closed")]
    [InlineData("vapic.trace.filter = \"\"\"ApicId = 1\n", "the \"\"\" string that starts on line 1 is never closed")]
    [InlineData("vapic.simulation.mode = \nvapic.simulation.boot = all\n", "the '=' on line 1 has no value after it")]
    [InlineData("vapic.simulation {\n  vcpus:   # four\n}\n", "the ':' on line 2 has no value after it")]
    [InlineData("vapic.simulation.vcpus = // none", "the '=' on line 1 has no value after it")]
    [InlineData("vapic.stress {\n  vapic.simulation.vcpus = ${?nothing}\n}\n", "the value of vapic.stress.vapic.simulation.vcpus contains itself")]
    [InlineData("vapic.simulation.seed = ${vapic.simulation.seed}\n", "the substitution ${vapic.simulation.seed} comes back to itself")]
    [InlineData("a = ${b}\nb = ${a}\n", "comes back to itself, so its value has no end")]
    [InlineData("vapic.simulation.apic-ids = [0, ${?nothing}]\n", "the optional substitution on line 1 stands in a list")]
    [InlineData("vapic.stress.mix {\n  time\n  read = 16\n}\n", "vapic.stress.mix: \"time\" has no value (a word alone on its line runs into the key of the next line, \"read\")")]
    [InlineData("vapic.simulation {\n  vcpus\n}\n", "vapic.simulation: \"vcpus\" has no value (a word alone on its line, with nothing after it)")]
    [InlineData("vapic.simulation.vcpus = 2\nfoo\n", "\"foo\" has no value (a word alone on its line, with nothing after it)")]
    [InlineData("akka {\n  loglevel = DEBUG\n  foo\n}\n", "akka: \"foo\" has no value (a word alone on its line, with nothing after it)")]
    [InlineData("vapic.simulation.vcpus = 2\nvapic.simulation.mode = x\\apic\n", "not valid HOCON: Unknown token on line 2, column 26")]
    public void Load_BadSyntax_IsNotValidHoconNamingTheFile(string text, string problem)
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", text);
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: path));
        Assert.Equal(path, e.Key);
        Assert.Contains("not valid HOCON", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData(20_000, "the '{' on line 1 opens level 65: values nested more than 64 deep are not read")]
    [InlineData(62, null)]
    public void Load_ValuesNestedThousandsDeep_RefusedBeforeTheParserRunsOutOfStack(int depth, string? problem)
    {
        using var dir = new TempDirectory();
        var braces = dir.Write("braces.hocon", "vapic.x = " + string.Concat(Enumerable.Repeat("{ a = ", depth)) + "1" + new string('}', depth) + "\n");
        var brackets = dir.Write("brackets.hocon", "vapic.x = " + new string('[', depth) + new string(']', depth) + "\n");
        var dots = dir.Write("dots.hocon", "vapic.x" + string.Concat(Enumerable.Repeat(".a", depth)) + " = 1\n");

        if (problem is null)
        {
            // 64 levels in all: vapic, x and the rest.
            HoconSettings.Load(path: braces);
            HoconSettings.Load(path: brackets);
            HoconSettings.Load(path: dots);
            // Braces and dotted keys together.
            var deeper = dir.Write("deeper.hocon", "vapic.x.y = " + string.Concat(Enumerable.Repeat("{ a = ", depth)) + "1" + new string('}', depth) + "\n");
            Assert.Contains(": not valid HOCON: vapic.x.y.a.a.a", Assert.Throws<SettingsException>(() => HoconSettings.Load(path: deeper)).Message);
            Assert.EndsWith(" is nested more than 64 deep: values are not read that deep", Assert.Throws<SettingsException>(() => HoconSettings.Load(path: deeper)).Message);
            return;
        }
        Assert.Equal($"invalid configuration: {braces}: not valid HOCON: {problem}", Assert.Throws<SettingsException>(() => HoconSettings.Load(path: braces)).Message);
        Assert.Contains("the '[' on line 1 opens level 65", Assert.Throws<SettingsException>(() => HoconSettings.Load(path: brackets)).Message);
        Assert.Contains("the key on line 1 has more than 64 parts: values nested more than 64 deep are not read", Assert.Throws<SettingsException>(() => HoconSettings.Load(path: dots)).Message);
    }

    [Theory]
    [InlineData("# a { comment\nvapic.simulation.vcpus = 2 // and [ another\n")]
    [InlineData("vapic.trace.file = \"a{b[c\\\"d.clef\"\nvapic.simulation.vcpus = 2\n")]
    [InlineData("vapic.trace.filter = \"\"\"ApicId = 1 and\n  Detail = '{['\"\"\"\nvapic.simulation.vcpus = 2\n")]
    [InlineData("# vcpus =\nvapic.trace.file = \"a=\"\nvapic.simulation.vcpus = 2\n")]
    [InlineData("vapic.simulation.vcpus =\n  2\n")]
    [InlineData("vapic.simulation =\n{\n  vcpus = 2\n}\n")]
    [InlineData("vapic.simulation {\n  apic-ids :\n    # below\n    [0, 1]\n  vcpus = 2\n}\n")]
    [InlineData("vapic.simulation.vcpus = 2\nvapic.simulation.apic-ids = []\nvapic.trace.filter = \"\"\nakka.actor {}\n")]
    public void Load_BracketsInStringsAndComments_AreNotSyntax(string text)
    {
        using var dir = new TempDirectory();
        var (_, settings) = HoconSettings.Load(path: dir.Write("good.hocon", text));
        Assert.Equal(2, settings.Simulation.Vcpus);
    }

    [Fact]
    public void Load_EveryBuiltInDefaultsFile_PassesTheSyntaxCheck()
    {
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(HoconSettings.DefaultPath)!, "*.hocon"))
        {
            Assert.Null(HoconSyntax.Check(File.ReadAllText(file)));
        }
    }

    [Fact]
    public void Load_IncludeOfAMissingFile_NamesIt()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("main.hocon", "include \"nonexistent.hocon\"\nvapic.simulation.vcpus = 2\n");
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: path));
        Assert.Equal(path, e.Key);
        Assert.Contains("the included file \"nonexistent.hocon\" does not exist", e.Message);
        Assert.DoesNotContain("Object reference", e.Message);
    }

    [Fact]
    public void Load_Include_ReadsTheFileBesideTheIncludingOne()
    {
        using var dir = new TempDirectory();
        dir.Write("common.hocon", "vapic.simulation { vcpus = 2, seed = 7 }\n");
        var path = dir.Write("main.hocon", "include \"common.hocon\"\nvapic.simulation.seed = 9\n");
        var (_, settings) = HoconSettings.Load(path: path);
        Assert.Equal(2, settings.Simulation.Vcpus);
        Assert.Equal(9, settings.Simulation.Seed);
    }

    [Fact]
    public void Load_UnknownVapicKeys_AreWarnedAboutOnceEachAndIgnored()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("typos.hocon", """
            vapic.simulation.vcpu = 2
            vapic.simulaton.vcpus = 2
            vapic.stress { vcpus = 8, mix { fixd = 3 } }
            vapic.service.max-sessions = 3
            vapic.cluster.persistence.provider = x
            akka.actor.no-such-akka-key = 1
            """);
        var warnings = new StringWriter();
        var (_, settings) = HoconSettings.Load(path: path, warnings: warnings);
        Assert.Equal(4, settings.Simulation.Vcpus);
        Assert.Equal(
            [
                $"vapic: warning: unknown setting vapic.simulation.vcpu in {path} (ignored; did you mean vapic.simulation.vcpus?)",
                $"vapic: warning: unknown setting vapic.simulaton.vcpus in {path} (ignored; did you mean vapic.simulation.vcpus?)",
                $"vapic: warning: unknown setting vapic.stress.mix.fixd in {path} (ignored; did you mean vapic.stress.mix.fixed?)",
                $"vapic: warning: unknown setting vapic.cluster.persistence.provider in {path} (ignored)",
            ],
            warnings.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Load_UnknownKeysOfTheVcpuDispatcher_AreWarnedAboutButAkkasDispatcherKeysAreNot()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("dispatcher.hocon", """
            vapic-vcpu-dispatcher {
              throughput = 5
              throughput-deadline-time = 0ms
              fork-join-executor { parallelism-min = 2 }
              vcpu-executor { thread = 2, spin-rounds = 3, spinrounds = 4 }
              thruput = 4
            }
            """);
        var warnings = new StringWriter();
        HoconSettings.Load(path: path, warnings: warnings);
        Assert.Equal(
            [
                $"vapic: warning: unknown setting vapic-vcpu-dispatcher.vcpu-executor.thread in {path} (ignored; did you mean vapic-vcpu-dispatcher.vcpu-executor.threads?)",
                $"vapic: warning: unknown setting vapic-vcpu-dispatcher.vcpu-executor.spinrounds in {path} (ignored; did you mean vapic-vcpu-dispatcher.vcpu-executor.spin-rounds?)",
                $"vapic: warning: unknown setting vapic-vcpu-dispatcher.thruput in {path} (ignored)",
            ],
            warnings.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Load_AKeyLikeTwoKnownOnes_IsWarnedAboutWithoutAGuess()
    {
        using var dir = new TempDirectory();
        // nsi is one edit from nmi and from msi: a guess is made only when one key is nearest.
        var path = dir.Write("ambiguous.hocon", "vapic.stress.mix { fixd = 1, nsi = 2, zzzz = 3 }\n");
        var warnings = new StringWriter();
        HoconSettings.Load(path: path, warnings: warnings);
        var lines = warnings.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.EndsWith("(ignored; did you mean vapic.stress.mix.fixed?)", lines[0]);
        Assert.EndsWith("vapic.stress.mix.nsi in " + path + " (ignored)", lines[1]);
        Assert.EndsWith("vapic.stress.mix.zzzz in " + path + " (ignored)", lines[2]);
    }

    [Fact]
    public void Load_TheDefaultsThemselves_HaveNoUnknownKeys()
    {
        var warnings = new StringWriter();
        HoconSettings.Load(path: HoconSettings.DefaultPath, warnings: warnings);
        Assert.Empty(warnings.ToString());
    }

    [Theory]
    [InlineData("akka.actor.ask-timeout = banana", "akka.actor.ask-timeout", "'banana'")]
    [InlineData("akka.actor { creation-timeout = { a = 1 } }", "akka.actor.creation-timeout", "wrong kind")]
    [InlineData("akka.actor.provider = banana", "akka.actor.provider", "not a valid type name")]
    [InlineData("akka.actor.serialize-messages = maybe", "akka.actor.serialize-messages", "maybe")]
    public void Apply_AkkaSettingAkkaRefuses_NamesTheKey(string hocon, string key, string problem)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(FileConfig());
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Apply(config, []));
        Assert.Equal(key, e.Key);
        Assert.Contains("not accepted by Akka", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Apply_MissingKey_NamesIt()
    {
        var partial = ConfigurationFactory.ParseString("vapic.simulation.vcpus = 2");
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Apply(partial, []));
        Assert.Equal("vapic.simulation.mode", e.Key);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Load_PartialConfigFile_LaysItOverTheDefaults()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("partial.hocon", "vapic.simulation.vcpus = 2\nvapic.stress.vcpus = 12");
        var (config, settings) = HoconSettings.Load(path: path);
        Assert.Equal(2, settings.Simulation.Vcpus);
        Assert.Equal(ConfigurationFactory.ParseString(File.ReadAllText(HoconSettings.DefaultPath)).GetString("vapic.simulation.mode"),
            config.GetString("vapic.simulation.mode"));
        Assert.Equal(12, config.GetInt("vapic.stress.vcpus"));
        Assert.True(config.HasPath("vapic.service.max-sessions"), "the service defaults are part of the configuration");
    }

    [Theory]
    [InlineData("--duration 1ms", "vapic.simulation.tick-period: must be more than 0 and at most the duration (1ms), got 4ms")]
    [InlineData("--duration 0s", "vapic.simulation.duration: must be more than 0 and at most 1h, got 0ns (set by --duration)")]
    [InlineData("--duration 2h", "vapic.simulation.duration: must be more than 0 and at most 1h, got 2h (set by --duration)")]
    [InlineData("--duration 1500us --tick-period 2ms", "vapic.simulation.tick-period: must be more than 0 and at most the duration (1500us), got 2ms (set by --tick-period)")]
    [InlineData("--init-delay 1500ms", "vapic.simulation.init-delay: must be 0 to 1s, got 1500ms (set by --init-delay)")]
    public void DurationOutOfRange_IsWrittenTheWayDurationsAreGiven_NotAsATimeSpan(string options, string message)
    {
        // "--duration 1ms" used to say "at most the duration (00:00:00.0010000), got 00:00:00.0040000".
        var words = options.Split(' ');
        var overrides = new List<SettingOverride>();
        for (var i = 0; i < words.Length; i += 2)
        {
            overrides.Add(SettingOverride.Text("vapic.simulation." + words[i][2..], words[i + 1], words[i]));
        }

        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(overrides));

        Assert.Equal("invalid configuration: " + message, e.Message);
    }

    [Theory]
    [InlineData("4000us", 4_000_000)]
    [InlineData("250ms", 250_000_000)]
    [InlineData("4000000ns", 4_000_000)]
    [InlineData("4000 micros", 4_000_000)]
    [InlineData("1.5ms", 1_500_000)]
    public void Duration_InTheUnitsTheErrorMessageShows_IsAccepted(string text, long ns)
    {
        // The message for a bad duration offers "1s, 250ms or 4000us"; "4000us" itself was refused with that message.
        var settings = HoconSettings.Load([SettingOverride.Text("vapic.simulation.duration", text, "--duration"), SettingOverride.Text("vapic.simulation.tick-period", "1ms", "--tick-period")]);

        Assert.Equal(ns, settings.Settings.Simulation.DurationNs);
    }

    [Theory]
    [InlineData("vcpu-executor.threads = many", "vapic-vcpu-dispatcher.vcpu-executor.threads", "0 (one per core) to 1024")]
    [InlineData("throughput = many", "vapic-vcpu-dispatcher.throughput", "whole number of at least 1")]
    [InlineData("throughput = 0", "vapic-vcpu-dispatcher.throughput", "whole number of at least 1")]
    [InlineData("shutdown-timeout = soon", "vapic-vcpu-dispatcher.shutdown-timeout", "duration")]
    [InlineData("executor = nonsense", "vapic-vcpu-dispatcher.executor", "\"nonsense\" cannot be set up")]
    [InlineData("executor = fork-join-executor, fork-join-executor.parallelism-max = many", "vapic-vcpu-dispatcher.executor", "\"fork-join-executor\" cannot be set up")]
    [InlineData("type = PinnedDispatcher", "vapic-vcpu-dispatcher.type", "must be Dispatcher")]
    public void Apply_VcpuDispatcherSettingItCannotTake_NamesTheKey(string setting, string key, string problem)
    {
        // These passed the check and failed when the first VM was made, as an exception with its stack trace.
        var config = ConfigurationFactory.ParseString("vapic-vcpu-dispatcher { " + setting + " }").WithFallback(FileConfig());

        var e = Assert.Throws<SettingsException>(() => HoconSettings.Apply(config, []));

        Assert.Equal(key, e.Key);
        Assert.Contains(problem, e.Problem);
    }

    [Theory]
    [InlineData("executor = default-executor")]
    [InlineData("executor = fork-join-executor, fork-join-executor.parallelism-max = 2")]
    [InlineData("vcpu-executor { threads = 2, spin-rounds = 10 }")]
    public void Apply_VcpuDispatcherSettingItTakes_IsTaken(string setting)
    {
        var config = ConfigurationFactory.ParseString("vapic-vcpu-dispatcher { " + setting + " }").WithFallback(FileConfig());

        HoconSettings.Apply(config, []);
    }

    [Theory]
    [InlineData("vapic.trace = off", "vapic.trace is a section of keys (vapic.trace { enabled = ... }), not the single value \"off\"")]
    [InlineData("vapic.stress.mix = [1, 2]", "vapic.stress.mix is a section of keys (vapic.stress.mix { fixed = ... }), not a list")]
    [InlineData("vapic { simulation = 5 }", "vapic.simulation is a section of keys (vapic.simulation { vcpus = ... }), not the single value \"5\"")]
    public void Load_ASectionGivenAsOneValue_IsRefusedNamingTheFileAndTheSection(string hocon, string problem)
    {
        // "vapic.trace = off" used to be refused as "vapic.trace.enabled: missing", a key the file does not name.
        using var dir = new TempDirectory();
        var path = dir.Write("section.hocon", hocon + "\n");

        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load(path: path));

        Assert.Equal(path, e.Key);
        Assert.Equal(problem, e.Problem);
    }

    private static Config FileConfig() => ConfigurationFactory.ParseString(File.ReadAllText(HoconSettings.DefaultPath));

    private static void Override(string key, string value)
    {
        var config = ConfigurationFactory.ParseString($"{key} = {System.Text.Json.JsonSerializer.Serialize(value)}").WithFallback(FileConfig());
        HoconSettings.Apply(config, []);
    }
}
