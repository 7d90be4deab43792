using System.CommandLine;
using System.CommandLine.Parsing;
using VApicActors.Host.Cli;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// The trace tools on the <c>vapic</c> command line: <c>trace export</c>, <c>trace view</c>, <c>trace ipis</c>, <c>trace import-kvm</c>
/// and <c>replay</c> (also <c>trace replay</c>: the same command under both names). They read files only and start no actor system.
/// </summary>
public static class TraceCommands
{
    /// <summary><c>vapic trace …</c>.</summary>
    public static Command CreateTrace(TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var trace = new Command("trace", "Tools for message traces (compact JSON, one event per line, as --trace writes them)");
        trace.Subcommands.Add(Export(output, error));
        trace.Subcommands.Add(View(output, error));
        trace.Subcommands.Add(Ipis(output, error));
        trace.Subcommands.Add(ImportKvm(output, error));
        // Replay reads a trace like the others; it is also 'vapic replay', built by the same code.
        trace.Subcommands.Add(CreateReplay(output, error));
        return trace;
    }

    /// <summary>
    /// <c>vapic replay TRACE [--vm V] [--apic ID] [--until SEQ] [-o PAGE.bin] [--state STATE.json]</c>, which is also
    /// <c>vapic trace replay</c>: each call builds one more instance of the same command.
    /// </summary>
    public static Command CreateReplay(TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var file = TraceArgument();
        var vm = VmOption();
        var apic = ApicOption("Only the APIC with this initial APIC ID (decimal or 0x hexadecimal)");
        var until = new Option<long?>("--until")
        {
            Description = "Stop after the event with this Seq (each APIC numbers its own events from 1)",
            HelpName = "SEQ",
            CustomParser = ParseSeq,
        };
        var page = new Option<string?>("--output", "-o") { Description = "Write the selected APIC's 4 KiB register page to FILE instead of printing the registers", HelpName = "PAGE.bin" };
        var state = new Option<string?>("--state") { Description = "The state file the traced VM was restored from ('restore' in a script), for a replay through the restore", HelpName = "STATE.json" };
        var command = new Command(
            "replay",
            "Rebuild APIC state from a trace alone: feed a fresh register model each APIC's recorded inputs in their recorded order, then " +
            "print the registers (or write the page). Exit 0, 1 when lines were skipped or the replay disagreed with a recorded result, 2 on a usage or file error");
        command.Arguments.Add(file);
        command.Options.Add(vm);
        command.Options.Add(apic);
        command.Options.Add(until);
        command.Options.Add(page);
        command.Options.Add(state);
        command.SetAction(parse => ReplayCommand.Run(
            parse.GetValue(file)!, parse.GetValue(vm), parse.GetValue(apic), parse.GetValue(until), parse.GetValue(page), output, error, parse.GetValue(state)));
        return command;
    }

    private static Command Export(TextWriter output, TextWriter error)
    {
        var file = TraceArgument();
        var format = new Option<string>("--format")
        {
            Description = "Output format: chrome (Chrome trace-event JSON, for ui.perfetto.dev and chrome://tracing)",
            DefaultValueFactory = _ => "chrome",
        };
        format.AcceptOnly([.. TraceExportCommand.Formats]);
        var to = new Option<string>("--output", "-o") { Description = "The timeline file to write", HelpName = "OUT.json", Required = true };
        var command = new Command(
            "export",
            "Write a trace as a timeline: one track per vCPU (VM and APIC ID), a slice per interrupt from acknowledge to EOI, instants for " +
            "register accesses, timers, INIT/SIPI/NMI, and arrows from each IPI to every destination that took it. Time is virtual time");
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.Options.Add(to);
        command.SetAction(parse => TraceExportCommand.Run(parse.GetValue(file)!, parse.GetValue(format)!, parse.GetValue(to)!, output, error));
        return command;
    }

    private static Command View(TextWriter output, TextWriter error)
    {
        var file = TraceArgument();
        var filter = new Option<string?>("--filter")
        {
            Description = "Serilog expression selecting the events to print, e.g. \"ApicId = 1 and Vector = 0x41\" or \"Event in ['IpiSent', 'Accepted']\"",
            HelpName = "EXPR",
        };
        var command = new Command(
            "view",
            "Print a trace one event per line: virtual time, VM, APIC, Seq, event, register, then value, vector, source and destination in " +
            "hexadecimal, and the detail. Exit 0, 1 when lines were skipped, 2 on a bad filter or an unreadable file");
        command.Arguments.Add(file);
        command.Options.Add(filter);
        command.SetAction(parse => TraceViewCommand.Run(parse.GetValue(file)!, parse.GetValue(filter), output, error));
        return command;
    }

