using System.Globalization;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Rebuilds APIC state from a message trace alone. Each APIC handles its messages one at a time and numbers its
/// trace events in that order (<c>Seq</c>), so feeding a fresh <see cref="LocalApic"/> the inputs it recorded —
/// guest accesses, deliveries, acknowledges, EOIs, pin changes, local sources, timer expiries — in <c>Seq</c>
/// order, each at its recorded virtual time, gives back its page byte for byte. Events that are consequences
/// (IPIs sent, timers armed, local interrupts fired, EOI broadcasts, identity changes) are skipped; recorded
/// read and write results, EOI results, acknowledged vectors, delivery outcomes, local interrupts and timer expiries are checked against the replay.
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

    /// <summary>Replays every APIC that <paramref name="options"/> selects, reading <paramref name="events"/> once.</summary>
    public static ReplayResult Replay(IEnumerable<TraceRecord> events, ReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var replay = new TraceReplay(options);
        foreach (var e in events)
        {
            replay.Add(e);
        }
        return replay.Finish();
    }

    /// <summary>Replays a list of one APIC's events, sorted by Seq, whose configuration has to be guessed or read from anywhere in it.</summary>
    internal static ReplayedApic ReplayOne(
        string vm, uint apicId, int rank, List<TraceRecord> events, ReplayOptions options, long vmEnd, List<ReplaySkippedLine> skipped)
    {
        var notes = new List<string>();
        var config = ConfigFromTrace(events, apicId, notes, skipped) ?? GuessConfig(events, apicId, rank, notes);
        using var run = new ApicRun(vm, apicId, config, options, notes, skipped);
        foreach (var e in events)
        {
            run.Feed(e);
        }
        return run.Finish(vmEnd);
    }

    /// <summary>
    /// The configuration of an APIC whose first event is <paramref name="created"/>, when that is a usable
    /// <c>ApicCreated</c> event; otherwise null (the APIC's events are then needed to guess it).
    /// </summary>
    internal static ApicConfig? ConfigFromFirstEvent(TraceRecord created, uint apicId)
    {
        if (created.Event != ApicCreatedEvent)
        {
            return null;
        }
        var notes = new List<string>();
        var skipped = new List<ReplaySkippedLine>();
        var config = ConfigFromTrace([created], apicId, notes, skipped);
        return notes.Count == 0 && skipped.Count == 0 ? config : null;
    }

    /// <summary>One APIC's replay: a fresh register model fed its events one at a time, in Seq order.</summary>
    /// <param name="skipped">Where the events it cannot use go (an access no guest can make), in the order they come.</param>
    internal sealed class ApicRun(string vm, uint apicId, ApicConfig config, ReplayOptions options, List<string> notes, List<ReplaySkippedLine> skipped) : IDisposable
    {
        private readonly LocalApic _apic = new(config);
        private readonly ReplayOptions _options = options;
        private readonly List<string> _notes = notes;
        private readonly List<ReplaySkippedLine> _skipped = skipped;
        private int _inputs;
        private int _mismatches;
        private long _lastSeq;
        private long _now;
        private long _previousSeq;
        private bool _stopped;
        private readonly LocalFires _fires = new();
        private readonly List<AcceptOutcome> _timerFires = [];
        private (long Due, AcceptOutcome Outcome, ulong Count)? _timerRest;

        public ApicConfig Config { get; } = config;

        public void Feed(TraceRecord e)
        {
            if (_stopped)
            {
                return;
            }
            if (_options.UntilSeq is long until && e.Seq > until)
            {
                _stopped = true;
                return;
            }
            var effects = _fires;
            if (e.Seq == _previousSeq)
            {
                _notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"line {e.LineNumber}: Seq {e.Seq} repeats: more than one event has it, the replay may differ"));
            }
            else if (_previousSeq != 0 && e.Seq < _previousSeq)
            {
                _notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"line {e.LineNumber}: Seq goes back from {_previousSeq} to {e.Seq}: the trace is not in the order the APIC wrote it, the replay may differ"));
            }
            else if (e.Seq != _previousSeq + 1 && _previousSeq != 0)
            {
                _notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"line {e.LineNumber}: Seq jumps from {_previousSeq} to {e.Seq}: events are missing (a trace filter?), the replay may differ"));
            }
            _previousSeq = e.Seq;
            _lastSeq = e.Seq;
            _now = Math.Max(_now, e.VirtualTimeNs);
            var at = e.VirtualTimeNs;
            string? mismatch = null;
            var applied = true;
            switch (e.Event)
            {
                case "MmioRead" when Address(e) is (ulong address, int size):
                    mismatch = CheckRead(e, _apic.ReadMmio(address, size, at, effects));
                    break;
                case "MmioWrite" when Address(e) is (ulong address, int size) && e.Value is ulong value:
                    mismatch = CheckRead(e, _apic.WriteMmio(address, size, value, at, effects));
                    break;
                case "MsrRead" when Msr(e) is uint msr:
                    mismatch = CheckRead(e, _apic.ReadMsr(msr, at, effects));
                    break;
                case "MsrWrite" when Msr(e) is uint msr && e.Value is ulong value:
                    mismatch = CheckRead(e, _apic.WriteMsr(msr, value, at, effects));
                    break;
                case "MmioRead" or "MmioWrite":
                    _skipped.Add(new ReplaySkippedLine(e.LineNumber,
                        $"{e.Event} without its address, a size of 1, 2, 4 or 8 bytes{(e.Event == "MmioWrite" ? " or its value" : "")}: skipped"));
                    applied = false;
                    break;
                case "MsrRead" or "MsrWrite":
                    _skipped.Add(new ReplaySkippedLine(e.LineNumber, $"{e.Event} without its MSR (32 bits){(e.Event == "MsrWrite" ? " or its value" : "")}: skipped"));
                    applied = false;
                    break;
                case "Acknowledged":
                    var ack = _apic.Acknowledge(at, effects);
                    if ((ack.IsOk ? (int?)ack.Value : null) != e.Vector)
                    {
                        mismatch = "acknowledged " + (ack.IsOk ? Hex.Of(ack.Value) : ack.ToString()) + ", the trace says " + (e.Vector is int v ? Hex.Of((ulong)v) : e.Detail);
                    }
                    break;
                case "Eoi":
                    var eoi = _apic.Eoi(at, effects).ToString();
                    if (e.Detail is not null && !string.Equals(e.Detail, eoi, StringComparison.OrdinalIgnoreCase))
                    {
                        mismatch = "EOI gave " + eoi + ", the trace says " + e.Detail;
                    }
                    break;
                case "Lint" when e.Register is "LINT0" or "LINT1":
                    _apic.SetLint(e.Register == "LINT0" ? 0 : 1, e.Value is not (null or 0), at, effects);
                    break;
                case var name when IpiSendIndex.IsMessageDelivery(e) && e.Value is ulong packed:
                    var outcome = _apic.Accept(PackedMessage.Unpack(packed), at, effects);
                    if (e.Detail is not null && e.Detail != outcome.ToString())
                    {
                        mismatch = "delivery ended " + outcome + ", the trace says " + e.Detail;
                    }
                    break;
                case LocalRaisedEvent when LvtSourceOf(e.Register) is LvtSource source:
                    var fired = _fires.Pending.Count;
                    var raised = _apic.RaiseLocal(source, at, effects);
                    if (_fires.Pending.Count == fired)
                    {
                        // A hardware-disabled APIC fires nothing: the vAPIC writes the drop itself.
                        _fires.Add(source, raised);
                    }
                    break;
                case "Lint" when e.Register is "LVT0" or "LVT1":
                case "TimerFired" when e.Value is null:
                case "Accepted" or "Coalesced" or "Dropped" or "Nmi" or "Smi" or "Init" or "Sipi" when LvtSourceOf(e.Register) is not null:
                    mismatch = CheckLocalFire(e);
                    applied = false;
                    break;
                case "TimerFired" when e.Value is ulong due:
                    mismatch = ExpireTimer(e, (long)due, at);
                    break;
                case RestoredEvent:
                    var saved = _options.SavedState?.Apics.FirstOrDefault(s => s.Index == Config.Index && s.InitialApicId == Config.InitialApicId);
                    if (saved is null && _options.SavedState is not null)
                    {
                        mismatch = string.Create(CultureInfo.InvariantCulture,
                            $"restored, but the --state file has no vCPU {Config.Index} with APIC ID {Hex.Of(Config.InitialApicId)}: it is not the one this VM was restored from; the replay goes on from the state before the restore");
                        applied = false;
                    }
                    else if (saved is null)
                    {
                        _notes.Add(string.Create(CultureInfo.InvariantCulture,
                            $"line {e.LineNumber} (seq {e.Seq}): restored from a saved state that is not given (--state): the replay goes on from the state before it"));
                        applied = false;
                    }
                    else
                    {
                        _apic.Restore(saved, at, effects);
                        mismatch = CheckRestored(e, saved);
                    }
                    break;
                default:
                    applied = false;
                    break;
            }
            if (applied)
            {
                _inputs++;
            }
            if (mismatch is not null)
            {
                _mismatches++;
                if (_mismatches <= MaxReportedMismatches)
                {
                    _notes.Add(string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber} (seq {e.Seq}): {mismatch}"));
                }
            }
        }

        /// <summary>
        /// A <c>TimerFired</c> event with a due time: the expiries due by <paramref name="at"/> are taken, as the vAPIC took
        /// them, and what the timer LVT did is compared with the trace, as a delivery's outcome is. The vAPIC writes one
        /// event for the expiries one call took (<c>expiries=N</c> when N &gt; 1), or two when the first set the IRR bit the
        /// rest found set: the second is compared with what the replay's call left for it.
        /// </summary>
        private string? ExpireTimer(TraceRecord e, long due, long at)
        {
            var (recorded, recordedCount) = TimerOutcome(e.Detail);
            if (_timerRest is { } rest && rest.Due == due)
            {
                _timerRest = null;
                return CompareTimer(due, rest.Outcome, rest.Count, recorded, recordedCount);
            }
            _timerRest = null;
            var dueBefore = _apic.TimerDue;
            _timerFires.Clear();
            _fires.TimerExpiry = _timerFires;
            var taken = _apic.ExpireTimers(at, _fires);
            _fires.TimerExpiry = null;
            if (taken == 0)
            {
                return recorded is null or NotDue
                    ? null
                    : string.Create(CultureInfo.InvariantCulture,
                        $"timer expiry due at {due} ns: the replay's timer is {(dueBefore is long d ? $"due at {d} ns" : "not armed")}, the trace says {e.Detail}");
            }
            if (dueBefore != due)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"timer expiry due at {due} ns: the replay's timer was due at {dueBefore} ns");
            }
            if (_timerFires.Count == 0 || recorded is null)
            {
                return null;
            }
            var first = _timerFires[0];
            var last = _timerFires[^1];
            if (first != last && taken > 1)
            {
                // The vAPIC writes the first fire apart, then the rest.
                _timerRest = (due, last, taken - 1);
                return CompareTimer(due, first, 1, recorded, recordedCount);
            }
            return CompareTimer(due, last, taken, recorded, recordedCount);
        }

        /// <summary>
        /// A local interrupt the vAPIC fired through an LVT (a consequence, written after the input that caused it)
        /// against the next one the replay's inputs fired.
        /// </summary>
        private string? CheckLocalFire(TraceRecord e)
        {
            if (!_fires.Pending.TryDequeue(out var fire))
            {
                return $"{e.Register} fired ({e.Detail}), the replay's did not";
            }
            var register = ApicOffsets.Name(ApicOffsets.OfLvt(fire.Source));
            return register == e.Register && (e.Detail is null || e.Detail == fire.Outcome.ToString())
                ? null
                : $"{register} fired ({fire.Outcome}), the trace says {e.Register} ({e.Detail})";
        }

        private static string? CompareTimer(long due, AcceptOutcome outcome, ulong count, string? recorded, ulong recordedCount) =>
            recorded is null || (recorded == outcome.ToString() && count == recordedCount)
                ? null
                : string.Create(CultureInfo.InvariantCulture,
                    $"timer expiry due at {due} ns ended {outcome}{(count > 1 ? $" expiries={count}" : "")}, the trace says {recorded}{(recordedCount > 1 ? $" expiries={recordedCount}" : "")}");

        /// <summary>A <c>TimerFired</c> detail's outcome (its first word) and its count of expiries (<c>expiries=N</c>, 1 without it).</summary>
        private static (string? Outcome, ulong Count) TimerOutcome(string? detail)
        {
            if (string.IsNullOrEmpty(detail))
            {
                return (null, 1);
            }
            return (TraceDetail.FirstWord(detail), TraceDetail.Number(detail, "expiries") is ulong n and > 0 ? n : 1);
        }

        /// <summary>What the <c>Restored</c> event recorded (IA32_APIC_BASE, run state, timer) against the state file's APIC.</summary>
        private static string? CheckRestored(TraceRecord e, ApicState saved)
        {
            var differences = new List<string>();
            if (e.Value is ulong apicBase && apicBase != saved.ApicBase)
            {
                differences.Add($"IA32_APIC_BASE {Hex.Of(apicBase)}, the state file has {Hex.Of(saved.ApicBase)}");
            }
            if (TraceDetail.Get(e.Detail, "run-state") is string runState && runState != saved.RunState.ToString())
            {
                differences.Add($"run state {runState}, the state file has {saved.RunState}");
            }
            if (TraceDetail.Get(e.Detail, "timer-due-in-ns") is string dueIn
                && long.TryParse(dueIn, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var dueInNs) && dueInNs != saved.TimerDueInNs)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture,
                    $"timer due in {(dueInNs < 0 ? "none" : dueInNs + " ns")}, the state file has {(saved.TimerDueInNs < 0 ? "none" : saved.TimerDueInNs + " ns")}"));
            }
            return differences.Count == 0
                ? null
                : "the trace restored " + string.Join("; ", differences) + ": the --state file is not the one this VM was restored from";
        }

        /// <summary>The APIC's state at the end (<paramref name="vmEnd"/>: its VM's last event time), after its last event fed.</summary>
        public ReplayedApic Finish(long vmEnd)
        {
            if (_mismatches > MaxReportedMismatches)
            {
                _notes.Add(string.Create(CultureInfo.InvariantCulture, $"{_mismatches - MaxReportedMismatches} more mismatches"));
            }
            var end = _options.AtNs is long stateAt ? Math.Max(_now, stateAt) : _options.UntilSeq is null ? Math.Max(_now, vmEnd) : _now;
            return new ReplayedApic(vm, apicId, Config, _inputs, _lastSeq, end, _mismatches, _apic.Save(end), _apic.Snapshot(end),
                _apic.ToKvmLapicState(end), _notes);
        }

        public void Dispose() => _apic.Dispose();
    }

    private const string NotDue = "not-due";

    /// <summary>
    /// Effects that keep the local interrupts the replay fires, in order, for the events the vAPIC wrote of them;
    /// during a timer expiry the timer LVT's go to <see cref="TimerExpiry"/> instead, since its <c>TimerFired</c>
    /// event stands for them.
    /// </summary>
    private sealed class LocalFires : ApicEffectsBase
    {
        /// <summary>At most this many are kept: a trace without the events of them (a filter) must not make them pile up.</summary>
        private const int MaxPending = 256;

        public Queue<(LvtSource Source, AcceptOutcome Outcome)> Pending { get; } = new();

        public List<AcceptOutcome>? TimerExpiry { get; set; }

        public void Add(LvtSource source, AcceptOutcome outcome)
        {
            if (Pending.Count == MaxPending)
            {
                Pending.Dequeue();
            }
            Pending.Enqueue((source, outcome));
        }

        public override void LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome)
        {
            if (source == LvtSource.Timer && TimerExpiry is { } expiry)
            {
                expiry.Add(outcome);
            }
            else
            {
                Add(source, outcome);
            }
        }
    }

    private static string? CheckRead(TraceRecord e, AccessResult result)
    {
        var recorded = TraceDetail.Get(e.Detail, "result");
        var replayed = result.ToString();
        return recorded is null || string.Equals(recorded, replayed, StringComparison.OrdinalIgnoreCase)
            ? null
            : e.Event + " " + e.Register + " gave " + replayed + ", the trace says " + recorded;
    }

    /// <summary>An MMIO event's address and size, when its detail has both and the size is one an access can have.</summary>
    private static (ulong Address, int Size)? Address(TraceRecord e) =>
        TraceDetail.Number(e.Detail, "addr") is ulong address && TraceDetail.Number(e.Detail, "size") is ulong size and (1 or 2 or 4 or 8)
            ? (address, (int)size)
            : null;

    /// <summary>An MSR event's MSR, when its detail has one of 32 bits (RDMSR and WRMSR take ECX).</summary>
    private static uint? Msr(TraceRecord e) =>
        TraceDetail.Number(e.Detail, "msr") is ulong msr and <= uint.MaxValue ? (uint)msr : null;

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
