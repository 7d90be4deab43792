using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Tests.TraceTools;
using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// KVM traces (the excerpts of the importer's tests, the example of the trace-import page, and the other shapes that
/// <c>trace-cmd report</c> and the ftrace <c>trace</c> file print) with lines mutated as text and as trace lines (tasks,
/// thread ids, numbers of a million digits, vCPUs past any range, event and register names, colons, NULs, runs of
/// blanks of a megabyte), lines dropped, repeated, moved and run together, and files written with CRLF or CR, a BOM,
/// bytes that are not UTF-8, or nothing but binary, or empty. <c>trace import-kvm</c> never throws, exits 0 or 1 (1 exactly
/// when no KVM APIC event was read) or refuses an input that is no KVM trace in text in one line, writing nothing (2), names each torn line in one short line, a torn line loses only itself, and the
/// scenario it writes runs: <c>vapic run</c> exits 0 or 1, never 2.
/// </summary>
public sealed partial class KvmTraceImportFuzzTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const int Cases = 300;
    private const int Seed = 0x5eed_0006;

    /// <summary>Excerpts that lost lines, run in the simulator.</summary>
    private const int LostCases = 200;

    /// <summary>One case in this many has a line of a megabyte or more (the others are fast to import).</summary>
    private const int HugeLineEvery = 30;

    /// <summary>The longest line the command prints after the file's name: however long the trace's lines, it quotes them cut short.</summary>
    private const int MaxMessage = 300;

    /// <summary>
    /// Lines of the forms the trace-import page describes that the test excerpts do not show: the trace-cmd preamble, the
    /// ftrace header with its flag columns, a system prefix, offsets for names, tasks that are not vCPU threads. An
    /// excerpt, so not every IPI has all its lines.
    /// </summary>
    private const string Shapes = """
        version = 6
        CPU 2 is empty
        cpus=4
        CPU0 data recorded at offset=0x4f7000
        # tracer: nop
        #
        # entries-in-buffer/entries-written: 24/24   #P:4
        #
        #                                _-----=> irqs-off/BH-disabled
        #                               / _----=> need-resched
        #                              | / _---=> hardirq/softirq
        #                              || / _--=> preempt-depth
        #                              ||| / _-=> migrate-disable
        #                              |||| /     delay
        #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
        #              | |         |   |||||     |         |
               CPU 0/KVM-4321    [002] d..1. 300.000001: kvm_apic: apic_write APIC_SPIV = 0x1ff
               CPU 0/KVM-4321    [002] d..1. 300.000002: kvm_apic: apic_read APIC_SPIV = 0x1ff
               CPU 0/KVM-4321    [002] d..1. 300.000003: kvm_apic: apic_write APIC_LDR = 0x1000000
               CPU 0/KVM-4321    [002] d..1. 300.000004: kvm_apic: apic_write APIC_DFR = 0xffffffff
               CPU 0/KVM-4321    [002] d..1. 300.000005: kvm_apic: apic_read 0x210 = 0x0
               CPU 0/KVM-4321    [002] d..1. 300.000006: kvm_apic: apic_read APIC_EFEAT = 0x40007
               CPU 0/KVM-4321    [002] d..1. 300.000007: kvm:kvm_apic: apic_write APIC_TDCR = 0xb
               CPU 0/KVM-4321    [002] d..1. 300.000008: kvm_apic: apic_write APIC_TMICT = 0x100000
               CPU 0/KVM-4321    [002] d..1. 300.000009: kvm_apic: apic_write APIC_SELF_IPI = 0x31
               CPU 0/KVM-4321    [002] d..1. 300.000010: kvm_apic: apic_write APIC_ICR2 = 0x3000000
               CPU 0/KVM-4321    [002] d..1. 300.000011: kvm_apic: apic_write APIC_ICR = 0xcc841
               CPU 0/KVM-4321    [002] d..1. 300.000011: kvm_apic_ipi: dst 3 vec 65 (Fixed|logical|assert|level|all-but-self)
               CPU 0/KVM-4321    [002] d..1. 300.000011: kvm_apic_accept_irq: apicid 1 vec 65 (Fixed|level)
               CPU 0/KVM-4321    [002] d..1. 300.000011: kvm_apic_accept_irq: apicid 2 vec 65 (Fixed|level) (coalesced)
               CPU 0/KVM-4321    [002] d..1. 300.000012: kvm_apic: apic_write APIC_ICR = 0x200
               CPU 0/KVM-4321    [002] d..1. 300.000012: kvm_apic_ipi: dst 3 vec 0 (SMI|physical|de-assert|edge|dst)
               CPU 0/KVM-4321    [002] d..1. 300.000012: kvm_apic_accept_irq: apicid 3 vec 0 (SMI|edge)
                qemu-system-x86-4300  [000] ....  300.000020: kvm_apic_accept_irq: apicid 2 vec 0 (ExtINT|edge)
                qemu-system-x86-4300  [000] ....  300.000021: kvm_apic_accept_irq: apicid 2 vec 48 (LowPrio|edge)
                qemu-system-x86-4300  [000] ....  300.000022: kvm_msr: msr_write 1b = 0xfee00900
                   <...>-4323    [001] dNh2. 300.000030: kvm_eoi: apicid 2 vector 48
                   <...>-4323    [001] d..1. 300.000031: kvm_apic: apic_write APIC_EOI = 0x0
               CPU 2/KVM-4323    [001] d..1. 300.000032: kvm_apic: apic_read APIC_PROCPRI = 0x0
               CPU 2/KVM-4323    [001] d..1. 300.000033: kvm_msr: msr_read 6e0 = 0x0
               CPU 2/KVM-4323    [001] d..1. 300.000034: kvm_msr: msr_write 1b = 0xffff0000fee00900 (#GP)
               CPU 2/KVM-4323    [001] d..1. 300.000035: kvm_eoi: apicid 2 vector -1
               CPU 2/KVM-4323    [001] d..1. 300.000036: kvm_exit: vcpu 2 reason EOI_INDUCED rip 0xffffffff81060bd4 info1 0x30 info2 0x0
               CPU 3/KVM-4324    [003] d..1. 300.000040: sched_switch: prev_comm=CPU 3/KVM prev_pid=4324 prev_prio=120 prev_state=S ==> next_comm=swapper/3 next_pid=0 next_prio=120
        """;

    [Fact]
    public async Task MutatedKvmTraces_ImportWithoutThrowing_TornLinesLoseOnlyThemselves_ScriptsRun()
    {
        var corpus = Corpus();
        var mutator = new KvmTraceMutator(Seed);
        using var dir = new TempDirectory();
        var problems = new List<string>();
        var exits = new int[3];
        var scripts = new int[3];

        for (var n = 0; n < Cases; n++)
        {
            var original = mutator.Text.Pick(corpus);
            var lines = original.ToList();
            var what = new List<string>();
            for (var k = mutator.Text.Next(1, 5); k > 0; k--)
            {
                what.Add(mutator.MutateTrace(lines, corpus));
            }
            if (n % HugeLineEvery == HugeLineEvery - 1)
            {
                what.Add(mutator.HugeLine(lines, n / HugeLineEvery));
            }
            var defaultVcpu = mutator.Text.Chance(10) ? mutator.Text.Next(KvmTraceImportSession.MaxVcpus) : 0;
            // The lines themselves, lone surrogates and all (a file cannot hold those: they are read back as U+FFFD).
            var problem = CheckLines(lines, defaultVcpu);

            var (bytes, how) = mutator.Encode(lines);
            what.Add(how);
            var path = dir.File(mutator.FileName(n));
            await File.WriteAllBytesAsync(path, bytes);
            problem ??= await CheckAsync(path, dir.File($"case-{n}.vapic"), defaultVcpu, original, exits, scripts);
            if (problem is not null)
            {
                problems.Add($"case {n} ({Shorten(string.Join("; ", what))}): {problem}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Cases} mutated KVM traces broke the contract:\n{string.Join("\n", problems.Take(10))}");
        // The mutations reach both sides (traces with events and without), and most scripts' checks still hold.
        Assert.True(exits[0] > Cases / 2 && exits[1] > 0 && exits[2] > 0, $"exit statuses 0/1/2: {exits[0]}/{exits[1]}/{exits[2]}");
        Assert.True(scripts[0] > Cases / 2, $"vapic run exit statuses 0/1: {scripts[0]}/{scripts[1]}");
    }

    /// <summary>
    /// Real excerpts that lost lines, as excerpts do: lines torn, blank or gone, the start or the end cut off. A lost line
    /// costs its own checks and nothing else: the scenario's every check still holds in the simulator (which does what
    /// KVM did in these excerpts). Nothing lost is one of the cases: each excerpt as it is passes too.
    /// </summary>
    [Fact]
    public async Task KvmTracesWithLinesLost_EveryCheckOfTheScenarioStillHolds()
    {
        var corpus = Corpus();
        var random = new TextMutator(Seed + 1);
        using var dir = new TempDirectory();
        var problems = new List<string>();
        var checks = 0;

        for (var n = 0; n < LostCases; n++)
        {
            var original = corpus[n % corpus.Count];
            var lines = original.ToList();
            var what = new List<string>();
            for (var k = n < corpus.Count ? 0 : random.Next(1, 4); k > 0; k--)
            {
                what.Add(LoseLine(lines, random));
            }
            var result = KvmTraceImporter.Import(lines, 0);
            var path = dir.File($"lost-{n}.vapic");
            await File.WriteAllTextAsync(path, result.Script);
            var failures = new List<string>();
            var summary = await new ScenarioRunner(fixture.System).RunFileAsync(path, TextWriter.Null, TextWriter.Null, failures);
            checks += summary.Passed;
            if (summary.Failed > 0 || summary.Errors > 0)
            {
                problems.Add($"case {n} (excerpt {n % corpus.Count}: {(what.Count == 0 ? "as it is" : string.Join("; ", what))}):\n  {string.Join("\n  ", failures.Take(3))}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {LostCases} excerpts that lost lines gave failing checks:\n{string.Join("\n", problems.Take(10))}");
        Assert.True(checks > LostCases * 3, $"only {checks} checks in {LostCases} scenarios");
    }

    /// <summary>Loses one line of <paramref name="lines"/> as an excerpt does; returns how.</summary>
    private static string LoseLine(List<string> lines, TextMutator random)
    {
        if (lines.Count == 0)
        {
            return "nothing left to lose";
        }
        var at = random.Next(lines.Count);
        switch (random.Next(6))
        {
            case 0:
                lines.RemoveAt(at);
                return $"line {at + 1} gone";
            case 1:
                lines[at] = "";
                return $"line {at + 1} blank";
            case 2:
                var start = random.Next(1, Math.Max(2, lines.Count / 3));
                lines.RemoveRange(0, Math.Min(start, lines.Count));
                return $"the first {start} lines cut off";
            case 3:
                var end = random.Next(1, Math.Max(2, lines.Count / 3));
                lines.RemoveRange(Math.Max(0, lines.Count - end), Math.Min(end, lines.Count));
                return $"the last {end} lines cut off";
            default:
                // Torn: cut short where what is left is no event (a shorter number would be another event, not a lost one).
                var cut = lines[at][..random.Next(lines[at].Length + 1)];
                lines[at] = KvmTraceLineParser.Parse(cut, at + 1).Kind == TraceLineKind.Event ? "" : cut;
                return $"line {at + 1} torn";
        }
    }

    /// <summary>Null when the importer takes <paramref name="lines"/> as they are, each torn line with a short reason; else what broke.</summary>
    private static string? CheckLines(List<string> lines, int defaultVcpu)
    {
        try
        {
            var report = KvmTraceImporter.Import(lines, defaultVcpu).Report;
            return report.TornLines.FirstOrDefault(t => t.Reason.Length > MaxMessage) is { } torn
                ? $"a torn-line reason of {torn.Reason.Length} characters: {Shorten(torn.Reason)}"
                : null;
        }
        catch (Exception e)
        {
            return "the importer threw on the lines themselves: " + Shorten(e.ToString());
        }
    }

    /// <summary>Null when the import of <paramref name="path"/> and the run of its scenario keep the contract; else what broke.</summary>
    /// <summary>
    /// An input refused as no KVM trace in text: one line says so, nothing is printed or written, and the refusal lost
    /// no KVM APIC event (unless binary data came first: a file with a NUL byte before its first trace line is binary).
    /// </summary>
    private static string? Refused(string path, string output, int defaultVcpu, string stdout, string stderr, int[] exits)
    {
        exits[KvmTraceImportCommand.IoFailure]++;
        // The file's name is printed as it is, so a name with a line break in it is taken out first, as for torn lines.
        var lines = stderr.Replace(path, "FILE", StringComparison.Ordinal).Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 1 || !lines[0].StartsWith("FILE does not look like a KVM trace (", StringComparison.Ordinal) || stdout.Length != 0)
        {
            return $"refused, but not in one line: {Shorten(stderr)} / {Shorten(stdout)}";
        }
        if (File.Exists(output))
        {
            return "refused, but the scenario was written";
        }
        if (!lines[0].Contains("(binary data: a NUL byte on line ", StringComparison.Ordinal)
            && KvmTraceImporter.Import(File.ReadAllLines(path), defaultVcpu, path).Report.EventsRead > 0)
        {
            return "refused a trace with KVM APIC events: " + Shorten(lines[0]);
        }
        return null;
    }

    private async Task<string?> CheckAsync(string path, string output, int defaultVcpu, IReadOnlyList<string> original, int[] exits, int[] scripts)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code;
        try
        {
            code = KvmTraceImportCommand.Run(path, output, defaultVcpu, stdout, stderr);
        }
        catch (Exception e)
        {
            return "the command threw " + Shorten(e.ToString());
        }
        if (code == KvmTraceImportCommand.IoFailure)
        {
            return Refused(path, output, defaultVcpu, stdout.ToString(), stderr.ToString(), exits);
        }
        if (code is not (KvmTraceImportCommand.Success or KvmTraceImportCommand.NothingImported))
        {
            return $"exit status {code}: {Shorten(stderr.ToString())}";
        }
        exits[code]++;

        // The lines as the command read them, imported again: the same script, and what the report says.
        var fileLines = File.ReadAllLines(path);
        KvmTraceImportResult result;
        try
        {
            result = KvmTraceImporter.Import(fileLines, defaultVcpu, path);
        }
        catch (Exception e)
        {
            return "the importer threw " + Shorten(e.ToString());
        }
        var report = result.Report;
        if (await File.ReadAllTextAsync(output) != result.Script)
        {
            return "the script written is not the importer's";
        }
        if ((code == KvmTraceImportCommand.NothingImported) != (report.EventsRead == 0))
        {
            return $"exit status {code} with {report.EventsRead} events read";
        }

        // Every line printed is one short line; each torn line is named by its number, once.
        // (The file's name is the user's: it is printed as given, odd characters and all.)
        var errors = stderr.ToString().Replace(path, "FILE", StringComparison.Ordinal).Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        var printed = stdout.ToString().Replace(path, "FILE", StringComparison.Ordinal).Replace(output, "OUT", StringComparison.Ordinal)
            .Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        var named = new List<int>();
        foreach (var line in errors.Concat(printed))
        {
            if (line.Length > MaxMessage)
            {
                return $"a line of {line.Length} characters: {Shorten(line)}";
            }
            if (line.Contains("Exception", StringComparison.Ordinal) || line.Contains("   at ", StringComparison.Ordinal))
            {
                return "an exception printed: " + Shorten(line);
            }
        }
        foreach (var line in errors)
        {
            var torn = TornLine().Match(line);
            if (torn.Success && torn.Groups["file"].Value == "FILE")
            {
                named.Add(int.Parse(torn.Groups["line"].Value, CultureInfo.InvariantCulture));
            }
            else if (line != "FILE: warning: no KVM APIC event in it (kvm_apic, kvm_msr, kvm_apic_ipi, ... as `trace-cmd report` prints them): the scenario does nothing")
            {
                return "an error line that is neither a torn line nor the warning: " + Shorten(line);
            }
        }
        if (!named.SequenceEqual(report.TornLines.Select(t => t.LineNumber)) || named.Any(l => l < 1 || l > fileLines.Length) || named.Distinct().Count() != named.Count)
        {
            return $"torn lines named {Shorten(string.Join(",", named))}, the report has {Shorten(string.Join(",", report.TornLines.Select(t => t.LineNumber)))} of {fileLines.Length}";
        }
        foreach (var note in report.Notes)
        {
            if (NoteLine().Match(note) is not { Success: true } m
                || int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) is var at && (at < 1 || at > fileLines.Length))
            {
                return "a note that does not name a line of the file: " + Shorten(note);
            }
        }

        // A torn line loses only itself: with the torn lines left blank, the same script (but for the count of torn lines).
        if (report.TornLines.Count > 0)
        {
            var blanked = fileLines.ToArray();
            foreach (var torn in report.TornLines)
            {
                blanked[torn.LineNumber - 1] = "";
            }
            var clean = KvmTraceImporter.Import(blanked, defaultVcpu, path);
            if (clean.Report.TornLines.Count > 0 || WithoutCounts(clean.Script) != WithoutCounts(result.Script)
                || clean.Report.EventsRead != report.EventsRead || !clean.Report.Notes.SequenceEqual(report.Notes))
            {
                return "the torn lines changed what the other lines import to";
            }
        }

        // The lines before the first changed one are read as they were: their events are kept, none of them is torn.
        var same = 0;
        while (same < Math.Min(original.Count, fileLines.Length) && original[same] == fileLines[same])
        {
            same++;
        }
        var before = KvmTraceImporter.Import(original.Take(same), defaultVcpu).Report;
        if (report.EventsRead < before.EventsRead || !before.TornLines.Select(t => t.LineNumber).SequenceEqual(report.TornLines.Select(t => t.LineNumber).Where(l => l <= same)))
        {
            return $"the {same} unchanged lines at the start read differently: {before.EventsRead} events and torn lines {string.Join(",", before.TornLines.Select(t => t.LineNumber))} alone, " +
                $"{report.EventsRead} events and torn lines {Shorten(string.Join(",", report.TornLines.Select(t => t.LineNumber)))} in the file";
        }

        // The scenario runs as `vapic run` runs it: its expectations may fail, but no line is a script error.
        var runOutput = new StringWriter();
        var runError = new StringWriter();
        ScenarioRunSummary summary;
        try
        {
            summary = await new ScenarioRunner(fixture.System).RunFileAsync(output, runOutput, runError);
        }
        catch (Exception e)
        {
            return "the runner threw " + Shorten(e.ToString());
        }
        if (summary.ExitCode is not (ScenarioRunSummary.ExitPassed or ScenarioRunSummary.ExitFailed))
        {
            return $"vapic run would exit {summary.ExitCode}: {Shorten(runError.ToString())}";
        }
        if (summary.Passed + summary.Failed != report.ExpectationsWritten)
        {
            return $"{report.ExpectationsWritten} expectations written, {summary.Passed + summary.Failed} run";
        }
        scripts[summary.ExitCode]++;
        return null;
    }

    /// <summary>The traces the mutations start from, one line each.</summary>
    private static List<string[]> Corpus()
    {
        var excerpts = typeof(KvmTraceExcerpts).GetFields()
            .Where(f => f.IsLiteral)
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => (string)f.GetRawConstantValue()!)
            .Append(Shapes)
            .Append(DocExample())
            .Select(text => text.ReplaceLineEndings("\n").Split('\n'))
            .ToList();
        Assert.True(excerpts.Count >= 7, "fewer excerpts than expected: did KvmTraceExcerpts change?");
        return excerpts;
    }

    /// <summary>The trace of the example on the trace-import page (its first fenced block after "## Example").</summary>
    private static string DocExample()
    {
        var page = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "trace-import.md")).ReplaceLineEndings("\n");
        var example = page[page.IndexOf("## Example", StringComparison.Ordinal)..].Split("```");
        Assert.Contains("kvm_apic_ipi:", example[1], StringComparison.Ordinal);
        return example[1].Trim('\n');
    }

    /// <summary>The script without its header line that counts what was read (torn lines among it).</summary>
    private static string WithoutCounts(string script) =>
        string.Join('\n', script.Split('\n').Where(l => !CountsLine().IsMatch(l)));

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"... ({text.Length} characters)";

    [GeneratedRegex(@"^(?<file>.+):(?<line>\d+): torn line: \S")]
    private static partial Regex TornLine();

    [GeneratedRegex(@"^line (\d+)")]
    private static partial Regex NoteLine();

    [GeneratedRegex(@"^# \d+ events? read from \d+ lines?; ")]
    private static partial Regex CountsLine();
}

