using System.Collections.Immutable;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>How one destination's part in an IPI ended.</summary>
public enum IpiEnd
{
    /// <summary>Taken and EOI'd (itself, or the interrupt it coalesced into).</summary>
    Eoi,

    /// <summary>An NMI, SMI, INIT or Start-up message that did what it does (its outcome says what).</summary>
    Delivered,

    /// <summary>Discarded by an SDM rule (its outcome says which).</summary>
    Dropped,

    /// <summary>Pending or in service when the APIC was reset, hardware-disabled or had its state replaced.</summary>
    Lost,

    /// <summary>Still pending in IRR when the trace ended.</summary>
    PendingAtEnd,

    /// <summary>Acknowledged but not EOI'd when the trace ended.</summary>
    InServiceAtEnd,

    /// <summary>The IPI reached no APIC at all (no destination took it).</summary>
    NoDestination,
}

/// <summary>An IPI as its sender's <c>IpiSent</c> event recorded it.</summary>
/// <param name="Number">The send's number in the trace, from 0.</param>
/// <param name="Message">The message each destination takes (a lowest-priority IPI's winner takes it as fixed).</param>
/// <param name="Mode">The ICR's delivery mode (the event's detail).</param>
public sealed record IpiSend(int Number, string Vm, uint Sender, long Seq, long TimeNs, InterruptMessage Message, DeliveryMode Mode, string Destination)
{
    /// <summary>The routing identity of each APIC of the VM when the IPI was sent, as far as the trace shows it; null when it does not.</summary>
    internal ImmutableSortedDictionary<uint, ApicIdentity>? Apics { get; init; }
}

/// <summary>What routing matched an APIC on when an IPI was sent: its mode, the ID routing uses, its LDR and DFR.</summary>
internal sealed record ApicIdentity(uint ApicId, uint RoutingId, ApicMode Mode, uint Ldr, uint Dfr);

/// <summary>
/// One destination's part in one IPI, from the delivery to its end: the delivery's outcome, and for an interrupt that
/// reached the IRR (or coalesced into one there), its acknowledge and EOI. For <see cref="IpiEnd.NoDestination"/> the
/// receiver and delivery are unset.
/// </summary>
public sealed class IpiStory(IpiSend send, uint? receiver, long deliverySeq, long deliveryNs, string outcome)
{
    public IpiSend Send { get; } = send;
    public uint? Receiver { get; } = receiver;
    public long DeliverySeq { get; } = deliverySeq;
    public long DeliveryNs { get; } = deliveryNs;

    /// <summary>The delivery's outcome as the trace names it (<c>Accepted</c>, <c>Coalesced</c>, <c>DroppedMasked</c>, <c>InitReset</c>, …).</summary>
    public string Outcome { get; } = outcome;

    /// <summary>For a coalesced delivery: what had set the IRR bit it found set (<c>IPI 0x1 #46</c>, <c>LVTT #12</c>, <c>MSI #30</c>).</summary>
    public string? CoalescedInto { get; internal set; }

    public long? AckSeq { get; internal set; }
    public long? AckNs { get; internal set; }
    public long? EoiSeq { get; internal set; }
    public long? EoiNs { get; internal set; }
    public IpiEnd End { get; internal set; }

    /// <summary>
    /// For <see cref="IpiEnd.PendingAtEnd"/>: why the core could not take it, as far as the trace shows the APIC's TPR and
    /// ISR (<c>blocked by TPR 0x50: its priority class 4 is not above PPR 0x50</c>); null when the trace does not show them all.
    /// </summary>
    public string? PendingBecause { get; internal set; }

    /// <summary>
    /// For <see cref="IpiEnd.NoDestination"/>: why no APIC matched, from the APICs' identities when it was sent
    /// (<c>no APIC has ID 0x7</c>, the LDRs a logical destination was matched against); null when the trace does not show them.
    /// </summary>
    public string? NoDestinationBecause { get; internal set; }

    /// <summary>For <see cref="IpiEnd.Lost"/>: what lost it (<c>INIT #50</c>, <c>hardware disable #61</c>, <c>restore #3</c>).</summary>
    public string? LostAt { get; internal set; }