    private static Command Ipis(TextWriter output, TextWriter error)
    {
        var file = TraceArgument();
        var vm = VmOption();
        var apic = ApicOption("Only IPIs sent by or to the APIC with this initial APIC ID (decimal or 0x hexadecimal)");
        var vector = new Option<int?>("--vector")
        {
            Description = "Only IPIs with this vector (decimal or 0x hexadecimal)",
            HelpName = "V",
            CustomParser = ParseVector,
        };
        var problems = new Option<bool>("--problems")
        {
            Description = "Print only the deliveries that did not end in an EOI or a delivered NMI, SMI, INIT or SIPI: dropped, lost, still pending or in service at the end, and IPIs that reached no APIC",
        };
        var command = new Command(
            "ipis",
            "Follow every IPI from its send to each destination: accepted, coalesced or dropped there, then acknowledged and EOI'd (with Seq and " +
            "virtual time since the send), lost to an INIT, disable or restore, or still open at the end; then a summary with latencies. " +
            "Exit 0, 1 when lines were skipped, 2 on an unreadable file");
        command.Arguments.Add(file);
        command.Options.Add(vm);
        command.Options.Add(apic);
        command.Options.Add(vector);
        command.Options.Add(problems);
        command.SetAction(parse => TraceIpisCommand.Run(
            parse.GetValue(file)!, new IpiSelection(parse.GetValue(vm), parse.GetValue(apic), parse.GetValue(vector)), parse.GetValue(problems), output, error));
        return command;
    }

    private static Command ImportKvm(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("FILE") { Description = "Text output of trace-cmd report or perf script (or the ftrace trace file) with KVM APIC events; - reads it from standard input" };
        var to = new Option<string>("--output", "-o") { Description = "The scenario to write", HelpName = "OUT.vapic", Required = true };
        var vcpu = new Option<int>("--vcpu")
        {
            Description = "The vCPU that lines without a task prefix belong to",
            HelpName = "N",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command(
            "import-kvm",
            "Turn a KVM trace (kvm_apic, kvm_msr, kvm_apic_ipi, kvm_apic_accept_irq, kvm_eoi) into a scenario whose expectations say what " +
            "KVM did; run it with 'vapic run'. See docs/trace-import.md");
        command.Arguments.Add(file);
        command.Options.Add(to);
        command.Options.Add(vcpu);
        command.SetAction(parse => KvmTraceImportCommand.Run(parse.GetValue(file)!, parse.GetValue(to)!, parse.GetValue(vcpu), output, error));
        return command;
    }

    private static Option<string?> VmOption() => new("--vm") { Description = "Only this VM (the trace's Vm property)", HelpName = "V" };

    private static Option<uint?> ApicOption(string description) => new("--apic") { Description = description, HelpName = "ID", CustomParser = ParseApicId };

    private static Argument<string> TraceArgument() => new("TRACE") { Description = "A message trace (compact JSON, as --trace writes it); - reads standard input" };

    private static uint? ParseApicId(ArgumentResult result)
    {
        var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (NumberSyntax.TryParse(token, out var value) && value <= uint.MaxValue)
        {
            return (uint)value;
        }
        result.AddError($"--apic: '{token}' is not an APIC ID (decimal or 0x hexadecimal, at most 0xFFFFFFFF)");
        return null;
    }

    private static int? ParseVector(ArgumentResult result)
    {
        var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (NumberSyntax.TryParse(token, out var value) && value <= 0xFF)
        {
            return (int)value;
        }
        result.AddError($"--vector: '{token}' is not a vector (0 to 0xff, decimal or 0x hexadecimal)");
        return null;
    }

    private static long? ParseSeq(ArgumentResult result)
    {
        var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (NumberSyntax.TryParse(token, out var value) && value is >= 1 and <= long.MaxValue)
        {
            return (long)value;
        }
        result.AddError($"--until: '{token}' is not a Seq (a positive number)");
        return null;
    }
}