/// <summary>
/// Seeded mutations of a KVM trace: of one line as text (<see cref="TextMutator"/>) or as a trace line, of which lines
/// there are and in what order, and of the bytes of the file.
/// </summary>
internal sealed partial class KvmTraceMutator(int seed)
{
    public TextMutator Text { get; } = new(seed);

    private static readonly string[] Tasks =
    [
        "<...>", "CPU 99999999999/KVM", "CPU 2147483648/KVM", "CPU 4294967296/KVM", "CPU -1/KVM", "CPU 254/KVM", "CPU 255/KVM", "CPU 256/KVM",
        "CPU 18446744073709551616/KVM", "CPU 1/KVM", "CPU 0/KVM", "CPU 3/KVM", "CPU /KVM", "CPU 1/kvm", "qemu-system-x86", "<idle>", "kworker/u8:2",
        "CPU \u0661/KVM", "CPU \uff11/KVM", "CPU 1/KVM-extra", "CPU 1/KVM [x]", "-", "", " ",
    ];

    private static readonly string[] Events =
    [
        "kvm_apic", "kvm_msr", "kvm_apic_ipi", "kvm_apic_accept_irq", "kvm_eoi", "kvm:kvm_apic", "kvm:kvm_eoi", "kvm_exit", "kvm_entry",
        "kvm_apic_bogus", "KVM_APIC", "kvm_", "_", "kvm:kvm:kvm_msr", "kvm_pv_eoi", "kvm_apicv_accept_irq", "kvm_msi_set_irq", "irq:kvm_eoi",
    ];

