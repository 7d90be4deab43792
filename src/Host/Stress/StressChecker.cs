using System.Globalization;
using VApicActors.Host.Cli;
using VApicActors.Actors;
using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>
/// Checks the invariants of a finished, drained run against the vAPICs' counters and snapshots, the guests'
/// ledgers and the system events. A violation names the VM, the vCPU and, when the trace was kept, the first
/// offending trace sequence numbers.
/// </summary>
internal sealed class StressChecker
{
    private const int MaxNamed = 5;

    private readonly List<StressVm> _vms;
    private readonly List<ApicCounters[]> _counters;
    private readonly List<ApicSnapshot[]> _snapshots;
    private readonly SystemEventCounts _events;
    private readonly StressTraceRecorder? _recorder;

    public StressChecker(List<StressVm> vms, List<ApicCounters[]> counters, List<ApicSnapshot[]> snapshots,
        SystemEventCounts events, StressTraceRecorder? recorder)
    {
        _vms = vms;
        _counters = counters;
        _snapshots = snapshots;
        _events = events;
        _recorder = recorder;
    }

    public IReadOnlyList<InvariantResult> Check() =>
    [
        FixedAccounted(),
        LowestPriorityAccounted(),
        NmisAccounted(),
        AcceptedTakenAndEoied(),
        IrrAndIsrEmpty(),
        CallFunctionWorkDone(),
        new InvariantResult("no-dead-letters", _events.DeadLetters == 0,
            _events.DeadLetters == 0 ? "0 dead letters" : Plural.Count(_events.DeadLetters, "dead letter") + "; first: " + _events.FirstDeadLetter),
        NoFailures(),
    ];

    /// <summary>
    /// What fault injection did, when it was armed (on the fault vCPU of the first VM): the fixed IPI it lost, for
    /// the checker to find, or that the vCPU sent no fixed IPI that reached an APIC, so nothing was lost. Null when
    /// it was not armed.
    /// </summary>
    public string? FaultInjection()
    {
        var settings = _vms[0].World.Settings;
        if (!settings.LoseOneIpi)
        {
            return null;
        }
        var sender = settings.FaultVcpu;
        var lost = _counters[0][sender].IpisLost;
        var ipi = _vms[0].World.Ledger.Lost;
        if (ipi is null || lost == 0)
        {
            // (The APIC loses the IPI the guest chose, so the two agree; what the APIC counted decides.)
            return lost == 0
                ? "armed on " + Name(0, sender) + ", which sent no fixed IPI that reached an APIC: nothing was lost, so the checker had nothing to find"
                : "lost " + Plural.Count(lost, "fixed IPI") + " sent by " + Name(0, sender);
        }
        var meant = ipi.Targets.Length <= 3
            ? string.Join(", ", ipi.Targets.Select(t => Name(0, t)))
            : Plural.Count(ipi.Targets.Length, "vCPU");
        return "lost the fixed IPI 0x" + ipi.Vector.ToString("X2", CultureInfo.InvariantCulture) + " (" + ipi.Destination + ") that "
            + Name(0, ipi.Sender) + " sent in its operation " + ipi.Operation + ", meant for " + meant;
    }

