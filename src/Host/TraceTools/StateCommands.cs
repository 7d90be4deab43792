using System.CommandLine;
using System.Globalization;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Cli;
using VApicActors.Host.Configuration;
using VApicActors.Host.Scenarios;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Runs <paramref name="work"/> inside the <c>vapic</c> host (configuration, logging, the actor system and the trace
/// sink when one is configured) and returns its exit code.
/// </summary>
public delegate Task<int> StateHostRunner(
    ParseResult parse,
    Func<ActorSystem, ITraceSink?, CancellationToken, Task<int>> work,
    CancellationToken cancellationToken);

/// <summary>
/// <c>vapic state save|restore|show|export-kvm</c>: VM state files (<c>docs/state-format.md</c>) on the command
/// line. <c>save</c> runs a scenario and saves where it ends; <c>restore</c> starts from a saved state and runs a
/// scenario from there; <c>show</c> prints a saved state's registers; <c>export-kvm</c> writes each APIC in
/// <c>KVM_GET_LAPIC</c>'s 1 KiB layout. A state or script named <c>-</c> is read from standard input, and a state
/// written to <c>-</c> goes to standard output, what the command says besides it to standard error.
/// </summary>
public static class StateCommands
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    /// <summary>Names standard input or standard output in place of a file.</summary>
    public const string Standard = "-";

    public static Command Create(StateHostRunner runHost, TextWriter output, TextWriter error, Func<TextReader>? input = null)
    {
        ArgumentNullException.ThrowIfNull(runHost);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        input ??= () => Console.In;
        var command = new Command("state", "Save and restore a VM's APIC state (JSON, see docs/state-format.md), show it, export it for KVM or import it from KVM");
        command.Subcommands.Add(Save(runHost, output, error, input));
        command.Subcommands.Add(Restore(runHost, output, error, input));
        command.Subcommands.Add(Show(output, error, input));
        command.Subcommands.Add(ExportKvm(output, error, input));
        command.Subcommands.Add(ImportKvm(output, error));
        return command;
    }

    private static Command Save(StateHostRunner runHost, TextWriter output, TextWriter error, Func<TextReader> input)
    {
        var script = new Argument<string>("SCRIPT") { Description = "Scenario script (.vapic) to run from a fresh VM; - reads it from standard input" };
        var to = new Option<string>("--output", "-o") { Description = "The state file to write when the script ends; - writes it to standard output", HelpName = "STATE.json", Required = true };
        var command = new Command("save", "Run a scenario script, then save the VM it ends with. Exit 0, 1 when an expectation failed, 2 on a script or file error");
        command.Arguments.Add(script);
        command.Options.Add(to);
        command.SetAction((parse, ct) => runHost(parse,
            (system, trace, c) => RunAsync(system, trace, null, parse.GetValue(script)!, parse.GetValue(to), output, error, c, input), ct));
        return command;
    }

    private static Command Restore(StateHostRunner runHost, TextWriter output, TextWriter error, Func<TextReader> input)
    {
        var state = new Argument<string>("STATE") { Description = "The state file to start from; - reads it from standard input" };
        var script = new Argument<string>("SCRIPT") { Description = "Scenario script (.vapic) to run on the restored VM; - reads it from standard input" };
        var to = new Option<string?>("--output", "-o") { Description = "Also save the VM when the script ends; - writes the state to standard output", HelpName = "STATE.json" };
        var command = new Command(
            "restore",
            "Restore a saved VM into a new one, then run a scenario script on it (from vCPU 0). Exit 0, 1 when an expectation failed, 2 on a script or file error");
        command.Arguments.Add(state);
        command.Arguments.Add(script);
        command.Options.Add(to);
        command.SetAction((parse, ct) => runHost(parse,
            (system, trace, c) => RunAsync(system, trace, parse.GetValue(state), parse.GetValue(script)!, parse.GetValue(to), output, error, c, input), ct));
        return command;
    }

    private static Command Show(TextWriter output, TextWriter error, Func<TextReader> input)
    {
        var state = new Argument<string>("STATE") { Description = "The state file; - reads it from standard input" };
        var command = new Command("show", "Print a saved state: the virtual time, pending EOI broadcasts, the lowest-priority previous winner and every APIC's registers");
        command.Arguments.Add(state);
        command.SetAction(parse => ShowState(parse.GetValue(state)!, output, error, input));
        return command;
    }

    private static Command ExportKvm(TextWriter output, TextWriter error, Func<TextReader> input)
    {
        var state = new Argument<string>("STATE") { Description = "The state file; - reads it from standard input" };
        var to = new Option<string>("--output", "-o") { Description = "Folder for vcpu-N.lapic, one 1 KiB struct kvm_lapic_state per vCPU", HelpName = "DIR", Required = true };
        var command = new Command(
            "export-kvm",
            "Write each APIC of a saved state in the layout KVM_GET_LAPIC returns (the first 1 KiB of the page, TMCCT from the timer, the whole 32-bit x2APIC ID)");
        command.Arguments.Add(state);
        command.Options.Add(to);
        command.SetAction(parse => ExportKvmFiles(parse.GetValue(state)!, parse.GetValue(to)!, output, error, input));
        return command;
    }

    private static Command ImportKvm(TextWriter output, TextWriter error)
    {
        var folder = new Argument<string>("DIR") { Description = "Folder of vcpu-N.lapic files, one 1 KiB struct kvm_lapic_state (KVM_GET_LAPIC) per vCPU, from vcpu-0.lapic on" };
        var to = new Option<string>("--output", "-o") { Description = "The state file to write; - writes it to standard output", HelpName = "STATE.json", Required = true };
        var mode = new Option<string>("--mode") { Description = "The APICs' mode, which the structure does not hold: xapic or x2apic", DefaultValueFactory = _ => "xapic" };
        mode.AcceptOnly("xapic", "x2apic");
        var timerHz = HzOption("--timer-hz", "APIC timer input clock of the VM the states come from, in Hz");
        var tscHz = HzOption("--tsc-hz", "TSC frequency of that VM, in Hz");
        var command = new Command(
            "import-kvm",
            "Build a state file from the APIC states KVM_GET_LAPIC returned (DIR/vcpu-N.lapic, as export-kvm writes them), at virtual time 0; restore it with 'state restore' or a script's 'restore'");
        command.Arguments.Add(folder);
        foreach (var option in new Option[] { to, mode, timerHz, tscHz })
        {
            command.Options.Add(option);
        }
        command.SetAction(parse => ImportKvmFiles(
            parse.GetValue(folder)!, parse.GetValue(to)!, parse.GetValue(mode) == "x2apic", parse.GetValue(timerHz), parse.GetValue(tscHz), output, error));
        return command;
    }

    private static Option<long> HzOption(string name, string description)
    {
        var option = new Option<long>(name) { Description = description, HelpName = "HZ", DefaultValueFactory = _ => ApicConfig.DefaultHz };
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && (!long.TryParse(r.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var hz) || hz < 1 || hz > VapicSettings.MaxHz))
            {
                r.AddError($"{name} must be a whole number of Hz from 1 to {VapicSettings.MaxHz}");
            }
        });
        return option;
    }

    private static int ImportKvmFiles(string folder, string path, bool x2Apic, long timerHz, long tscHz, TextWriter output, TextWriter error)
    {
        VmState state;
        IReadOnlyList<string> dropped;
        try
        {
            state = KvmLapicImport.Read(folder, x2Apic, timerHz, tscHz, out dropped);
        }
        catch (InvalidDataException e)
        {
            error.WriteLine(e.Message);
            return UsageError;
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            // The exception of a folder that is a file or is not there names a path it could not find: say what it is.
            var reason = File.Exists(folder) ? $"'{folder}' is a file, not a folder of vcpu-N.lapic files"
                : !Directory.Exists(folder) ? "no such folder"
                : e.Message;
            error.WriteLine($"{folder}: error: cannot read it: {reason}");
            return UsageError;
        }
        // What no APIC can hold is left out, not refused: said on standard error, vCPU by vCPU.
        foreach (var line in dropped)
        {
            error.WriteLine(line);
        }
        if (!TryWrite(state, path, output, error))
        {
            return UsageError;
        }
        // With the state on standard output, what is said about it goes to standard error.
        var report = path == Standard ? error : output;
        var inv = CultureInfo.InvariantCulture;
        var ids = string.Join(' ', state.Apics.Take(8).Select(a => Hex.Of(a.InitialApicId))) + (state.Apics.Length > 8 ? " ..." : "");
        report.WriteLine(string.Create(inv, $"{path}: {Plural.Count(state.Apics.Length, "vCPU")} from {folder} ({(x2Apic ? "x2apic" : "xapic")}, APIC IDs {ids}), at virtual time 0"));
        report.WriteLine("not in the KVM states, as at power-on: IA32_APIC_BASE 0xfee00000 enabled with BSP on vCPU 0, every vCPU running, TSC deadline 0, LINT pins low, no NMI, SMI or SIPI latched");
        return Success;
    }

    /// <summary>Runs a script (after restoring <paramref name="statePath"/>, if given) and saves to <paramref name="savePath"/>, if given.</summary>
    public static async Task<int> RunAsync(
        ActorSystem system, ITraceSink? trace, string? statePath, string scriptPath, string? savePath,
        TextWriter output, TextWriter error, CancellationToken cancellationToken, Func<TextReader>? input = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        input ??= () => Console.In;
        if (CommandLineFiles.SameFile(savePath, scriptPath))
        {
            await error.WriteLineAsync($"vapic: the state would be written over the script {scriptPath}: give -o another file").ConfigureAwait(false);
            return UsageError;
        }
        if (statePath == Standard && scriptPath == Standard)
        {
            await error.WriteLineAsync("vapic: the state and the script cannot both come from standard input (-): give one of them as a file").ConfigureAwait(false);
            return UsageError;
        }
        // With the state on standard output, the script's results and the summary go to standard error.
        var report = savePath == Standard ? error : output;
        IReadOnlyList<string> lines;
        (int Line, string Reason)? notText;
        try
        {
            // As 'vapic run' reads it: a script that is not text stops at the line that shows it.
            (lines, notText) = await ScenarioRunner.ReadScriptAsync(scriptPath, scriptPath == Standard ? input() : TextReader.Null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            await error.WriteLineAsync($"{scriptPath}: error: cannot read the script: {CommandLineFiles.ReadReason(scriptPath, e)}").ConfigureAwait(false);
            return UsageError;
        }

        var fromInput = scriptPath == Standard;
        await using var session = new ScenarioSession(system, fromInput ? ScenarioRunner.StandardInputVmName : Path.GetFileNameWithoutExtension(scriptPath), trace)
        {
            BaseDirectory = fromInput ? null : Path.GetDirectoryName(Path.GetFullPath(scriptPath)),
        };
        if (statePath is not null)
        {
            // Read (and check) the file first, so that what is wrong with it is reported against it, field by field.
            if (!TryRead(statePath, error, out var state, input))
            {
                return UsageError;
            }
            try
            {
                await session.RestoreStateAsync(state).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArgumentException or ScenarioException)
            {
                await error.WriteLineAsync($"{statePath}: error: restore: {e.Message}").ConfigureAwait(false);
                return UsageError;
            }
        }

        var run = await ScenarioRunner.ExecuteLinesAsync(session, scriptPath, lines, report, error, [], cancellationToken, notText: notText).ConfigureAwait(false);
        if (run.Errors > 0)
        {
            return UsageError;
        }

        if (savePath is not null)
        {
            var saved = await session.TakeStateAsync().ConfigureAwait(false);
            if (!TryWrite(saved, savePath, output, error))
            {
                return UsageError;
            }
            if (savePath != Standard)
            {
                await output.WriteLineAsync($"{savePath}: state saved").ConfigureAwait(false);
            }
        }
        await report.WriteLineAsync(run.SummaryLine).ConfigureAwait(false);
        return run.Failed > 0 ? Failed : Success;
    }

    private static int ShowState(string path, TextWriter output, TextWriter error, Func<TextReader> input)
    {
        if (!TryRead(path, error, out var state, input))
        {
            return UsageError;
        }
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv,
            $"VM {state.Spec.Name}: {Plural.Count(state.Spec.VcpuCount, "vCPU")} at {state.VirtualTimeNs} ns, timer {state.Spec.TimerHz} Hz, TSC {state.Spec.TscHz} Hz, pending EOI broadcasts {(state.PendingEoiBroadcasts.IsEmpty ? "none" : string.Join(' ', state.PendingEoiBroadcasts.Select(v => Hex.Of(v))))}, lowest-priority previous winner {(state.LowestPriorityPreviousWinner is uint winner ? Hex.Of(winner) : "none")}"));
        foreach (var apic in state.Apics)
        {
            using var model = VmStateFile.Model(state, apic);
            output.WriteLine(string.Create(inv, $"vCPU {apic.Index} APIC {Hex.Of(apic.InitialApicId)}"));
            foreach (var line in RegisterDump.Lines(apic, model.Snapshot(state.VirtualTimeNs)))
            {
                output.WriteLine(line);
            }
        }
        return Success;
    }

    private static int ExportKvmFiles(string path, string folder, TextWriter output, TextWriter error, Func<TextReader> input)
    {
        if (folder.Length == 0)
        {
            error.WriteLine("vapic: -o: the folder name is empty");
            return UsageError;
        }
        if (!TryRead(path, error, out var state, input))
        {
            return UsageError;
        }
        var regs = VmStateFile.ToKvmLapicStates(state);
        try
        {
            Directory.CreateDirectory(folder);
            for (var i = 0; i < regs.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(folder, KvmLapicImport.FileName(i)), regs[i]);
            }
            // The folder holds this VM alone: vcpu-N.lapic of a VM with more vCPUs, left there, would read back as this VM's.
            foreach (var (_, stale) in KvmLapicImport.VcpuFiles(folder).Where(f => f.Index >= regs.Count).ToList())
            {
                File.Delete(stale);
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{folder}: {Plural.Count(regs.Count, "file")} of {LocalApic.KvmLapicStateSize} bytes (vcpu-N.lapic)"));
            return Success;
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            // Said of the folder's first file: a folder that is a file, or has a file above it, is named as such.
            error.WriteLine($"{folder}: error: cannot write: {CommandLineFiles.WriteReason(Path.Combine(folder, KvmLapicImport.FileName(0)), e)}");
            return UsageError;
        }
    }

    /// <summary>Reads a state file (standard input for <c>-</c>), or says on <paramref name="error"/> why it cannot.</summary>
    internal static bool TryRead(string path, TextWriter error, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VmState? state, Func<TextReader>? input = null)
    {
        try
        {
            state = path == Standard ? VmStateFile.FromJson((input ?? (() => Console.In))().ReadToEnd()) : VmStateFile.Read(path);
            return true;
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e) || e is InvalidDataException)
        {
            // A file that is there but wrong says what is wrong with it (the field); one that cannot be read says why.
            var reason = e switch
            {
                InvalidDataException or ArgumentException => e.Message,
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                _ => "cannot read it: " + CommandLineFiles.ReadReason(path, e),
            };
            error.WriteLine($"{path}: error: {reason}");
            state = null;
            return false;
        }
    }

    /// <summary>Writes a state file (to <paramref name="output"/> for <c>-</c>), or says on <paramref name="error"/> why it cannot.</summary>
    private static bool TryWrite(VmState state, string path, TextWriter output, TextWriter error)
    {
        if (path == Standard)
        {
            output.WriteLine(VmStateFile.ToJson(state));
            return true;
        }
        try
        {
            CommandLineFiles.CreateFolders(path);
            VmStateFile.Write(state, path);
            return true;
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            error.WriteLine($"{path}: error: cannot write the state: {CommandLineFiles.WriteReason(path, e)}");
            return false;
        }
    }
}
