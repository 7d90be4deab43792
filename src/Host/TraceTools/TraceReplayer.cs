using System.Globalization;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Rebuilds APIC state from a message trace alone. Each APIC handles its messages one at a time and numbers its
/// trace events in that order (<c>Seq</c>), so feeding a fresh <see cref="LocalApic"/> the inputs it recorded —
/// guest accesses, deliveries, acknowledges, EOIs, pin changes, local sources, timer expiries — in <c>Seq</c>
/// order, each at its recorded virtual time, gives back its page byte for byte. Events that are consequences
/// (IPIs sent, timers armed, local interrupts fired, EOI broadcasts, identity changes) are skipped; recorded
/// read results and acknowledged vectors are checked against the replay.
/// </summary>
public static class TraceReplayer
{
    /// <summary>The event the vAPIC writes first: its configuration (<c>Value</c> = initial APIC ID, <c>Detail</c> = the rest).</summary>
    public const string ApicCreatedEvent = "ApicCreated";

    /// <summary>The event a local source writes before it raises its interrupt (<c>Register</c> = its LVT).</summary>
    public const string LocalRaisedEvent = "LocalRaised";

    /// <summary>The event an APIC writes when its state is replaced by a saved one.</summary>
    public const string RestoredEvent = "Restored";

    /// <summary>
    /// The event the service writes for each request when it traces requests (<c>docs/service.md</c>): not an APIC's
    /// event. Its <c>Seq</c> numbers the session's requests, not the APIC's events, so it is left out of the replay.
    /// </summary>
    public const string ServiceRequestEvent = "ServiceRequest";

    private const int MaxReportedMismatches = 10;

    /// <summary>The highest initial APIC ID an xAPIC-mode APIC can have.</summary>
    private const uint MaxXApicId = 0xFE;

    private static readonly HashSet<string> Deliveries = ["Accepted", "Coalesced", "Dropped", "Nmi", "Smi", "Init", "Sipi", "Msi"];