    /// <summary>
    /// For a drop the start-up protocol expects: why (<c>started by SIPI #40</c>). The INIT-SIPI-SIPI sequence sends a
    /// second Start-up IPI in case the first was missed; an AP that the first one started drops it
    /// (<c>DroppedNotWaitingForSipi</c>), as the SDM says it must.
    /// </summary>
    public string? ExpectedBecause { get; internal set; }
}

/// <summary>
/// Which IPIs to follow: those of one VM, sent by or to one APIC (named by its initial APIC ID), with one vector.
/// Null selects all.
/// </summary>
public sealed record IpiSelection(string? Vm = null, uint? Apic = null, int? Vector = null)
{
    /// <summary>A send: of the VM, with the vector, sent by the APIC.</summary>
    public bool Matches(IpiSend send) =>
        (Vm is null || send.Vm == Vm) && (Vector is null || send.Message.Vector == Vector) && (Apic is null || send.Sender == Apic);

    /// <summary>A destination's part: of the VM, with the vector, sent by or to the APIC.</summary>
    public bool Matches(IpiStory story) =>
        (Vm is null || story.Send.Vm == Vm) && (Vector is null || story.Send.Message.Vector == Vector)
        && (Apic is null || story.Send.Sender == Apic || story.Receiver == Apic);
}

/// <summary>Counts of what became of the IPIs a trace followed, for those selected.</summary>
public sealed class IpiFollowSummary
{
    /// <summary>IPIs sent (with an APIC selected: sent by it).</summary>
    public long Sends { get; internal set; }

    /// <summary>Destinations' parts in them, ended (with an APIC selected: those it sent or received).</summary>
    public long Deliveries { get; internal set; }

    /// <summary>Of the deliveries taken to EOI, those that coalesced into an interrupt already pending.</summary>
    public long Coalesced { get; internal set; }
    public Dictionary<IpiEnd, long> Ends { get; } = Enum.GetValues<IpiEnd>().ToDictionary(e => e, _ => 0L);

    /// <summary>Dropped deliveries by the outcome that dropped them.</summary>
    public SortedDictionary<string, long> DroppedBy { get; } = new(StringComparer.Ordinal);

    /// <summary>Of the dropped deliveries, those the start-up protocol expects (<see cref="IpiStory.ExpectedBecause"/>).</summary>
    public long ExpectedDrops { get; internal set; }

    /// <summary>IPI deliveries whose send is not in the trace (not followed).</summary>
    public long Unlinked { get; internal set; }

    /// <summary>Virtual ns from send to acceptance (accepted or coalesced) of fixed and lowest-priority deliveries.</summary>
    public List<long> ToAcceptance { get; } = [];

    /// <summary>Virtual ns from send to the EOI that ended it, of the deliveries taken to EOI.</summary>
    public List<long> ToEoi { get; } = [];
}

/// <summary>
/// Follows every IPI of a trace from its send to what each destination made of it: accepted into the IRR,
/// coalesced into an interrupt already pending there, dropped by an SDM rule, or delivered as an NMI, SMI, INIT or
/// Start-up message; then, for an interrupt in the IRR, its acknowledge and the EOI that ends it. Events are passed
/// one at a time in the order the trace was written; a destination's story is handed on as soon as it ends.
/// </summary>
/// <remarks>
/// What is kept: each APIC's interrupts pending and in service with the stories riding on them (an IRR bit carries the
/// delivery that set it and every one that coalesced into it; an acknowledge moves them to service; the EOI, which ends
/// the highest vector in service, ends them all), and of each send what reporting an IPI that reached nobody needs.
/// INIT, a hardware disable and a state restore empty the APIC's IRR and ISR: what was in them is lost. An IRR bit set
/// by the APIC's own LVTs or by an MSI is followed too, so that an IPI coalescing into it says so.
/// </remarks>
public sealed class IpiFollower(IpiSelection select, Action<IpiStory> ended)
{
    private readonly IpiSendIndex _index = new();
    private readonly TracedEois _eois = new();
    private readonly List<IpiSend> _sends = [];
    private readonly List<bool> _delivered = [];
    private readonly Dictionary<(string Vm, uint ApicId), ApicState> _apics = new();
    private readonly Dictionary<string, string> _destinations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImmutableSortedDictionary<uint, ApicIdentity>> _identities = new(StringComparer.Ordinal);
    private readonly IpiFollowSummary _summary = new();
    private bool _finished;

