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
    public void Run_AFileWithoutKvmEvents_WarnsAndReturnsOne()
    {
        var input = Path.Combine(_directory, "not-kvm.clef");
        var output = Path.Combine(_directory, "out.vapic");
        File.WriteAllText(input, "{\"@t\":\"2026-01-01T00:00:00Z\",\"Event\":\"MmioRead\"}\nhello\n");
        var stderr = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, new StringWriter(), stderr);

        Assert.Equal(KvmTraceImportCommand.NothingImported, exit);
        Assert.Contains($"{input}: warning: no KVM APIC event in it", stderr.ToString());
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Run_ThousandsOfBadLinesAndLongNames_EveryReportLineStaysShort()
    {
        var input = Path.Combine(_directory, "noise.txt");
        var output = Path.Combine(_directory, "noise.vapic");
        File.WriteAllLines(input, Enumerable.Range(0, 1000).Select(i => $"not a trace line {i}")
            .Concat(Enumerable.Range(0, 100).Select(i => $"kvm_event_{i}: x"))
            .Append("kvm_" + new string('a', 1_000_000) + ": x")
            .Append(new string('t', 1_000_000) + "-5  [000] 1.0: kvm_apic: apic_write APIC_EOI = 0x0"));
        var stdout = new StringWriter();

        var exit = KvmTraceImportCommand.Run(input, output, 0, stdout, new StringWriter());

        Assert.Equal(KvmTraceImportCommand.Success, exit);
        var printed = stdout.ToString().Replace(input, "FILE", StringComparison.Ordinal).Replace(output, "OUT", StringComparison.Ordinal).Split(Environment.NewLine);
        Assert.All(printed, line => Assert.InRange(line.Length, 0, 200));
        Assert.Contains(printed, line => line.StartsWith("torn lines: 1, 2, 3, ", StringComparison.Ordinal) && line.EndsWith(" more", StringComparison.Ordinal));
        Assert.Contains(printed, line => line.StartsWith("skipped unknown events: kvm_aaa", StringComparison.Ordinal) && line.EndsWith(" more", StringComparison.Ordinal));
        Assert.Contains(printed, line => line.StartsWith("note: line 1102: printed by task 'ttt", StringComparison.Ordinal));
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
