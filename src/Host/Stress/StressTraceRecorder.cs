using VApicActors.Actors;

namespace VApicActors.Host.Stress;

/// <summary>
/// Keeps, in memory, the part of the message trace the checker needs to name offending events: each APIC's sent
/// fixed, lowest-priority and NMI IPIs and the messages and NMIs it received from other APICs, with their trace
/// sequence numbers; and, for every vector, the last event that set it in IRR and the last that moved it to ISR, so
/// that a vector left pending or in service after the drain is named with the event that left it there. Each APIC's
/// events come from its own actor, one at a time, so each APIC has its own list and no lock is taken.
/// </summary>
internal sealed class StressTraceRecorder : ITraceSink
{
    private readonly Dictionary<string, Dictionary<uint, List<TraceRecord>>> _byVm = new();
    private readonly Dictionary<string, Dictionary<uint, LastVectorEvents>> _lastByVm = new();
    private readonly int _perApic;
    private int _truncated;

    public StressTraceRecorder(IReadOnlyList<(string Vm, IReadOnlyList<uint> ApicIds)> vms, int capacity)
    {
        var total = Math.Max(1, vms.Sum(v => v.ApicIds.Count));
        _perApic = Math.Max(16, capacity / total);
        foreach (var (vm, ids) in vms)
        {
            _byVm[vm] = ids.ToDictionary(id => id, _ => new List<TraceRecord>());
            _lastByVm[vm] = ids.ToDictionary(id => id, _ => new LastVectorEvents());
        }
    }

    public bool Enabled => true;

    /// <summary>True when some APIC had more events than its share of the capacity (the later ones are not kept).</summary>
    public bool Truncated => Volatile.Read(ref _truncated) != 0;

    public void Write(in TraceEvent e)
    {
        if (e.Vector is int vector && (e.Event == "Acknowledged" || IsAcceptance(e))
            && _lastByVm.TryGetValue(e.Vm, out var lasts) && lasts.TryGetValue(e.ApicId, out var last))
        {
            // Kept whatever the capacity: a few entries per vector the APIC ever took.
            if (e.Event == "Acknowledged")
            {
                last.Acknowledged[(byte)vector] = e.Seq;
            }
            else
            {
                last.Accepted[(byte)vector] = (e.Seq, e.Event, e.Source);
            }
        }
        TraceRecordKind kind;
        switch (e.Event)
        {
            case "IpiSent" when e.Detail == "Fixed":
                kind = TraceRecordKind.FixedSent;
                break;
            case "IpiSent" when e.Detail == "LowestPriority":
                kind = TraceRecordKind.LowestPrioritySent;
                break;
            case "IpiSent" when e.Detail == "Nmi":
                kind = TraceRecordKind.NmiSent;
                break;
            case "Nmi" when e.Source is not null:
                kind = TraceRecordKind.NmiReceived;
                break;
            case "Accepted" or "Coalesced" or "Dropped" when e.Source is not null:
                kind = TraceRecordKind.Received;
                break;
            default:
                return;
        }
        if (!_byVm.TryGetValue(e.Vm, out var apics) || !apics.TryGetValue(e.ApicId, out var list))
        {
            return;
        }
        if (list.Count >= _perApic)
        {
            Volatile.Write(ref _truncated, 1);
            return;
        }
        list.Add(new TraceRecord(e.Seq, kind, (byte)(e.Vector ?? 0), e.Source ?? 0, e.Destination, e.Event, e.SourceSeq ?? 0));
    }

    /// <summary>
    /// True when the list of one APIC filled up, so that its later events were not kept: a send to it that finds no
    /// delivery there may have been delivered after its list was full.
    /// </summary>
    public bool IsFull(string vm, uint apicId) => Of(vm, apicId).Count >= _perApic;

    /// <summary>
    /// The last event that set <paramref name="vector"/> in this APIC's IRR (an IPI or MSI accepted, or a local interrupt
    /// such as the timer's), with its event name and sender, if any was traced.
    /// </summary>
    public (long Seq, string Event, uint? Source)? LastAccepted(string vm, uint apicId, int vector) =>
        _lastByVm.TryGetValue(vm, out var apics) && apics.TryGetValue(apicId, out var last) && last.Accepted.TryGetValue((byte)vector, out var a)
            ? a : null;

    /// <summary>The last acknowledge that moved <paramref name="vector"/> from this APIC's IRR to ISR, if any was traced.</summary>
    public long? LastAcknowledged(string vm, uint apicId, int vector) =>
        _lastByVm.TryGetValue(vm, out var apics) && apics.TryGetValue(apicId, out var last) && last.Acknowledged.TryGetValue((byte)vector, out var seq)
            ? seq : null;

    /// <summary>
    /// An event that set a vector in IRR: a message accepted from another APIC or by MSI, or a local interrupt (timer,
    /// LINT, the other LVT entries) whose outcome was acceptance.
    /// </summary>
    private static bool IsAcceptance(in TraceEvent e) =>
        e.Event == "Accepted"
        || (e.Event is "Msi" or "TimerFired" or "Lint" && e.Detail is { } detail && detail.StartsWith("Accepted", StringComparison.Ordinal));

    /// <summary>The records of one APIC (read after the run, once every actor is quiet).</summary>
    public IReadOnlyList<TraceRecord> Of(string vm, uint apicId) =>
        _byVm.TryGetValue(vm, out var apics) && apics.TryGetValue(apicId, out var list) ? list : [];
}

/// <summary>Per vector, the last event that set it in IRR and the last acknowledge that moved it to ISR.</summary>
internal sealed class LastVectorEvents
{
    public Dictionary<byte, (long Seq, string Event, uint? Source)> Accepted { get; } = new();

    public Dictionary<byte, long> Acknowledged { get; } = new();
}

internal enum TraceRecordKind : byte
{
    FixedSent,
    Received,
    LowestPrioritySent,
    NmiSent,
    NmiReceived,
}

/// <summary>
/// One kept trace event: its sequence number, vector, the sender's APIC ID and the <c>Seq</c> of the sender's
/// <c>IpiSent</c> (received), or the destination (sent).
/// </summary>
internal readonly record struct TraceRecord(long Seq, TraceRecordKind Kind, byte Vector, uint Source, string? Destination, string Event, long SourceSeq = 0);