    /// <summary>Takes the next trace event, in the order the trace was written.</summary>
    public void Add(TraceRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (_finished)
        {
            throw new InvalidOperationException("the trace has been followed to its end");
        }
        if (e.Event == TraceReplayer.ServiceRequestEvent)
        {
            return;
        }
        _index.Note(e);
        var apic = ApicOf(e);
        if (e.Event == "ModeChanged" && Enum.TryParse<ApicMode>(TraceDetail.Get(e.Detail, "mode"), out var routing))
        {
            NoteIdentity(e.Vm, new ApicIdentity(e.ApicId, (uint)(e.Value ?? e.ApicId), routing,
                (uint)(TraceDetail.Number(e.Detail, "ldr") ?? 0), (uint)(TraceDetail.Number(e.Detail, "dfr") ?? 0xF)));
        }
        NoteRunState(apic, e);
        if (_eois.IsEoi(e))
        {
            // An EOI request, or the guest's write to the EOI register.
            EndHighestInService(apic, e);
            return;
        }
        switch (e.Event)
        {
            case "ApicCreated":
                apic.PriorityKnown = true;
                apic.Tpr = 0;
                apic.Mode = TraceDetail.Get(e.Detail, "x2apic") == "true" ? ApicMode.X2Apic : ApicMode.XApic;
                var id = (uint)(e.Value ?? e.ApicId);
                NoteIdentity(e.Vm, apic.Mode == ApicMode.X2Apic
                    ? new ApicIdentity(e.ApicId, id, ApicMode.X2Apic, DestinationMatcher.X2ApicLdr(id), 0xF)
                    : new ApicIdentity(e.ApicId, id, ApicMode.XApic, 0, 0xF));
                break;
            case "ModeChanged" when Enum.TryParse<ApicMode>(TraceDetail.Get(e.Detail, "mode"), out var changed) && changed != ApicMode.Disabled:
                apic.Mode = changed;
                break;
            case "MmioWrite" or "MsrWrite" when TracedPriority.TprWritten(e, apic.Mode) is uint tpr:
                apic.Tpr = tpr;
                break;
            case "IpiSent" when e.Value is ulong packed:
                _index.AddSend(e);
                var destination = e.Destination ?? "?";
                destination = _destinations.TryGetValue(destination, out var interned) ? interned : _destinations[destination] = destination;
                var message = PackedMessage.Unpack(packed);
                var mode = Enum.TryParse<DeliveryMode>(e.Detail, out var sent) && Enum.IsDefined(sent) ? sent : message.Mode;
                _sends.Add(new IpiSend(_sends.Count, e.Vm, e.ApicId, e.Seq, e.VirtualTimeNs, message, mode, destination)
                {
                    Apics = _identities.GetValueOrDefault(e.Vm),
                });
                _delivered.Add(false);
                break;
            case "Acknowledged" when e.Vector is int vector:
                var carrier = apic.Irr.Remove(vector, out var pending) ? pending : new Carrier(null);
                foreach (var story in carrier.Riders)
                {
                    story.AckSeq = e.Seq;
                    story.AckNs = e.VirtualTimeNs;
                }
                apic.Isr.Add((vector, carrier));
                break;
            case "ModeChanged" when TraceDetail.Get(e.Detail, "mode") == nameof(ApicMode.Disabled):
                LoseAll(apic, "hardware disable #" + e.Seq);
                apic.Tpr = 0;
                apic.Mode = ApicMode.Disabled;
                break;
            case TraceReplayer.RestoredEvent:
                LoseAll(apic, "restore #" + e.Seq);
                apic.StartedBy = null;
                // The restored TPR, IRR and ISR are in the state file, not in the trace.
                apic.PriorityKnown = false;
                break;
            case var _ when IpiSendIndex.IsMessageDelivery(e):
                Deliver(apic, e);
                break;
            case var _ when e.Register is not null && e.Vector is int local && Outcome(e) == nameof(AcceptOutcome.Accepted):
                // One of the APIC's own LVTs set an IRR bit.
                SetIrr(apic, local, new Carrier(e.Register + " #" + e.Seq));
                break;
        }
    }