    private InvariantResult FixedAccounted()
    {
        long sent = 0, arrived = 0, accepted = 0, coalesced = 0, lost = 0;
        var dropped = new Dictionary<AcceptOutcome, long>();
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            var ledger = _vms[v].World.Ledger;
            for (var i = 0; i < _counters[v].Length; i++)
            {
                var c = _counters[v][i];
                sent += ledger.ExpectedFixed[i];
                arrived += c.FixedArrived;
                lost += c.IpisLost;
                accepted += ApicCounters.Of(c.FixedOutcomes, AcceptOutcome.Accepted);
                coalesced += ApicCounters.Of(c.FixedOutcomes, AcceptOutcome.Coalesced);
                foreach (var outcome in Enum.GetValues<AcceptOutcome>())
                {
                    if (outcome is not (AcceptOutcome.Accepted or AcceptOutcome.Coalesced) && c.FixedOutcomes[(int)outcome] > 0)
                    {
                        dropped[outcome] = dropped.GetValueOrDefault(outcome) + c.FixedOutcomes[(int)outcome];
                    }
                }
                if (c.FixedArrived != ledger.ExpectedFixed[i] && violations.Count < MaxNamed)
                {
                    violations.Add(Name(v, i) + ": " + ledger.ExpectedFixed[i] + " sent to it, " + c.FixedArrived + " accounted for"
                        + Locate(v, i));
                }
            }
        }
        var detail = Plural.Count(sent, "fixed message") + " sent to destinations (IPIs and MSIs); " + accepted + " accepted, " + coalesced
            + " coalesced, " + (dropped.Count == 0 ? "0 dropped" : string.Join(", ", dropped.Select(d => d.Value + " dropped (" + d.Key + ")")))
            + (lost > 0 ? "; fault injection lost " + Plural.Count(lost, "IPI") : "");
        var holds = arrived == sent && violations.Count == 0;
        return new InvariantResult("fixed-interrupts-accounted", holds, holds ? detail : detail + ". Violations: " + string.Join("; ", violations));
    }

    /// <summary>
    /// Names, for each sender, the first fixed IPI it sent to vCPU <paramref name="target"/> that the target never
    /// received. A delivery carries the <c>Seq</c> of the send it came from (<c>SourceSeq</c>), so each send is matched
    /// with its own delivery, however many IPIs with the same vector the sender sent.
    /// </summary>
    private string Locate(int v, int target)
    {
        if (_recorder is null)
        {
            return " (trace-check is off: no trace sequence numbers)";
        }
        var vm = _vms[v];
        var table = vm.World.Table;
        var targetId = _vms[v].World.Settings.ApicIdOf(target);
        var received = _recorder.Of(vm.Name, targetId);
        var receiverFull = _recorder.IsFull(vm.Name, targetId);
        var targets = new List<int>();
        var found = new List<string>();
        for (var s = 0; s < vm.Cpus.Length && found.Count < MaxNamed; s++)
        {
            var senderId = vm.World.Settings.ApicIdOf(s);
            var fromSender = new Dictionary<long, TraceRecord>();
            foreach (var r in received)
            {
                if (r.Kind == TraceRecordKind.Received && r.Source == table[s].ApicId && StressWorld.FixedVectors.Contains(r.Vector))
                {
                    fromSender.TryAdd(r.SourceSeq, r);
                }
            }
            TraceRecord? previous = null;
            foreach (var sent in _recorder.Of(vm.Name, senderId))
            {
                if (sent.Kind != TraceRecordKind.FixedSent || !StressWorld.FixedVectors.Contains(sent.Vector))
                {
                    continue;
                }
                targets.Clear();
                if (!TryResolve(vm.World, s, sent, targets) || !targets.Contains(target))
                {
                    continue;
                }
                if (fromSender.TryGetValue(sent.Seq, out var delivery))
                {
                    previous = delivery;
                    continue;
                }
                var next = fromSender.Values.Where(r => r.SourceSeq > sent.Seq).OrderBy(r => r.SourceSeq).FirstOrDefault();
                if (receiverFull && next.SourceSeq == 0)
                {
                    // The target's kept events ended before this send's delivery could show: no later delivery from this
                    // sender was kept either, so the send may well have arrived. Only a send followed by a kept later
                    // delivery from the same sender is known to be unmatched.
                    continue;
                }
                found.Add("first unmatched: vector 0x" + sent.Vector.ToString("X2", CultureInfo.InvariantCulture) + " sent by "
                    + Name(v, s) + " at trace seq " + sent.Seq + " (" + sent.Destination + ")"
                    + (previous is { } p ? ", after the delivery at trace seq " + p.Seq + " of " + Name(v, target) : ", before any delivery from it")
                    + (next.SourceSeq > 0 ? "; next delivery from it at trace seq " + next.Seq : ""));
                break;
            }
        }
        var truncated = _recorder.Truncated ? " (the kept trace was truncated: raise trace-check-capacity)" : "";
        return found.Count == 0 ? "; no unmatched send found in the kept trace" + truncated : "; " + string.Join("; ", found) + truncated;
    }

    private static bool TryResolve(StressWorld world, int sender, TraceRecord sent, List<int> targets)
    {
        var destination = sent.Destination ?? "";
        var shorthand = destination switch
        {
            "self" => DestinationShorthand.Self,
            "all" => DestinationShorthand.AllIncludingSelf,
            "all-but-self" => DestinationShorthand.AllExcludingSelf,
            _ => DestinationShorthand.None,
        };
        uint field = 0;
        var logical = destination.StartsWith("logical", StringComparison.Ordinal);
        if (shorthand == DestinationShorthand.None)
        {
            var hex = destination[(destination.IndexOf("0x", StringComparison.Ordinal) + 2)..];
            if (!uint.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out field))
            {
                return false;
            }
        }
        var request = new InterruptRequest(DeliveryMode.Fixed, sent.Vector, TriggerMode.Edge, false, logical, shorthand, field, world.X2Apic);
        world.Table.Resolve(request, sender, targets);
        return true;
    }

    private InvariantResult LowestPriorityAccounted()
    {
        long sent = 0, arrived = 0;
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            var vmSent = _vms[v].World.Ledger.LowestPrioritySent;
            var vmArrived = _counters[v].Sum(c => c.LowestPriorityArrived);
            sent += vmSent;
            arrived += vmArrived;
            if (vmSent != vmArrived && violations.Count < MaxNamed)
            {
                var vm = v;
                violations.Add((_vms.Count > 1 ? "VM " + v + ": " : "") + vmSent + " sent, " + vmArrived + " received"
                    + (_recorder is null
                        ? " (trace-check is off: no trace sequence numbers)"
                        : LocateUnmatched(_recorder, _vms[v].Name, ApicIdsOf(v), i => Name(vm, i), TraceRecordKind.LowestPrioritySent)));
            }
        }
        var detail = Plural.Count(sent, "lowest-priority IPI") + " sent, " + arrived + " received by exactly one winner each";
        return new InvariantResult("lowest-priority-accounted", violations.Count == 0,
            violations.Count == 0 ? detail : Plural.Count(sent, "lowest-priority IPI") + " sent, " + arrived + " received. Violations: "
                + string.Join("; ", violations));
    }

    private List<uint> ApicIdsOf(int v) => Enumerable.Range(0, _vms[v].Cpus.Length).Select(_vms[v].World.Settings.ApicIdOf).ToList();

    /// <summary>
    /// Names the first lowest-priority IPI (<paramref name="kind"/> <see cref="TraceRecordKind.LowestPrioritySent"/>)
    /// or NMI (<see cref="TraceRecordKind.NmiSent"/>; the stress workload sends each to one vCPU) of each sender in VM
    /// <paramref name="vm"/> that did not reach exactly one APIC: each delivery carries the <c>Seq</c> of the send it
    /// came from (<c>SourceSeq</c>), so the deliveries of each send are counted over every APIC of the VM.
    /// </summary>
    /// <param name="apicIds">The initial APIC ID of each vCPU, by index.</param>
    /// <param name="name">How a vCPU is named, by index.</param>
    internal static string LocateUnmatched(StressTraceRecorder recorder, string vm, IReadOnlyList<uint> apicIds, Func<int, string> name,
        TraceRecordKind kind)
    {
        var nmi = kind == TraceRecordKind.NmiSent;
        var deliveries = new Dictionary<(uint Source, long SourceSeq), List<(int Vcpu, long Seq)>>();
        var anyFull = false;
        for (var t = 0; t < apicIds.Count; t++)
        {
            anyFull |= recorder.IsFull(vm, apicIds[t]);
            foreach (var r in recorder.Of(vm, apicIds[t]))
            {
                if ((nmi ? r.Kind == TraceRecordKind.NmiReceived : r.Kind == TraceRecordKind.Received && r.Vector == StressWorld.LowestPriorityVector)
                    && r.SourceSeq > 0)
                {
                    var key = (r.Source, r.SourceSeq);
                    if (!deliveries.TryGetValue(key, out var list))
                    {
                        deliveries[key] = list = [];
                    }
                    list.Add((t, r.Seq));
                }
            }
        }
        var found = new List<string>();
        for (var s = 0; s < apicIds.Count && found.Count < MaxNamed; s++)
        {
            foreach (var sent in recorder.Of(vm, apicIds[s]))
            {
                if (sent.Kind != kind)
                {
                    continue;
                }
                var got = deliveries.TryGetValue((apicIds[s], sent.Seq), out var list) ? list : [];
                // (With a receiver's kept events cut short, a send received by none may have been received after that.)
                if (got.Count == 1 || (got.Count == 0 && anyFull))
                {
                    continue;
                }
                found.Add("first unmatched: " + (nmi ? "NMI" : "vector 0x" + sent.Vector.ToString("X2", CultureInfo.InvariantCulture)) + " sent by " + name(s)
                    + " at trace seq " + sent.Seq + " (" + sent.Destination + "), "
                    + (got.Count == 0
                        ? "received by no APIC"
                        : "received by " + got.Count + " APICs: " + string.Join(", ", got.Select(g => name(g.Vcpu) + " at trace seq " + g.Seq))));
                break;
            }
        }
        var truncated = anyFull ? " (the kept trace was truncated: raise trace-check-capacity)" : "";
        return found.Count == 0 ? "; no unmatched send found in the kept trace" + truncated : "; " + string.Join("; ", found) + truncated;
    }

    private InvariantResult NmisAccounted()
    {
        long sent = 0, delivered = 0;
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            for (var i = 0; i < _counters[v].Length; i++)
            {
                var expected = _vms[v].World.Ledger.ExpectedNmi[i];
                var got = ApicCounters.Of(_counters[v][i].OtherOutcomes, AcceptOutcome.NmiDelivered);
                sent += expected;
                delivered += got;
                if (expected != got && violations.Count < MaxNamed)
                {
                    violations.Add(Name(v, i) + ": " + expected + " sent, " + got + " delivered");
                }
            }
        }
        var detail = Plural.Count(sent, "NMI") + " sent, " + delivered + " delivered";
        if (violations.Count > 0)
        {
            // Where in the trace: the first NMI of each sender that reached no APIC (or more than one), VM by VM.
            var where = new List<string>();
            for (var v = 0; v < _vms.Count && _recorder is not null; v++)
            {
                var vm = v;
                var located = LocateUnmatched(_recorder, _vms[v].Name, ApicIdsOf(v), i => Name(vm, i), TraceRecordKind.NmiSent);
                if (!located.StartsWith("; no unmatched send", StringComparison.Ordinal))
                {
                    where.Add(located[2..]);
                }
            }
            violations.Add(_recorder is null ? "trace-check is off: no trace sequence numbers"
                : where.Count == 0 ? "no unmatched send found in the kept trace" + (_recorder.Truncated ? " (the kept trace was truncated: raise trace-check-capacity)" : "")
                : string.Join("; ", where));
        }
        return new InvariantResult("nmis-accounted", violations.Count == 0, violations.Count == 0 ? detail : detail + ". Violations: " + string.Join("; ", violations));
    }

    private InvariantResult AcceptedTakenAndEoied()
    {
        long accepted = 0, acked = 0, eoied = 0;
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            for (var i = 0; i < _counters[v].Length; i++)
            {
                var c = _counters[v][i];
                accepted += c.Accepted;
                acked += c.Acknowledged;
                eoied += c.Eoied;
                if ((c.Accepted != c.Acknowledged || c.Acknowledged != c.Eoied) && violations.Count < MaxNamed)
                {
                    var s = _snapshots[v][i];
                    violations.Add(Name(v, i) + ": " + c.Accepted + " accepted, " + c.Acknowledged + " acknowledged, " + c.Eoied + " EOI'd"
                        + (s.Irr.IsEmpty && s.Isr.IsEmpty ? "; IRR and ISR are empty" : "; " + LocateLeft(v, i)));
                }
            }
        }
        var detail = Plural.Count(accepted, "interrupt") + " accepted into IRR (IPIs, MSIs, timers), " + acked + " acknowledged, " + eoied + " EOI'd after the final drain";
        return new InvariantResult("accepted-acknowledged-and-eoied", violations.Count == 0,
            violations.Count == 0 ? detail : detail + ". Violations: " + string.Join("; ", violations));
    }

    private InvariantResult IrrAndIsrEmpty()
    {
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            for (var i = 0; i < _snapshots[v].Length; i++)
            {
                var s = _snapshots[v][i];
                if ((!s.Irr.IsEmpty || !s.Isr.IsEmpty) && violations.Count < MaxNamed)
                {
                    violations.Add(Name(v, i) + ": IRR " + s.Irr + ", ISR " + s.Isr + "; " + LocateLeft(v, i));
                }
            }
        }
        var count = _snapshots.Sum(s => s.Length);
        return new InvariantResult("irr-and-isr-empty", violations.Count == 0,
            violations.Count == 0 ? (count == 1 ? "IRR and ISR empty on the one vCPU" : "IRR and ISR empty on all " + count + " vCPUs") : string.Join("; ", violations));
    }

    /// <summary>What left vectors in IRR or ISR of vCPU <paramref name="i"/> of VM <paramref name="v"/> after the drain.</summary>
    private string LocateLeft(int v, int i) =>
        LocateLeft(_recorder, _vms[v].Name, _vms[v].World.Settings.ApicIdOf(i), _snapshots[v][i].Irr, _snapshots[v][i].Isr);

    /// <summary>
    /// Names, for each vector left in IRR or ISR of one APIC after the drain, the trace event that left it there: the
    /// last acceptance of a vector still pending, the last acknowledge of one still in service.
    /// </summary>
    internal static string LocateLeft(StressTraceRecorder? recorder, string vm, uint apicId, VectorSet irr, VectorSet isr)
    {
        if (recorder is null)
        {
            return "trace-check is off: no trace sequence numbers";
        }
        var parts = new List<string>();
        foreach (var vector in irr.Vectors().Take(MaxNamed))
        {
            var hex = "0x" + vector.ToString("X2", CultureInfo.InvariantCulture);
            parts.Add(recorder.LastAccepted(vm, apicId, vector) is var (seq, name, source)
                ? hex + " pending since trace seq " + seq + " (" + AcceptanceText(name, source) + "), never acknowledged"
                : hex + " pending, no acceptance of it traced");
        }
        foreach (var vector in isr.Vectors().Take(MaxNamed))
        {
            var hex = "0x" + vector.ToString("X2", CultureInfo.InvariantCulture);
            parts.Add(recorder.LastAcknowledged(vm, apicId, vector) is long seq
                ? hex + " in service since its acknowledge at trace seq " + seq + ", never EOI'd"
                : hex + " in service, no acknowledge of it traced");
        }
        return string.Join("; ", parts);
    }

    private static string AcceptanceText(string name, uint? source) => name switch
    {
        "Msi" => "an MSI accepted",
        "TimerFired" => "the timer fired",
        "Lint" => "a LINT pin fired",
        _ when source is uint s => "accepted from APIC 0x" + s.ToString("X", CultureInfo.InvariantCulture),
        _ => "a local interrupt accepted",
    };

    private InvariantResult CallFunctionWorkDone()
    {
        long queued = 0, ran = 0;
        var violations = new List<string>();
        for (var v = 0; v < _vms.Count; v++)
        {
            var ledger = _vms[v].World.Ledger;
            for (var i = 0; i < ledger.Queued.Length; i++)
            {
                queued += ledger.Queued[i];
                ran += ledger.Ran[i];
                if ((ledger.Queued[i] != ledger.Ran[i] || !ledger.Queues[i].IsEmpty) && violations.Count < MaxNamed)
                {
                    var left = ledger.Queues[i].Take(3).Select(w => "queued by " + Name(v, w.Sender) + " in its operation " + w.SenderOperation);
                    violations.Add(Name(v, i) + ": " + ledger.Queued[i] + " queued, " + ledger.Ran[i] + " ran; left: " + string.Join(", ", left));
                }
            }
        }
        var detail = Plural.Count(queued, "call-function item") + " queued, " + ran + " ran";
        return new InvariantResult("call-function-work-done", violations.Count == 0,
            violations.Count == 0 ? detail : detail + ". Lost IPIs left work undone: " + string.Join("; ", violations));
    }

    private InvariantResult NoFailures()
    {
        var failures = _vms.Sum(vm => vm.Cpus.Sum(c => c.Failures));
        var holds = failures == 0 && _events.Errors == 0;
        var detail = Plural.Count(_events.Errors, "error") + " logged (unhandled exceptions, failed or restarted actors), " + Plural.Count(failures, "access", "accesses") + " answered with a failure";
        return new InvariantResult("no-unhandled-exceptions-or-restarts", holds,
            holds || _events.FirstError is null ? detail : detail + "; first: " + _events.FirstError);
    }

    private string Name(int v, int i) =>
        (_vms.Count > 1 ? "VM " + v + " " : "") + "vCPU " + i + " (APIC 0x" + _vms[v].World.Table[i].ApicId.ToString("X", CultureInfo.InvariantCulture) + ")";
}
