using VApicActors.Actors;

namespace VApicActors.Host.Stress;

/// <summary>
/// Keeps, in memory, the part of the message trace the checker needs to name offending events: each APIC's sent
/// fixed, lowest-priority and NMI IPIs and the messages and NMIs it received from other APICs, with their trace
/// sequence numbers. Each APIC's
/// events come from its own actor, one at a time, so each APIC has its own list and no lock is taken.
/// </summary>
internal sealed class StressTraceRecorder : ITraceSink
{
    private readonly Dictionary<string, Dictionary<uint, List<TraceRecord>>> _byVm = new();
    private readonly int _perApic;
    private int _truncated;

    public StressTraceRecorder(IReadOnlyList<(string Vm, IReadOnlyList<uint> ApicIds)> vms, int capacity)
    {
        var total = Math.Max(1, vms.Sum(v => v.ApicIds.Count));
        _perApic = Math.Max(16, capacity / total);
        foreach (var (vm, ids) in vms)
        {
            _byVm[vm] = ids.ToDictionary(id => id, _ => new List<TraceRecord>());
        }
    }

    public bool Enabled => true;

    /// <summary>True when some APIC had more events than its share of the capacity (the later ones are not kept).</summary>
    public bool Truncated => Volatile.Read(ref _truncated) != 0;

    public void Write(in TraceEvent e)
    {
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

    /// <summary>The records of one APIC (read after the run, once every actor is quiet).</summary>
    public IReadOnlyList<TraceRecord> Of(string vm, uint apicId) =>
        _byVm.TryGetValue(vm, out var apics) && apics.TryGetValue(apicId, out var list) ? list : [];
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