    /// <summary>
    /// Ends the stories still open (pending, then in service, in the order of their sends) and the sends no APIC took,
    /// handing each on; returns the counts. Call once, after the last event.
    /// </summary>
    public IpiFollowSummary Finish()
    {
        if (_finished)
        {
            throw new InvalidOperationException("the trace has been followed to its end");
        }
        _finished = true;
        var open = new List<IpiStory>();
        foreach (var apic in _apics.Values)
        {
            foreach (var (vector, carrier) in apic.Irr)
            {
                var because = carrier.Riders.Count == 0 ? null : WhyPending(apic, vector);
                foreach (var story in carrier.Riders)
                {
                    story.PendingBecause = because;
                    open.Add(Ending(story, IpiEnd.PendingAtEnd));
                }
            }
            foreach (var (_, carrier) in apic.Isr)
            {
                open.AddRange(carrier.Riders.Select(s => Ending(s, IpiEnd.InServiceAtEnd)));
            }
        }
        foreach (var story in open.OrderBy(s => s.Send.Number).ThenBy(s => s.Receiver))
        {
            Report(story);
        }
        for (var i = 0; i < _sends.Count; i++)
        {
            if (select.Matches(_sends[i]))
            {
                _summary.Sends++;
            }
            if (!_delivered[i])
            {
                Report(new IpiStory(_sends[i], null, 0, 0, "") { End = IpiEnd.NoDestination, NoDestinationBecause = WhyNoApic(_sends[i]) });
            }
        }
        return _summary;
    }

    private void Deliver(ApicState apic, TraceRecord e)
    {
        var outcome = Outcome(e);
        var vector = e.Vector ?? (int)(e.Value!.Value & 0xFF);
        if (e.Source is not uint source)
        {
            // An MSI: not an IPI, but what it sets in the IRR can carry IPIs that coalesce into it.
            if (outcome == nameof(AcceptOutcome.Accepted))
            {
                SetIrr(apic, vector, new Carrier("MSI #" + e.Seq));
            }
            return;
        }
        var number = _index.Find(e, source);
        if (number is not int n)
        {
            _summary.Unlinked++;
            if (outcome == nameof(AcceptOutcome.Accepted))
            {
                SetIrr(apic, vector, new Carrier("IPI from " + Hex.Of(source) + " (its send is not in the trace)"));
            }
            else if (outcome == nameof(AcceptOutcome.InitReset))
            {
                // The reset is the receiver's, whoever sent it: what is pending or in service after it, and why, start afresh.
                ResetByInit(apic, e);
            }
            return;
        }
        _delivered[n] = true;
        var send = _sends[n];
        var story = new IpiStory(send, e.ApicId, e.Seq, e.VirtualTimeNs, outcome);
        switch (outcome)
        {
            case nameof(AcceptOutcome.Accepted):
                var carrier = new Carrier("IPI " + Hex.Of(send.Sender) + " #" + send.Seq);
                carrier.Riders.Add(story);
                SetIrr(apic, vector, carrier);
                break;
            case nameof(AcceptOutcome.Coalesced):
                if (!apic.Irr.TryGetValue(vector, out var into))
                {
                    apic.Irr[vector] = into = new Carrier(null);
                }
                story.CoalescedInto = into.Origin ?? "an IRR bit set before the trace shows";
                into.Riders.Add(story);
                break;
            case nameof(AcceptOutcome.DroppedNotWaitingForSipi) when apic.StartedBy is string started:
                story.ExpectedBecause = "started by " + started;
                Report(Ending(story, IpiEnd.Dropped));
                break;
            default:
                Report(Ending(story, outcome.StartsWith("Dropped", StringComparison.Ordinal) ? IpiEnd.Dropped : IpiEnd.Delivered));
                break;
        }
        if (outcome == nameof(AcceptOutcome.InitReset))
        {
            ResetByInit(apic, e);
        }
        else if (outcome == nameof(AcceptOutcome.Started))
        {
            apic.StartedBy = "SIPI " + Hex.Of(send.Sender) + " #" + send.Seq;
        }
    }

