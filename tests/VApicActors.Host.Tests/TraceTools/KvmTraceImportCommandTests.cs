using VApicActors.Host.TraceTools;
using Xunit;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class KvmTraceImportCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kvm-import-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Run_ReadableTrace_WritesTheScriptAndReportsTornLinesByNumber()
    {
        var input = Path.Combine(_directory, "trace.txt");
        var output = Path.Combine(_directory, "out.vapic");
        File.WriteAllText(input, KvmTraceExcerpts.XApicQuirks);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, stdout, stderr);

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        Assert.Equal(KvmTraceImporter.Import(File.ReadAllLines(input), 0, input).Script, File.ReadAllText(output));
        Assert.Contains($"{input}:22: torn line:", stderr.ToString());
        Assert.Contains($"{input}: 18 events read", stdout.ToString());
        Assert.Contains("skipped unknown events: kvm_entry 1, kvm_exit 1", stdout.ToString());
        Assert.Contains("torn lines: 22", stdout.ToString());
    }

    [Fact]
    public void Run_Dash_ReadsTheTraceFromStandardInput()
    {
        // trace-cmd report | vapic trace import-kvm - -o out.vapic: "-" used to be looked for as a file ("no such file").
        var output = Path.Combine(_directory, "piped.vapic");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run("-", output, 0, stdout, stderr, new StringReader(KvmTraceExcerpts.XApicQuirks));

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        Assert.Equal(KvmTraceImporter.Import(KvmTraceExcerpts.XApicQuirks.Split('\n').Select(l => l.TrimEnd('\r')).ToList(), 0, "-").Script,
            File.ReadAllText(output));
        Assert.Contains("-: 18 events read", stdout.ToString());
        Assert.Contains("-:22: torn line:", stderr.ToString());
    }

    [Fact]
    public void Run_Dash_RefusesTraceDatOnStandardInput()
    {
        var output = Path.Combine(_directory, "dat.vapic");
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run("-", output, 0, new StringWriter(), stderr, new StringReader("\u0017\u0008Dtracing6\0\0\0"));

        Assert.Equal(KvmTraceImportCommand.IoFailure, exit);
        Assert.StartsWith("- is trace-cmd's binary trace.dat", stderr.ToString());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Run_DefaultVcpu_IsPassedToTheImporter()
    {
        var input = Path.Combine(_directory, "mail.txt");
        var output = Path.Combine(_directory, "mail.vapic");
        File.WriteAllText(input, KvmTraceExcerpts.MailedWithoutTasks);

        var exit = KvmTraceImportCommand.Run(input, output, 1, new StringWriter(), new StringWriter());

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        Assert.StartsWith("vm vcpus=3 ", File.ReadAllLines(output).First(l => l.StartsWith("vm ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Run_ATraceOfOtherEventsOnly_WarnsAndReturnsOne()
    {
        var input = Path.Combine(_directory, "exits-only.txt");
        var output = Path.Combine(_directory, "out.vapic");
        File.WriteAllText(input, """
             CPU 0/KVM-4321  [002] 12345.678903: kvm_exit: vcpu 0 reason EXTERNAL_INTERRUPT rip 0xffffffff81060bd4 info1 0x0 info2 0x800000fd
             CPU 0/KVM-4321  [002] 12345.678904: kvm_entry: vcpu 0, rip 0xffffffff81060bd4
            """);
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.NothingImported, exit);
        Assert.Contains($"{input}: warning: no KVM APIC event in it", stderr.ToString());
        Assert.True(File.Exists(output));
    }

    public static TheoryData<string, string, string> NotKvmTraces => new()
    {
        // trace-cmd record's output, given before trace-cmd report has turned it into text.
        { "trace.dat", "\u0017\u0008Dtracing6\0\0\0\u0001\u0004", "is trace-cmd's binary trace.dat, not the text import-kvm reads: run trace-cmd report -i " },
        { "core.bin", "\u007fELF\u0002\u0001\u0001\0\0\0\nkvm_eoi: apicid 1 vector 253\n", "does not look like a KVM trace (binary data: a NUL byte on line 1)" },
        { "ipi.vapic", string.Concat(Enumerable.Repeat("vm vcpus=2\nwritel 0xfee000f0 0x1ff\n", 10)), "does not look like a KVM trace (the first 20 lines are not trace lines; import-kvm reads the text of trace-cmd report" },
        { "vapic-trace.clef", "{\"@t\":\"2026-01-01T00:00:00Z\",\"Event\":\"MmioRead\"}\n{\"@t\":\"2026-01-01T00:00:00Z\",\"Event\":\"Eoi\"}\n", "does not look like a KVM trace (none of its 2 lines is a trace line; it is a message trace of this simulator" },
    };

    [Theory]
    [MemberData(nameof(NotKvmTraces))]
    public void Run_AnInputThatIsNoKvmTraceInText_IsRefusedInOneLine_AndNothingIsWritten(string name, string content, string message)
    {
        var input = Path.Combine(_directory, name);
        var output = Path.Combine(_directory, "out.vapic");
        File.WriteAllText(input, content);
        File.WriteAllText(output, "# the last import\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, stdout, stderr);

        Assert.Equal(KvmTraceImportCommand.IoFailure, exit);
        var line = Assert.Single(stderr.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(input + " ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Equal("", stdout.ToString());
        Assert.Equal("# the last import\n", File.ReadAllText(output));
    }

    [Fact]
    public void Run_TornLinesBeforeTheFirstEvent_AreATraceWhenAnEventComesBeforeTheLimit()
    {
        var input = Path.Combine(_directory, "torn-start.txt");
        var output = Path.Combine(_directory, "out.vapic");
        File.WriteAllLines(input, Enumerable.Range(0, KvmTraceInputCheck.NotATraceLines - 1).Select(i => $"cut{i}")
            .Append(" CPU 1/KVM-4322  [005] 12345.678950: kvm_eoi:              apicid 1 vector 253"));
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        Assert.Contains($"{input}:19: torn line:", stderr.ToString());
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Run_ThousandsOfBadLinesAndLongNames_EveryReportLineStaysShort()
    {
        var input = Path.Combine(_directory, "noise.txt");
        var output = Path.Combine(_directory, "noise.vapic");
        // (A trace from its first line, then torn lines: a file of nothing but torn lines is not taken for a trace.)
        File.WriteAllLines(input, new[] { " CPU 1/KVM-4322  [005] 12345.678950: kvm_eoi: apicid 1 vector 253" }
            .Concat(Enumerable.Range(0, 1000).Select(i => $"not a trace line {i}"))
            .Concat(Enumerable.Range(0, 100).Select(i => $"kvm_event_{i}: x"))
            .Append("kvm_" + new string('a', 1_000_000) + ": x")
            .Append(new string('t', 1_000_000) + "-5  [000] 1.0: kvm_apic: apic_write APIC_EOI = 0x0"));
        var stdout = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, stdout, new StringWriter());

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        var printed = stdout.ToString().Replace(input, "FILE", StringComparison.Ordinal).Replace(output, "OUT", StringComparison.Ordinal).Split(Environment.NewLine);
        Assert.All(printed, line => Assert.InRange(line.Length, 0, 200));
        Assert.Contains(printed, line => line.StartsWith("torn lines: 2, 3, 4, ", StringComparison.Ordinal) && line.EndsWith(" more", StringComparison.Ordinal));
        Assert.Contains(printed, line => line.StartsWith("skipped unknown events: kvm_aaa", StringComparison.Ordinal) && line.EndsWith(" more", StringComparison.Ordinal));
        Assert.Contains(printed, line => line.StartsWith("note: line 1103: printed by task 'ttt", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_EoiVectorInDigitsOtherThanAscii_IsATornLine()
    {
        var input = Path.Combine(_directory, "digits.txt");
        var output = Path.Combine(_directory, "digits.vapic");
        File.WriteAllText(input, "kvm_eoi: apicid 1 vector \u0661\n");
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.NothingImported, exit);
        Assert.Contains($"{input}:1: torn line: kvm_eoi fields do not parse", stderr.ToString());
    }

    [Fact]
    public void Run_MissingInput_ReturnsTwoAndWritesNothing()
    {
        var input = Path.Combine(_directory, "absent.txt");
        var output = Path.Combine(_directory, "out.vapic");
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.IoFailure, exit);
        Assert.Contains($"{input}: error: cannot read the trace", stderr.ToString());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Run_UnwritableOutput_ReturnsTwo()
    {
        var input = Path.Combine(_directory, "trace.txt");
        File.WriteAllText(input, KvmTraceExcerpts.X2ApicReschedule);
        var stderr = new StringWriter();

        // (A folder that does not exist is created, as for every output file; a file in its place cannot be.)
        var blocker = Path.Combine(_directory, "plain-file");
        File.WriteAllText(blocker, "x");

        var exit = KvmTraceImportCommand.Run(input, Path.Combine(blocker, "out.vapic"), 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.IoFailure, exit);
        Assert.Contains("cannot write the scenario: '" + blocker + "' is a file, not a folder", stderr.ToString());
    }
}