    private static readonly string[] Registers =
    [
        "APIC_ICR", "APIC_ICR2", "APIC_EOI", "APIC_ID", "APIC_LVR", "APIC_TASKPRI", "APIC_SPIV", "APIC_LVTT", "APIC_LVT0", "APIC_TMCCT",
        "APIC_SELF_IPI", "APIC_EFEAT", "APIC_ECTRL", "ICR", "apic_icr", "APIC_", "APIC_BOGUS", "0x210", "0x3f0", "0xff0", "0x1000", "0xfffffff0",
        "0x" + new string('f', 20), "0x", "0x-10", "-0x10", "0x0", "0x400", "0x410", "0x800",
    ];

    private static readonly string[] Modes = ["Fixed", "LowPrio", "SMI", "Res3", "NMI", "INIT", "SIPI", "ExtINT", "fixed", "Bogus", "", "8"];

    private static readonly string[] Numbers =
    [
        "0", "1", "-1", "-2", "-0", "ff", "fe", "100", "ffffffff", "100000000", "7fffffff", "80000000", "2147483648", "4294967296", "99999999999",
        "0x0", "0x1", "0xffffffff", "0xffffffffffffffff", "0x10000000000000000", "255", "256", "999", "1000", "\u0661", "\u0661\u0662", "\uff11",
        "1\u0660", "\u0967", "-\u0661", "+1", "1.5", "1e3", "",
    ];

