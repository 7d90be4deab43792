using System.Globalization;
using System.Text;
using VApicActors.Host.Cli;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic trace import-kvm FILE -o OUT.vapic [--vcpu N]</c>: imports a KVM trace, writes the scenario and prints
/// the report. Torn lines go to the error stream as <c>FILE:LINE: torn line: REASON</c> and do not stop the import;
/// a file without a single KVM APIC event is said to be one (exit 1). An input that is not a KVM trace in text at all
/// (trace-cmd's binary trace.dat, another binary file, a message trace, a script) is refused in one line, and nothing
/// is written (exit 2).
/// </summary>
public static class KvmTraceImportCommand
{
    /// <summary>How long a list of the report (torn lines, unknown events) may grow on its line before the rest is counted.</summary>
    private const int MaxListLine = 160;

    /// <summary>The scenario was written.</summary>
    public const int Success = 0;

    /// <summary>The input held no KVM APIC event at all (not a KVM trace?): the scenario was written, with nothing to do.</summary>
    public const int NothingImported = 1;

    /// <summary>The input could not be read or is not a KVM trace in text (nothing written), or the output could not be written.</summary>
    public const int IoFailure = 2;

    /// <summary>
    /// Imports <paramref name="inputPath"/> (<c>-</c>: <paramref name="stdin"/>, or the console's standard input) into the
    /// scenario <paramref name="outputPath"/>.
    /// </summary>
    public static int Run(string inputPath, string outputPath, int defaultVcpu, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (defaultVcpu < 0 || defaultVcpu >= KvmTraceImportSession.MaxVcpus)
        {
            stderr.WriteLine($"vapic: --vcpu must be between 0 and {KvmTraceImportSession.MaxVcpus - 1}");
            return IoFailure;
        }
        var fromStdin = inputPath == TraceFiles.StandardInput;
        if (!fromStdin && CommandLineFiles.SameFile(inputPath, outputPath))
        {
            stderr.WriteLine($"vapic: the scenario would be written over the trace it comes from, {inputPath}: give -o another file");
            return IoFailure;
        }

        var lines = new List<string>();
        try
        {
            // A file is opened once, since it may be a pipe (<(zcat ...)): the first bytes it gives tell a trace.dat,
            // which is refused before any of it is read as text. Standard input is read as text from the start (piped
            // from trace-cmd report or perf script): a trace.dat shows there in its first line.
            var head = Array.Empty<byte>();
            var reader = fromStdin ? stdin ?? Console.In : TraceInput.Open(inputPath, out head).Reader;
            using (fromStdin ? null : reader)
            {
                if (KvmTraceInputCheck.IsTraceDat(head))
                {
                    stderr.WriteLine(KvmTraceInputCheck.TraceDatMessage(inputPath));
                    return IoFailure;
                }
                while (reader.ReadLine() is { } line)
                {
                    if (lines.Count == 0 && KvmTraceInputCheck.IsTraceDatText(line))
                    {
                        stderr.WriteLine(KvmTraceInputCheck.TraceDatMessage(inputPath));
                        return IoFailure;
                    }
                    lines.Add(line);
                }
            }
        }
        catch (Exception e) when (TraceInput.IsReadError(e))
        {
            stderr.WriteLine($"{inputPath}: error: cannot read the trace: {TraceInput.Reason(inputPath, e)}");
            return IoFailure;
        }
        if (KvmTraceInputCheck.NotATraceReason(lines) is { } reason)
        {
            // A binary file or a script given for a trace: one line says so, rather than a torn line for each of its lines.
            stderr.WriteLine($"{inputPath} does not look like a KVM trace ({reason})");
            return IoFailure;
        }

        var result = KvmTraceImporter.Import(lines, defaultVcpu, inputPath);
        try
        {
            CommandLineFiles.CreateFolders(outputPath);
            File.WriteAllText(outputPath, result.Script);
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            stderr.WriteLine($"{outputPath}: error: cannot write the scenario: {CommandLineFiles.WriteReason(outputPath, e)}");
            return IoFailure;
        }

        var report = result.Report;
        foreach (var torn in report.TornLines)
        {
            stderr.WriteLine($"{inputPath}:{torn.LineNumber}: torn line: {torn.Reason}");
        }
        stdout.WriteLine(Describe(report, inputPath, outputPath));
        if (report.EventsRead == 0)
        {
            stderr.WriteLine($"{inputPath}: warning: no KVM APIC event in it (kvm_apic, kvm_msr, kvm_apic_ipi, ... as `trace-cmd report` prints them): the scenario does nothing");
            return NothingImported;
        }
        return Success;
    }

    /// <summary>The report as a few lines of text.</summary>
    public static string Describe(KvmTraceImportReport report, string inputPath, string outputPath)
    {
        ArgumentNullException.ThrowIfNull(report);
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(inv, $"{inputPath}: {Plural.Count(report.EventsRead, "event")} read"),
            string.Create(inv, $"{outputPath}: {Plural.Count(report.CommandsWritten, "command")}, {Plural.Count(report.ExpectationsWritten, "expectation")} ({Plural.Count(report.VcpuCount, "vCPU")}, {(report.X2Apic ? "x2apic" : "xapic")})"),
        };
        if (report.DuplicatesMerged > 0)
        {
            lines.Add(string.Create(inv, $"merged {report.DuplicatesMerged} kvm_apic lines into their kvm_msr line"));
        }
        if (report.OtherMsrAccesses > 0)
        {
            lines.Add(string.Create(inv, $"skipped {Plural.Count(report.OtherMsrAccesses, "access", "accesses")} to MSRs outside the APIC"));
        }
        if (report.UnknownEventsSkipped > 0)
        {
            lines.Add(List("skipped unknown events: ", report.UnknownEvents.Select(kv => string.Create(inv, $"{ScenarioException.Quote(kv.Key)} {kv.Value}")).ToList()));
        }
        if (report.TornLines.Count > 0)
        {
            lines.Add(List("torn lines: ", report.TornLines.Select(t => t.LineNumber.ToString(inv)).ToList()));
        }
        lines.AddRange(report.Notes.Select(n => "note: " + n));
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>
    /// <paramref name="head"/> and the items, as many as fit in <see cref="MaxListLine"/> characters (the first always), then
    /// <c>and N more</c>: a binary file's thousands of torn lines still give one short line.
    /// </summary>
    private static string List(string head, IReadOnlyList<string> items)
    {
        var line = new StringBuilder(head);
        for (var i = 0; i < items.Count; i++)
        {
            var item = i == 0 ? items[i] : ", " + items[i];
            if (i > 0 && line.Length + item.Length > MaxListLine)
            {
                return line.Append(CultureInfo.InvariantCulture, $" and {items.Count - i} more").ToString();
            }
            line.Append(item);
        }
        return line.ToString();
    }
}