    /// <summary>Replays every APIC that <paramref name="options"/> selects.</summary>
    public static ReplayResult Replay(IReadOnlyList<TraceRecord> events, ReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        var vms = new List<string>();
        var byApic = new Dictionary<(string Vm, uint ApicId), List<TraceRecord>>();
        var vmEnd = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Event == ServiceRequestEvent)
            {
                continue;
            }
            if (!vmEnd.TryGetValue(e.Vm, out var end))
            {
                vms.Add(e.Vm);
            }
            vmEnd[e.Vm] = Math.Max(end, e.VirtualTimeNs);
            if (!byApic.TryGetValue((e.Vm, e.ApicId), out var list))
            {
                byApic[(e.Vm, e.ApicId)] = list = new List<TraceRecord>();
            }
            list.Add(e);
        }

        var apics = new List<ReplayedApic>();
        var skipped = new List<ReplaySkippedLine>();
        foreach (var vm in vms)
        {
            if (options.Vm is not null && options.Vm != vm)
            {
                continue;
            }
            var ids = byApic.Keys.Where(k => k.Vm == vm).Select(k => k.ApicId).Order().ToList();
            foreach (var id in ids)
            {
                if (options.ApicId is uint wanted && wanted != id)
                {
                    continue;
                }
                var list = byApic[(vm, id)];
                list.Sort(static (a, b) => a.Seq != b.Seq ? a.Seq.CompareTo(b.Seq) : a.LineNumber.CompareTo(b.LineNumber));
                apics.Add(ReplayOne(vm, id, ids.IndexOf(id), list, options, vmEnd[vm], skipped));
            }
        }
        skipped.Sort(static (a, b) => a.LineNumber.CompareTo(b.LineNumber));
        return new ReplayResult(apics, skipped);
    }

    private static ReplayedApic ReplayOne(
        string vm, uint apicId, int rank, List<TraceRecord> events, ReplayOptions options, long vmEnd, List<ReplaySkippedLine> skipped)
    {
        var notes = new List<string>();
        var config = ConfigFromTrace(events, apicId, notes, skipped) ?? GuessConfig(events, apicId, rank, notes);
        using var apic = new LocalApic(config);
        var effects = NullApicEffects.Instance;
        int inputs = 0, mismatches = 0;
        long lastSeq = 0;
        var now = 0L;
        var previousSeq = 0L;

        foreach (var e in events)
        {
            if (options.UntilSeq is long until && e.Seq > until)
            {
                break;
            }
            if (e.Seq == previousSeq)
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"line {e.LineNumber}: Seq {e.Seq} repeats: more than one event has it, the replay may differ"));
            }
            else if (e.Seq != previousSeq + 1 && previousSeq != 0)
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"line {e.LineNumber}: Seq jumps from {previousSeq} to {e.Seq}: events are missing (a trace filter?), the replay may differ"));
            }
            previousSeq = e.Seq;
            lastSeq = e.Seq;
            now = Math.Max(now, e.VirtualTimeNs);
            var at = e.VirtualTimeNs;
            string? mismatch = null;
            var applied = true;
            switch (e.Event)
            {
                case "MmioRead" when Address(e) is (ulong address, int size):
                    mismatch = CheckRead(e, apic.ReadMmio(address, size, at, effects));
                    break;
                case "MmioWrite" when Address(e) is (ulong address, int size) && e.Value is ulong value:
                    apic.WriteMmio(address, size, value, at, effects);
                    break;
                case "MsrRead" when TraceDetail.Number(e.Detail, "msr") is ulong msr:
                    mismatch = CheckRead(e, apic.ReadMsr((uint)msr, at, effects));
                    break;
                case "MsrWrite" when TraceDetail.Number(e.Detail, "msr") is ulong msr && e.Value is ulong value:
                    apic.WriteMsr((uint)msr, value, at, effects);
                    break;
                case "MmioRead" or "MmioWrite" or "MsrRead" or "MsrWrite":
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber}: {e.Event} without its address or value: skipped"));
                    applied = false;
                    break;
                case "Acknowledged":
                    var ack = apic.Acknowledge(at, effects);
                    if ((ack.IsOk ? (int?)ack.Value : null) != e.Vector)
                    {
                        mismatch = "acknowledged " + (ack.IsOk ? Hex.Of(ack.Value) : ack.ToString()) + ", the trace says " + (e.Vector is int v ? Hex.Of((ulong)v) : e.Detail);
                    }
                    break;
                case "Eoi":
                    apic.Eoi(at, effects);
                    break;
                case "Lint" when e.Register is "LINT0" or "LINT1":
                    apic.SetLint(e.Register == "LINT0" ? 0 : 1, e.Value is not (null or 0), at, effects);
                    break;
                case var name when Deliveries.Contains(name) && e.Register is null && e.Value is ulong packed:
                    var outcome = apic.Accept(PackedMessage.Unpack(packed), at, effects);
                    if (e.Detail is not null && e.Detail != outcome.ToString())
                    {
                        mismatch = "delivery ended " + outcome + ", the trace says " + e.Detail;
                    }
                    break;
                case LocalRaisedEvent when LvtSourceOf(e.Register) is LvtSource source:
                    apic.RaiseLocal(source, at, effects);
                    break;
                case "TimerFired" when e.Value is not null:
                    apic.ExpireTimer(at, effects);
                    break;
                case RestoredEvent:
                    var saved = options.SavedState?.Apics.FirstOrDefault(s => s.Index == config.Index && s.InitialApicId == config.InitialApicId);
                    if (saved is null)
                    {
                        notes.Add(string.Create(CultureInfo.InvariantCulture,
                            $"line {e.LineNumber} (seq {e.Seq}): restored from a saved state that is not given (--state): the replay goes on from the state before it"));
                        applied = false;
                    }
                    else
                    {
                        apic.Restore(saved, at, effects);
                    }
                    break;
                default:
                    applied = false;
                    break;
            }
            if (applied)
            {
                inputs++;
            }
            if (mismatch is not null)
            {
                mismatches++;
                if (mismatches <= MaxReportedMismatches)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber} (seq {e.Seq}): {mismatch}"));
                }
            }
        }
        if (mismatches > MaxReportedMismatches)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{mismatches - MaxReportedMismatches} more mismatches"));
        }

        var end = options.AtNs is long stateAt ? Math.Max(now, stateAt) : options.UntilSeq is null ? Math.Max(now, vmEnd) : now;
        return new ReplayedApic(vm, apicId, config, inputs, lastSeq, end, mismatches, apic.Save(end), apic.Snapshot(end),
            apic.ToKvmLapicState(end), notes);
    }

    private static string? CheckRead(TraceRecord e, AccessResult result)
    {
        var recorded = TraceDetail.Get(e.Detail, "result");
        var replayed = result.ToString();
        return recorded is null || string.Equals(recorded, replayed, StringComparison.OrdinalIgnoreCase)
            ? null
            : e.Event + " " + e.Register + " gave " + replayed + ", the trace says " + recorded;
    }

    private static (ulong Address, int Size)? Address(TraceRecord e) =>
        TraceDetail.Number(e.Detail, "addr") is ulong address && TraceDetail.Number(e.Detail, "size") is ulong size && size <= 8
            ? (address, (int)size)
            : null;

    /// <summary>
    /// The configuration the vAPIC recorded in its first event, if the trace has it. An event whose configuration
    /// no APIC can have (a clock of 0 Hz, an xAPIC ID above 0xFE) is added to <paramref name="skipped"/> instead.
    /// </summary>
    private static ApicConfig? ConfigFromTrace(List<TraceRecord> events, uint apicId, List<string> notes, List<ReplaySkippedLine> skipped)
    {
        var created = events.FirstOrDefault(e => e.Event == ApicCreatedEvent);
        if (created is null)
        {
            return null;
        }
        var d = created.Detail;
        if (TraceDetail.Number(d, "index") is not ulong index || index > int.MaxValue)
        {
            notes.Add($"line {created.LineNumber}: {ApicCreatedEvent} without index: configuration guessed");
            return null;
        }
        var x2Apic = Flag(d, "x2apic") ?? false;
        var timerProblem = Hz(d, "timer-hz", out var timerHz);
        var tscProblem = Hz(d, "tsc-hz", out var tscHz);
        var problem = timerProblem ?? tscProblem
            ?? (!x2Apic && apicId > MaxXApicId ? $"APIC ID {Hex.Of(apicId)} with x2apic=false: an xAPIC ID is at most {Hex.Of(MaxXApicId)}" : null);
        if (problem is not null)
        {
            skipped.Add(new ReplaySkippedLine(created.LineNumber, $"{ApicCreatedEvent}: {problem}: skipped"));
            return null;
        }
        return new ApicConfig(
            (int)index,
            apicId,
            IsBsp: Flag(d, "bsp") ?? index == 0,
            StartInX2Apic: x2Apic,
            StartRunning: Flag(d, "running") ?? true,
            TimerHz: timerHz,
            TscHz: tscHz);
    }

    /// <summary>A clock rate of <c>ApicCreated</c>'s detail (the default when absent), or why it is not one.</summary>
    private static string? Hz(string? detail, string key, out long hz)
    {
        hz = ApicConfig.DefaultHz;
        var text = TraceDetail.Get(detail, key);
        if (text is null)
        {
            return null;
        }
        if (TraceDetail.Number(detail, key) is not ulong value || value is 0 or > long.MaxValue)
        {
            return $"{key}={text} is not a clock rate (a number of Hz above 0)";
        }
        hz = (long)value;
        return null;
    }

    /// <summary>
    /// A configuration for a trace without <c>ApicCreated</c>: vCPU index = rank of the APIC ID in the VM, BSP =
    /// the first, x2APIC when the first access is an x2APIC MSR (or the ID does not fit xAPIC), waiting for SIPI when a SIPI starts it before
    /// any INIT, default clocks.
    /// </summary>
    private static ApicConfig GuessConfig(List<TraceRecord> events, uint apicId, int rank, List<string> notes)
    {
        var firstAccess = events.FirstOrDefault(e => e.Event is "MmioRead" or "MmioWrite" or "MsrRead" or "MsrWrite");
        var x2Apic = apicId > MaxXApicId || (firstAccess is { Event: "MsrRead" or "MsrWrite" }
            && TraceDetail.Number(firstAccess.Detail, "msr") is >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast);
        var firstStart = events.FirstOrDefault(e => e.Event is "Init" or "Sipi");
        var waiting = firstStart is { Event: "Sipi", Detail: nameof(AcceptOutcome.Started) };
        notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"{(events.Exists(e => e.Event == ApicCreatedEvent) ? ApicCreatedEvent + " not usable" : "no " + ApicCreatedEvent + " event")}: assumed vCPU {rank}{(rank == 0 ? " (BSP)" : "")}, {(x2Apic ? "x2apic" : "xapic")}, {(waiting ? "waiting for SIPI" : "running")}, timer and TSC at {ApicConfig.DefaultHz} Hz"));
        return new ApicConfig(rank, apicId, rank == 0, x2Apic, !waiting);
    }

    private static bool? Flag(string? detail, string key) => TraceDetail.Get(detail, key) switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => null,
    };

    /// <summary>The local source whose LVT a trace register name is.</summary>
    public static LvtSource? LvtSourceOf(string? register) => register switch
    {
        "LVTT" => LvtSource.Timer,
        "LVTTHMR" => LvtSource.Thermal,
        "LVTPC" => LvtSource.PerformanceCounter,
        "LVT0" => LvtSource.Lint0,
        "LVT1" => LvtSource.Lint1,
        "LVTERR" => LvtSource.Error,
        "LVTCMCI" => LvtSource.Cmci,
        _ => null,
    };
}