    /// <summary>Mutates <paramref name="lines"/> in place; returns what was done.</summary>
    public string MutateTrace(List<string> lines, IReadOnlyList<string[]> corpus)
    {
        if (lines.Count == 0)
        {
            lines.Add(Text.Pick(Text.Pick(corpus)));
            return "a line added to an empty trace";
        }
        var at = Text.Next(lines.Count);
        var choice = Text.Next(24);
        switch (choice)
        {
            case 0 or 1:
                return Text.RemoveOrRepeatLine(lines, at, remove: choice == 0);
            case 2:
                var from = Text.Next(lines.Count);
                var moved = lines[from];
                lines.RemoveAt(from);
                lines.Insert(at, moved);
                return $"line {from + 1} moved to {at + 1}";
            case 3:
                var count = Math.Min(Text.Next(2, 10), lines.Count - at);
                lines.Reverse(at, count);
                return $"lines {at + 1} to {at + count} reversed";
            case 4:
                lines.Insert(at, Text.Pick(["", "   ", "#", "# tracer: function", "version = 7", "cpus=99999999999", "CPU 1 is empty", "\0", "\u00a0", "\ufeff", ":", "::", "a: b: c"]));
                return $"an odd line at {at + 1}";
            case 5:
                lines.Insert(at, Text.Pick(Text.Pick(corpus)));
                return $"a line of another trace at {at + 1}";
            case 6:
                var next = Text.Pick(lines);
                lines[at] = lines[at][..Text.Next(lines[at].Length + 1)] + (Text.Chance(50) ? " " : "") + next.TrimStart();
                return $"line {at + 1} run together with another";
            case 7:
                lines.RemoveRange(at, lines.Count - at);
                lines.Add(Text.Pick(Text.Pick(corpus)) is var cut && cut.Length > 0 ? cut[..Text.Next(cut.Length)] : cut);
                return $"the trace cut at line {at + 1}";
            case 8 or 9 or 10 or 11:
                lines[at] = Text.Mutate(lines[at], lines);
                return $"line {at + 1} mutated as text";
            case 12:
                var renamed = 0;
                for (var i = at; i < lines.Count; i++)
                {
                    if (EventName().Match(lines[i]) is { Success: true } e)
                    {
                        lines[i] = lines[i][..e.Groups["event"].Index] + $"kvm_other_{i}" + lines[i][(e.Groups["event"].Index + e.Groups["event"].Length)..];
                        renamed++;
                    }
                }
                return $"{renamed} events from line {at + 1} renamed, each to another unknown event";
            default:
                lines[at] = MutateLine(lines[at], out var what);
                return $"line {at + 1}: {what}";
        }
    }

