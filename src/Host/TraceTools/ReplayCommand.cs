using System.Globalization;
using VApicActors.Actors;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic replay TRACE [--vm V] [--apic ID] [--until SEQ] [-o PAGE.bin]</c>: rebuilds APIC state from a trace
/// (see <see cref="TraceReplayer"/>) and prints each APIC's registers, or writes the one selected APIC's 4 KiB
/// page to a file.
/// </summary>
public static class ReplayCommand
{
    public const int Success = 0;

    /// <summary>The replay ran, but lines were not trace events (or not usable ones) or the replay disagreed with recorded results.</summary>
    public const int Divergent = 1;

    /// <summary>The trace could not be read, the selection is empty or ambiguous for <c>-o</c>, or the page could not be written.</summary>
    public const int UsageError = 2;

    public static int Run(string tracePath, string? vm, uint? apicId, long? untilSeq, string? pagePath, TextWriter stdout, TextWriter stderr, string? statePath = null, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        foreach (var input in new[] { tracePath, statePath })
        {
            if (CommandLineFiles.SameFile(input, pagePath))
            {
                stderr.WriteLine($"vapic: the page would be written over {input}, which the replay reads: give -o another file");
                return UsageError;
            }
        }
        if (tracePath == "-" && statePath == "-")
        {
            stderr.WriteLine("vapic: the trace and the --state file cannot both be read from standard input: give one of them as a file");
            return UsageError;
        }
        VmState? saved = null;
        if (statePath is not null && !StateCommands.TryRead(statePath, stderr, out saved))
        {
            return UsageError;
        }
        // Each APIC is fed its events as they are read; the events are not kept.
        using var replay = new TraceReplay(new ReplayOptions(vm, apicId, untilSeq, SavedState: saved));
        // The trace's VMs, so that a --vm the trace does not have is said with those it has, as trace ipis says it.
        var vms = new TraceVms(vm);
        void Add(TraceRecord e)
        {
            vms.Add(e.Vm);
            replay.Add(e);
        }
        if (!TraceFiles.TryStream(tracePath, stdin, stderr, TraceProgress.ForConsole(stderr), keepProperties: false, Add, out var skippedLines))
        {
            return UsageError;
        }
        var result = replay.Finish();
        foreach (var skipped in result.SkippedLines)
        {
            stderr.WriteLine(new TraceReadError(tracePath, skipped.LineNumber, skipped.Reason).ToString());
        }
        if (result.Apics.Count == 0)
        {
            stderr.WriteLine(vms.Missing(tracePath) ?? $"vapic: {tracePath} has no events of {Selection(vm, apicId)}");
            return UsageError;
        }
        if (pagePath is not null && result.Apics.Count != 1)
        {
            stderr.WriteLine($"vapic: -o writes one APIC's page, but {result.Apics.Count} APICs match ({(vm is null && apicId is null ? "no --vm or --apic given" : Selection(vm, apicId))}): choose one with --vm and --apic");
            return UsageError;
        }

        var inv = CultureInfo.InvariantCulture;
        var mismatches = 0;
        foreach (var apic in result.Apics)
        {
            mismatches += apic.Mismatches;
            foreach (var note in apic.Notes)
            {
                stderr.WriteLine($"{tracePath}: {apic.Vm} APIC {Hex.Of(apic.ApicId)}: {note}");
            }
            stdout.WriteLine(string.Create(inv,
                $"VM {apic.Vm} APIC {Hex.Of(apic.ApicId)} (vCPU {apic.Config.Index}): {Plural.Count(apic.Inputs, "input")} replayed up to seq {apic.LastSeq}, at {apic.NowNs} ns"));
            if (pagePath is null)
            {
                foreach (var line in RegisterDump.Lines(apic.State, apic.Snapshot))
                {
                    stdout.WriteLine(line);
                }
            }
        }

        if (pagePath is not null)
        {
            try
            {
                CommandLineFiles.CreateFolders(pagePath);
                File.WriteAllBytes(pagePath, [.. result.Apics[0].State.Page]);
            }
            catch (Exception e) when (CommandLineFiles.IsFileError(e))
            {
                stderr.WriteLine($"{pagePath}: error: cannot write the page: {CommandLineFiles.WriteReason(pagePath, e)}");
                return UsageError;
            }
            stdout.WriteLine($"{pagePath}: 4096-byte register page written");
        }
        return skippedLines > 0 || result.SkippedLines.Count > 0 || mismatches > 0 ? Divergent : Success;
    }

    /// <summary>What --vm and --apic select, as <c>trace ipis</c> names it: <c>APIC 0x7</c>, <c>VM boot-2</c>, <c>APIC 0x7 (VM boot-2)</c>.</summary>
    private static string Selection(string? vm, uint? apicId) => (vm, apicId) switch
    {
        (null, null) => "any APIC",
        (null, uint id) => "APIC " + Hex.Of(id),
        (string v, null) => "VM " + v,
        (string v, uint id) => "APIC " + Hex.Of(id) + " (VM " + v + ")",
    };
}