    /// <summary>
    /// An INIT that reset the APIC: IRR and ISR cleared (what they held is lost at it), TPR 0, no longer started by a
    /// Start-up IPI. TPR and ISR are then known from here on, even where the trace did not show them before (cut at the
    /// front, or since a restore). (Whether the vCPU runs is followed by <see cref="NoteRunState"/>.)
    /// </summary>
    private void ResetByInit(ApicState apic, TraceRecord e)
    {
        LoseAll(apic, "INIT #" + e.Seq);
        apic.StartedBy = null;
        apic.Tpr = 0;
        apic.PriorityKnown = true;
    }

    /// <summary>
    /// Follows whether the vCPU runs: <c>ApicCreated</c>'s <c>running=</c>, a restore's <c>run-state=</c>, an INIT
    /// (an application processor then waits for a Start-up IPI, the BSP runs on), a Start-up IPI that started it, and
    /// an acknowledge that answered <c>not-running</c> or took a vector.
    /// </summary>
    private static void NoteRunState(ApicState apic, TraceRecord e)
    {
        switch (e.Event)
        {
            case "ApicCreated":
                apic.Bsp = Flag(TraceDetail.Get(e.Detail, "bsp"));
                apic.Running = Flag(TraceDetail.Get(e.Detail, "running"));
                break;
            case TraceReplayer.RestoredEvent:
                apic.Running = TraceDetail.Get(e.Detail, "run-state") switch
                {
                    nameof(VcpuRunState.Running) => true,
                    nameof(VcpuRunState.WaitForSipi) => false,
                    _ => null,
                };
                break;
            case "Acknowledged":
                apic.Running = e.Vector is not null ? true : e.Detail == "not-running" ? false : apic.Running;
                break;
            case var _ when IpiSendIndex.IsMessageDelivery(e) && Outcome(e) == nameof(AcceptOutcome.InitReset):
                apic.Running = apic.Bsp;
                break;
            case var _ when IpiSendIndex.IsMessageDelivery(e) && Outcome(e) == nameof(AcceptOutcome.Started):
                apic.Running = true;
                break;
        }
    }

    private static bool? Flag(string? value) => value switch { "true" => true, "false" => false, _ => null };

    /// <summary>A new IRR bit; what the trace says was already pending there (it should not be) is lost.</summary>
    private void SetIrr(ApicState apic, int vector, Carrier carrier)
    {
        if (apic.Irr.Remove(vector, out var replaced))
        {
            foreach (var story in replaced.Riders)
            {
                story.LostAt = "the IRR bit set again by " + carrier.Origin;
                Report(Ending(story, IpiEnd.Lost));
            }
        }
        apic.Irr[vector] = carrier;
    }

    /// <summary>An EOI ends the highest vector in service, as the hardware does.</summary>
    private void EndHighestInService(ApicState apic, TraceRecord e)
    {
        var highest = -1;
        for (var i = 0; i < apic.Isr.Count; i++)
        {
            if (highest < 0 || apic.Isr[i].Vector > apic.Isr[highest].Vector)
            {
                highest = i;
            }
        }
        if (highest < 0)
        {
            return;
        }
        var (_, carrier) = apic.Isr[highest];
        apic.Isr.RemoveAt(highest);
        foreach (var story in carrier.Riders)
        {
            story.EoiSeq = e.Seq;
            story.EoiNs = e.VirtualTimeNs;
            Report(Ending(story, IpiEnd.Eoi));
        }
    }

    private void LoseAll(ApicState apic, string at)
    {
        var lost = apic.Irr.Values.Concat(apic.Isr.Select(i => i.Carrier)).SelectMany(c => c.Riders).ToList();
        apic.Irr.Clear();
        apic.Isr.Clear();
        foreach (var story in lost.OrderBy(s => s.Send.Number))
        {
            story.LostAt = at;
            Report(Ending(story, IpiEnd.Lost));
        }
    }