    /// <summary>
    /// Makes one line of <paramref name="lines"/> a megabyte long or more, in the way <paramref name="kind"/> picks (in
    /// turn): a number of a million digits, a run of a million blanks inside the fields, an event name or a task name of
    /// a million letters, a token of millions of characters.
    /// </summary>
    public string HugeLine(List<string> lines, int kind)
    {
        if (lines.Count == 0)
        {
            lines.Add("");
        }
        var at = Text.Next(lines.Count);
        var line = lines[at];
        switch (kind % 5)
        {
            case 0:
                lines[at] = ReplaceNumber(line, Text.MillionDigits());
                return $"line {at + 1} has a number of a million digits";
            case 1:
                var blanks = new string(Text.Pick([' ', '\t']), 1_000_000);
                var i = EventName().Match(line) is { Success: true } ev ? Text.Next(ev.Index + ev.Length, line.Length + 1) : Text.Next(line.Length + 1);
                lines[at] = line[..i] + blanks + (Text.Chance(50) ? "x" : "") + line[i..];
                return $"line {at + 1} has a million blanks at {i}";
            case 2 when EventName().Match(line) is { Success: true } e:
                lines[at] = line[..e.Groups["event"].Index] + "kvm_" + new string('a', 1_000_000) + line[(e.Groups["event"].Index + e.Groups["event"].Length)..];
                return $"line {at + 1} has an event name of a million letters";
            case 3 when TaskPrefix().Match(line) is { Success: true } p:
                lines[at] = line[..p.Groups["task"].Index] + new string('t', 1_000_000) + line[(p.Groups["task"].Index + p.Groups["task"].Length)..];
                return $"line {at + 1} has a task name of a million letters";
            default:
                lines[at] = Text.HugeToken(line);
                return $"line {at + 1} has a token of millions of characters";
        }
    }

