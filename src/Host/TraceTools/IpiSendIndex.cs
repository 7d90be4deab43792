namespace VApicActors.Host.TraceTools;

/// <summary>
/// The IPI sends of a trace read so far, and the link from a delivery to the send it took. Shared by the trace tools
/// that follow IPIs (<see cref="ChromeTraceTimeline"/>, <see cref="IpiFollower"/>), which pass it every event in the
/// order the trace was written.
/// </summary>
/// <remarks>
/// A delivery names its sender by the APIC ID the sender had when it sent (<c>Source</c>), while the trace names every
/// APIC by its initial APIC ID, so the routing IDs each APIC has been seen with are kept (<c>ModeChanged</c>). A
/// delivery with <c>SourceSeq</c> is linked exactly; one without (traces written before it existed) to the latest send
/// with the same message, written before it and not yet taken by that destination. Each send is kept (a few dozen
/// bytes) until the end: a delivery may come any time later.
/// </remarks>
internal sealed class IpiSendIndex
{
    private readonly Dictionary<(string Vm, uint RoutingId), SortedSet<uint>> _routingIds = new();
    private readonly Dictionary<(string Vm, uint ApicId), Sender> _senders = new();
    private readonly HashSet<(int Send, uint Receiver)> _linked = new();
    private readonly List<Send> _sends = new();

    /// <summary>Sends kept.</summary>
    public int Count => _sends.Count;

    /// <summary>Takes note of the routing IDs an event shows; call for every event, before <see cref="AddSend"/> or <see cref="Find"/>.</summary>
    public void Note(TraceRecord e)
    {
        AddRoutingId(e.Vm, e.ApicId, e.ApicId);
        if (e.Event == "ModeChanged" && e.Value is ulong id && id <= uint.MaxValue)
        {
            AddRoutingId(e.Vm, (uint)id, e.ApicId);
        }
    }

    /// <summary>Keeps an <c>IpiSent</c> event; returns its number (0, 1, 2, … in the order added).</summary>
    public int AddSend(TraceRecord send)
    {
        var key = (send.Vm, send.ApicId);
        if (!_senders.TryGetValue(key, out var sender))
        {
            _senders[key] = sender = new Sender();
        }
        var number = _sends.Count;
        _sends.Add(new Send(send.LineNumber, send.Value));
        sender.Add(send.Seq, number);
        return number;
    }

    /// <summary>
    /// The number of the send a delivery from the APIC whose routing ID was <paramref name="source"/> took, among the
    /// sends added so far, or null; a send found is marked as taken by the delivery's APIC.
    /// </summary>
    public int? Find(TraceRecord delivery, uint source)
    {
        var found = FindSend(delivery, source);
        if (found is int number)
        {
            _linked.Add((number, delivery.ApicId));
        }
        return found;
    }

    /// <summary>Whether a delivery event is one of an IPI (or of an MSI, which has no sender): an interrupt message that arrived.</summary>
    public static bool IsMessageDelivery(TraceRecord e) =>
        e.Register is null && e.Value is not null && e.Event is "Accepted" or "Coalesced" or "Dropped" or "Nmi" or "Smi" or "Init" or "Sipi" or "Msi";

    private int? FindSend(TraceRecord delivery, uint source)
    {
        // The sender by the routing ID it sent with, then by the initial IDs that routing ID has been seen for.
        _routingIds.TryGetValue((delivery.Vm, source), out var known);
        if (delivery.SourceSeq is long seq)
        {
            if (BySeq(delivery, source, seq) is int exact)
            {
                return exact;
            }
            foreach (var id in known ?? [])
            {
                if (id != source && BySeq(delivery, id, seq) is int found)
                {
                    return found;
                }
            }
            return null;
        }
        int? best = Latest(delivery, source, null);
        foreach (var id in known ?? [])
        {
            if (id != source)
            {
                best = Latest(delivery, id, best);
            }
        }
        return best;
    }

    /// <summary>The send of APIC <paramref name="id"/> with that Seq, if it carried the delivery's message.</summary>
    private int? BySeq(TraceRecord delivery, uint id, long seq) =>
        _senders.TryGetValue((delivery.Vm, id), out var sender) && sender.BySeq.TryGetValue(seq, out var number) && _sends[number].Value == delivery.Value
            ? number
            : null;

    /// <summary>
    /// Without the sender's Seq: the later of <paramref name="best"/> and APIC <paramref name="id"/>'s latest send of the
    /// same message, written before the delivery and not yet taken by its destination.
    /// </summary>
    private int? Latest(TraceRecord delivery, uint id, int? best)
    {
        if (!_senders.TryGetValue((delivery.Vm, id), out var sender))
        {
            return best;
        }
        for (var i = sender.Numbers.Count - 1; i >= 0; i--)
        {
            var number = sender.Numbers[i];
            var candidate = _sends[number];
            if (candidate.Line >= delivery.LineNumber || candidate.Value != delivery.Value || _linked.Contains((number, delivery.ApicId)))
            {
                continue;
            }
            return best is int b && _sends[b].Line >= candidate.Line ? best : number;
        }
        return best;
    }

    private void AddRoutingId(string vm, uint routingId, uint apicId)
    {
        if (!_routingIds.TryGetValue((vm, routingId), out var set))
        {
            _routingIds[(vm, routingId)] = set = new SortedSet<uint>();
        }
        set.Add(apicId);
    }

    private readonly record struct Send(int Line, ulong? Value);

    /// <summary>The sends of one APIC, in the order it sent them, and by Seq (the first send with a Seq, should one repeat).</summary>
    private sealed class Sender
    {
        public List<int> Numbers { get; } = new();

        public Dictionary<long, int> BySeq { get; } = new();

        public void Add(long seq, int number)
        {
            BySeq.TryAdd(seq, number);
            Numbers.Add(number);
        }
    }
}