    /// <summary>
    /// Why a vector still pending at the end was not taken, by the rule the core follows: it takes the highest IRR
    /// vector, and only if its priority class (bits 7:4) is above PPR's, PPR being TPR when TPR's class is at least that
    /// of the highest vector in service, else that vector's class. Null when the trace does not show the whole TPR and
    /// ISR (no <c>ApicCreated</c>, or a restore since). A vCPU waiting for a Start-up IPI takes nothing whatever the
    /// priorities; "deliverable" needs the trace to show that the vCPU runs. A software-disabled APIC is no reason: it
    /// discards new fixed interrupts, but still presents what its IRR held.
    /// </summary>
    private static string? WhyPending(ApicState apic, int vector)
    {
        if (apic.Running == false)
        {
            return "the vCPU waits for a Start-up IPI: its core takes no interrupt";
        }
        if (!apic.PriorityKnown)
        {
            return null;
        }
        var isrv = apic.Isr.Count == 0 ? 0u : (uint)apic.Isr.Max(i => i.Vector);
        if (TracedPriority.Blocked(apic.Tpr, isrv, vector, out var ppr) is { } blocked)
        {
            return blocked;
        }
        var above = apic.Irr.Keys.Where(v => v > vector).DefaultIfEmpty(-1).Max();
        return above >= 0
            ? "behind " + Hex.Of((ulong)above) + ", a higher vector pending"
            : apic.Running == true ? "deliverable at PPR " + Hex.Of(ppr) + ", never acknowledged" : null;
    }

    /// <summary>
    /// A new routing identity of one APIC: the VM's map is immutable, so that each send keeps the one it was sent under,
    /// and a change costs a logarithmic update, not a copy of every APIC's (a VM of thousands of APICs changes each one's
    /// at bring-up).
    /// </summary>
    private void NoteIdentity(string vm, ApicIdentity identity) =>
        _identities[vm] = (_identities.GetValueOrDefault(vm) ?? ImmutableSortedDictionary<uint, ApicIdentity>.Empty).SetItem(identity.ApicId, identity);

    private const int ListedApics = 8;