    /// <summary>One mutation of a trace line as a trace line: its task, thread id, event name, fields or punctuation.</summary>
    public string MutateLine(string line, out string what)
    {
        var prefix = TaskPrefix().Match(line);
        switch (Text.Next(12))
        {
            case 0 when prefix.Success:
                var task = Text.Pick(Tasks);
                what = $"task '{task}'";
                return line[..prefix.Groups["task"].Index] + task + line[(prefix.Groups["task"].Index + prefix.Groups["task"].Length)..];
            case 1 when prefix.Success:
                var pid = Text.Chance(50) ? Text.HugeNumber() : Text.Pick(Numbers);
                what = $"thread id '{Shorten(pid)}'";
                return line[..prefix.Groups["pid"].Index] + pid + line[(prefix.Groups["pid"].Index + prefix.Groups["pid"].Length)..];
            case 2 when prefix.Success:
                what = "task prefix removed";
                return line[(prefix.Index + prefix.Length)..];
            case 3 when EventName().Match(line) is { Success: true } e:
                var name = Text.Chance(10) ? "kvm_" + new string('x', Text.Next(100, 5_000)) : Text.Pick(Events);
                what = $"event '{name}'";
                return line[..e.Groups["event"].Index] + name + line[(e.Groups["event"].Index + e.Groups["event"].Length)..];
            case 4:
                var register = Text.Pick(Registers);
                what = $"register '{register}'";
                return RegisterName().Replace(line, register, 1);
            case 5:
                var mode = Text.Pick(Modes);
                what = $"delivery mode '{mode}'";
                return DeliveryMode().Replace(line, "(" + mode + "|", 1);
            case 6:
                var field = Text.Pick(["physical", "logical", "assert", "de-assert", "edge", "level", "dst", "self", "all", "all-but-self", "", "x"]);
                what = $"a field word '{field}'";
                return FieldWord().Replace(line, field, 1);
            case 7:
                what = "colons removed";
                return Text.Chance(50) ? line.Replace(":", "", StringComparison.Ordinal) : line.Remove(Math.Max(line.IndexOf(':', StringComparison.Ordinal), 0), line.Contains(':', StringComparison.Ordinal) ? 1 : 0);
            case 8:
                var suffix = Text.Pick([" (#GP)", "(#GP)", " (#GP) (#GP)", " (coalesced)", " (coalesced) (coalesced)", " (", ")", " \0", "\0"]);
                what = $"'{suffix}' appended";
                return line + suffix;
            case 9:
                var at = Text.Next(line.Length + 1);
                what = $"NUL at {at}";
                return line[..at] + "\0" + line[at..];
            default:
                var number = Text.Chance(30) ? Text.HugeNumber() : Text.Pick(Numbers);
                what = $"a number '{Shorten(number)}'";
                return ReplaceNumber(line, number);
        }
    }

    /// <summary>The file's bytes: the lines joined by LF, CRLF, CR or a mix, now and then with a BOM or bytes that are not UTF-8; or empty, or binary.</summary>
    public (byte[] Bytes, string What) Encode(IReadOnlyList<string> lines)
    {
        if (Text.Chance(2))
        {
            return ([], "an empty file");
        }
        if (Text.Chance(2))
        {
            var binary = Text.RandomBytes(Text.Next(1, 20_000));
            return (binary, $"{binary.Length} random bytes");
        }
        var newline = Text.Next(10) switch
        {
            < 6 => "\n",
            < 8 => "\r\n",
            8 => "\r",
            _ => null,
        };
        var text = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            text.Append(lines[i]);
            if (i < lines.Count - 1 || Text.Chance(80))
            {
                text.Append(newline ?? Text.Pick(["\n", "\r\n", "\r"]));
            }
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var what = newline switch { "\n" => "LF", "\r\n" => "CRLF", "\r" => "CR", _ => "mixed line ends" };
        if (Text.Chance(5))
        {
            bytes = [.. Encoding.UTF8.GetPreamble(), .. bytes];
            what += ", a BOM";
        }
        if (Text.Chance(8) && bytes.Length > 0)
        {
            var at = Text.Next(bytes.Length);
            bytes = [.. bytes[..at], .. TextMutator.NotUtf8, .. bytes[at..]];
            what += $", bytes that are not UTF-8 at {at}";
        }
        return (bytes, what);
    }