    /// <summary>
    /// Why an IPI reached no APIC, from the identities the APICs had when it was sent: for a physical destination that
    /// no APIC has that ID (or that the one that has it is hardware-disabled); for a logical one, what each APIC's
    /// logical ID was (an xAPIC's LDR bits 31:24 and its DFR model, an x2APIC's whole LDR); for all-but-self, that the
    /// VM has no other APIC.
    /// </summary>
    internal static string? WhyNoApic(IpiSend send)
    {
        if (send.Apics is not { Count: > 0 } known)
        {
            return null;
        }
        var apics = known.Values.ToList();
        var destination = send.Destination;
        if (destination == "all-but-self")
        {
            return apics.Count == 1 ? "the VM has no other APIC" : null;
        }
        var space = destination.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !destination.AsSpan(space + 1).StartsWith("0x")
            || !uint.TryParse(destination.AsSpan(space + 3), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var target))
        {
            return null;
        }
        var x2 = apics.FirstOrDefault(a => a.ApicId == send.Sender)?.Mode == ApicMode.X2Apic;
        string List(Func<ApicIdentity, string> describe)
        {
            var listed = string.Join(", ", apics.Take(ListedApics).Select(describe));
            return apics.Count > ListedApics ? listed + FormattableString.Invariant($", … ({apics.Count - ListedApics} more)") : listed;
        }
        if (destination.StartsWith("physical", StringComparison.Ordinal))
        {
            if (target == (x2 ? uint.MaxValue : 0xFFu))
            {
                return null;
            }
            var same = apics.Where(a => (a.Mode == ApicMode.X2Apic ? a.RoutingId : a.RoutingId & 0xFF) == target).ToList();
            if (same.Count == 0)
            {
                return "no APIC has ID " + Hex.Of(target) + "; the VM's APIC IDs: " + List(a => Hex.Of(a.RoutingId));
            }
            return same.All(a => a.Mode == ApicMode.Disabled)
                ? "APIC " + Hex.Of(target) + " is hardware-disabled (IA32_APIC_BASE bit 11 clear)"
                : null;
        }
        if (!destination.StartsWith("logical", StringComparison.Ordinal))
        {
            return null;
        }
        static string Logical(ApicIdentity a) => a.Mode switch
        {
            ApicMode.Disabled => Hex.Of(a.ApicId) + " hardware-disabled",
            ApicMode.X2Apic => Hex.Of(a.ApicId) + " LDR " + Hex.Of(a.Ldr) + " (x2APIC cluster)",
            _ => Hex.Of(a.ApicId) + " LDR " + Hex.Of(a.Ldr >> 24) + " " + (a.Dfr == 0xF ? "flat" : a.Dfr == 0 ? "cluster" : "DFR " + Hex.Of(a.Dfr)),
        };
        var why = "no APIC's logical ID matches " + Hex.Of(target) + ": " + List(Logical);
        if (apics.Where(a => a.Mode == ApicMode.XApic).Select(a => a.Dfr).Distinct().Count() > 1)
        {
            why += "; the xAPICs' DFRs differ, and the SDM has every APIC of a system use one model, flat or cluster";
        }
        return apics.Any(a => a.Mode == ApicMode.XApic && a.Ldr == 0) ? why + "; an xAPIC's LDR is 0 until the guest writes it" : why;
    }

    private static IpiStory Ending(IpiStory story, IpiEnd end)
    {
        story.End = end;
        return story;
    }

    private void Report(IpiStory story)
    {
        if (!select.Matches(story))
        {
            return;
        }
        var s = _summary;
        if (story.End != IpiEnd.NoDestination)
        {
            s.Deliveries++;
            // The summary prints this count as a part of those taken to EOI: one coalesced into an interrupt that is
            // still pending, in service or lost is counted there, not here.
            if (story.Outcome == nameof(AcceptOutcome.Coalesced) && story.End == IpiEnd.Eoi)
            {
                s.Coalesced++;
            }
            if (story.End == IpiEnd.Dropped)
            {
                s.DroppedBy[story.Outcome] = s.DroppedBy.GetValueOrDefault(story.Outcome) + 1;
                if (story.ExpectedBecause is not null)
                {
                    s.ExpectedDrops++;
                }
            }
            if (story.Outcome is nameof(AcceptOutcome.Accepted) or nameof(AcceptOutcome.Coalesced))
            {
                s.ToAcceptance.Add(Math.Max(0, story.DeliveryNs - story.Send.TimeNs));
            }
            if (story.EoiNs is long eoi)
            {
                s.ToEoi.Add(Math.Max(0, eoi - story.Send.TimeNs));
            }
        }
        s.Ends[story.End]++;
        ended(story);
    }

    /// <summary>The outcome an event records: the first word of its detail (<c>Coalesced expiries=3</c> is <c>Coalesced</c>).</summary>
    private static string Outcome(TraceRecord e) => TraceDetail.FirstWord(e.Detail ?? e.Event);

    private ApicState ApicOf(TraceRecord e)
    {
        if (!_apics.TryGetValue((e.Vm, e.ApicId), out var apic))
        {
            _apics[(e.Vm, e.ApicId)] = apic = new ApicState();
        }
        return apic;
    }

    /// <summary>One APIC's interrupts as far as the trace shows them: pending by vector, and in service in the order acknowledged.</summary>
    private sealed class ApicState
    {
        public Dictionary<int, Carrier> Irr { get; } = new();

        public List<(int Vector, Carrier Carrier)> Isr { get; } = new();

        /// <summary>The Start-up IPI that started the APIC since its last INIT or restore (<c>SIPI 0x0 #40</c>), if the trace shows one.</summary>
        public string? StartedBy { get; set; }

        /// <summary>Whether the trace shows the APIC from its creation, so that its TPR and ISR below are all there is.</summary>
        public bool PriorityKnown { get; set; }

        /// <summary>Whether the vCPU runs (false: it waits for a Start-up IPI); null when the trace does not show it.</summary>
        public bool? Running { get; set; }

        /// <summary>Whether the APIC is the BSP, which INIT leaves running; null when the trace does not show it.</summary>
        public bool? Bsp { get; set; }

        /// <summary>The TPR as the guest last set it (0 at power-on, INIT and hardware disable).</summary>
        public uint Tpr { get; set; }

        /// <summary>The APIC's mode (a trace without <c>ApicCreated</c> is taken as xAPIC, whose registers MMIO reaches).</summary>
        public ApicMode Mode { get; set; } = ApicMode.XApic;
    }

    /// <summary>An interrupt pending or in service: what set its IRR bit (null when the trace does not show it) and the IPI deliveries riding on it.</summary>
    private sealed class Carrier(string? origin)
    {
        public string? Origin { get; } = origin;

        public List<IpiStory> Riders { get; } = new(1);
    }
}