    /// <summary>The input's file name: mostly plain, now and then with characters a scenario comment must not take literally.</summary>
    public string FileName(int n) => Text.Chance(90)
        ? $"case-{n}.txt"
        : $"case-{n}" + Text.Pick([" trace.txt", "#1.txt", "\u00e9\u4e2d.txt", "\nvm vcpus=0\n.txt", "\rx.txt", "\u2028.txt", " -> 0x1.txt"]);

    private string ReplaceNumber(string line, string number)
    {
        var numbers = NumberToken().Matches(line);
        if (numbers.Count == 0)
        {
            return line + " " + number;
        }
        var m = numbers[Text.Next(numbers.Count)];
        return line[..m.Index] + number + line[(m.Index + m.Length)..];
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + $"... ({text.Length} characters)";

    [GeneratedRegex(@"^\s*(?<task>\S[^\[\]]*?)-(?<pid>\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[")]
    private static partial Regex TaskPrefix();

    [GeneratedRegex(@"(?:^|\s)(?:[a-z_]+:)?(?<event>[a-z_][a-z0-9_]*):(?:\s|$)")]
    private static partial Regex EventName();

    [GeneratedRegex(@"(?:APIC_[A-Z0-9_]+|0x[0-9a-f]+)(?= = 0x)")]
    private static partial Regex RegisterName();

    [GeneratedRegex(@"\((?:Fixed|LowPrio|SMI|Res3|NMI|INIT|SIPI|ExtINT)\|")]
    private static partial Regex DeliveryMode();

    [GeneratedRegex(@"(?<=\|)[a-z-]+(?=[|)])")]
    private static partial Regex FieldWord();

    [GeneratedRegex(@"(?<=[\s=])(?:0x)?[0-9a-f]+(?=\s|$|\))")]
    private static partial Regex NumberToken();
}
