using System.Globalization;
using System.Text.Json;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Turns a message trace into Chrome trace-event JSON (the format chrome://tracing and ui.perfetto.dev open):
/// one process per VM and one thread per APIC, named by metadata events; a complete slice (<c>X</c>) for each
/// interrupt from its acknowledge to its EOI, named by vector (an EOI ends the highest vector in service, INIT
/// or a hardware disable ends all of them); instant events (<c>i</c>) for register accesses, timer events,
/// INIT/SIPI/NMI/SMI and the rest; and for each IPI a short slice where it was sent and one where each
/// destination took it, joined by a flow arrow (<c>s</c> to <c>f</c>; each end's <c>args.seq</c> is the <c>Seq</c> of the
/// trace event it stands for). Time is virtual time in µs (the
/// nanoseconds as fractions); events at one time keep the trace's order. An event is never drawn before the IPI
/// that caused it: an APIC that had not yet heard of the latest clock advance when it took an IPI is drawn at the
/// send's time from there on (<c>args.virtual_ns</c> keeps every event's recorded time).
/// </summary>
public static class ChromeTraceExporter
{
    /// <summary>Width of the slices that flow arrows bind to: one virtual nanosecond.</summary>
    public const long MarkerNs = 1;

    private const string CategoryInterrupt = "interrupt";
    private const string CategoryIpi = "ipi";
    private const string CategoryDelivery = "delivery";
    private const string CategoryInitSipiNmi = "init-sipi-nmi";
    private const string CategoryRegister = "register";
    private const string CategoryTimer = "timer";
    private const string CategoryApic = "apic";
    private const string FlowName = "IPI";

    private static readonly HashSet<string> Deliveries = ["Accepted", "Coalesced", "Dropped", "Nmi", "Smi", "Init", "Sipi", "Msi"];

    /// <summary>Writes the timeline of <paramref name="events"/> to <paramref name="output"/>.</summary>
    public static ChromeTraceExportSummary Export(IReadOnlyList<TraceRecord> events, Stream output, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(output);
        var built = Build(events);
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteStartArray("traceEvents");
        foreach (var e in built.Events)
        {
            Write(writer, e);
        }
        writer.WriteEndArray();
        writer.WriteString("displayTimeUnit", "ns");
        writer.WriteStartObject("otherData");
        writer.WriteString("producer", "vapic trace export");
        writer.WriteString("clock", "virtual time");
        if (sourceName is not null)
        {
            writer.WriteString("trace", sourceName);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
        return built.Summary;
    }

    private static (List<ChromeTraceEvent> Events, ChromeTraceExportSummary Summary) Build(IReadOnlyList<TraceRecord> events)
    {
        var tracks = new Tracks(events);
        var sends = new Dictionary<(string Vm, uint ApicId, long Seq), TraceRecord>();
        var sendsByApic = new Dictionary<(string Vm, uint ApicId), List<TraceRecord>>();
        var routingIds = new Dictionary<(string Vm, uint RoutingId), SortedSet<uint>>();
        foreach (var e in events)
        {
            AddRoutingId(routingIds, e.Vm, e.ApicId, e.ApicId);
            if (e.Event == "ModeChanged" && e.Value is ulong id && id <= uint.MaxValue)
            {
                AddRoutingId(routingIds, e.Vm, (uint)id, e.ApicId);
            }
            if (e.Event == "IpiSent")
            {
                sends.TryAdd((e.Vm, e.ApicId, e.Seq), e);
                if (!sendsByApic.TryGetValue((e.Vm, e.ApicId), out var list))
                {
                    sendsByApic[(e.Vm, e.ApicId)] = list = new List<TraceRecord>();
                }
                list.Add(e);
            }
        }

        // Link each IPI delivery to its send, and place every event on the timeline, in file order (the order the
        // events were written, which respects cause and effect). An APIC hears of clock advances by message, so a
        // receiver can take an IPI at an earlier virtual time than its sender sent it: such an event and the
        // receiver's later ones are drawn no earlier than the send (args.virtual_ns keeps the recorded time).
        var links = new List<(TraceRecord Send, TraceRecord Delivery)>();
        var linked = new HashSet<(int SendLine, string Vm, uint Receiver)>();
        var drawnAt = new Dictionary<int, long>(events.Count);
        var apicClock = new Dictionary<(string, uint), long>();
        var unlinked = 0;
        foreach (var e in events)
        {
            var ns = Math.Max(e.VirtualTimeNs, apicClock.GetValueOrDefault((e.Vm, e.ApicId), long.MinValue));
            if (e.Source is uint source && e.Register is null && e.Value is not null && Deliveries.Contains(e.Event))
            {
                var send = FindSend(e, source, sends, sendsByApic, routingIds, linked);
                if (send is null)
                {
                    unlinked++;
                }
                else
                {
                    linked.Add((send.LineNumber, e.Vm, e.ApicId));
                    links.Add((send, e));
                    ns = Math.Max(ns, drawnAt.GetValueOrDefault(send.LineNumber, send.VirtualTimeNs));
                }
            }
            drawnAt[e.LineNumber] = ns;
            apicClock[(e.Vm, e.ApicId)] = ns;
        }
        long At(TraceRecord e) => drawnAt.GetValueOrDefault(e.LineNumber, e.VirtualTimeNs);

        var output = new List<ChromeTraceEvent>();
        int slices = 0, openAtEnd = 0;

        foreach (var (key, apicEvents) in tracks.ByApic)
        {
            var (pid, tid) = tracks.Ids[key];
            var inService = new List<(int Vector, TraceRecord Ack)>();
            foreach (var e in apicEvents)
            {
                switch (e.Event)
                {
                    case "Acknowledged" when e.Vector is int vector:
                        inService.Add((vector, e));
                        break;
                    case "Acknowledged":
                        output.Add(Instant(e, At(e), pid, tid, "ack: " + (e.Detail ?? "none"), CategoryInterrupt));
                        break;
                    case "Eoi":
                        var highest = -1;
                        for (var i = 0; i < inService.Count; i++)
                        {
                            if (highest < 0 || inService[i].Vector > inService[highest].Vector)
                            {
                                highest = i;
                            }
                        }
                        if (highest < 0 || !IsOk(e.Detail))
                        {
                            output.Add(Instant(e, At(e), pid, tid, highest < 0 ? "EOI (nothing in service)" : "EOI: " + e.Detail, CategoryInterrupt));
                            break;
                        }
                        output.Add(ServiceSlice(inService[highest].Ack, e, At(inService[highest].Ack), At(e), pid, tid, "EOI"));
                        slices++;
                        inService.RemoveAt(highest);
                        break;
                    case "IpiSent":
                        output.Add(Marker(e, At(e), pid, tid, "IPI " + VectorText(e) + " -> " + (e.Destination ?? "?"), CategoryIpi));
                        break;
                    case "ModeChanged":
                        output.Add(Instant(e, At(e), pid, tid, "mode: " + (e.Detail ?? Hex.Of(e.Value ?? 0)), CategoryApic));
                        if (TraceDetail.Get(e.Detail, "mode") == nameof(ApicMode.Disabled))
                        {
                            slices += EndAll(inService, e, At, pid, tid, "hardware disable", output);
                        }
                        break;
                    case var name when Deliveries.Contains(name) && e.Value is ulong packed && e.Register is null:
                        var message = PackedMessage.Unpack(packed);
                        output.Add(Marker(e, At(e), pid, tid, DeliveryName(e, message), CategoryDelivery));
                        if (message.Mode is DeliveryMode.Nmi or DeliveryMode.Smi or DeliveryMode.Init or DeliveryMode.StartUp)
                        {
                            output.Add(Instant(e, At(e), pid, tid, InitSipiNmiName(message, e.Detail), CategoryInitSipiNmi, part: 2));
                        }
                        if (name == "Init" && e.Detail == nameof(AcceptOutcome.InitReset))
                        {
                            slices += EndAll(inService, e, At, pid, tid, "INIT", output);
                        }
                        break;
                    case "MmioRead" or "MmioWrite" or "MsrRead" or "MsrWrite":
                        output.Add(Instant(e, At(e), pid, tid, AccessName(e), CategoryRegister));
                        break;
                    case "TimerFired" or "TimerArmed" or "TimerCancelled":
                        output.Add(Instant(e, At(e), pid, tid, TimerName(e), CategoryTimer));
                        break;
                    default:
                        output.Add(Instant(e, At(e), pid, tid, OtherName(e), CategoryApic));
                        break;
                }
            }
            var last = apicEvents[^1];
            openAtEnd += inService.Count;
            slices += EndAll(inService, last, At, pid, tid, null, output);
        }

        long flowId = 0;
        foreach (var (send, delivery) in links)
        {
            flowId++;
            var (sendPid, sendTid) = tracks.Ids[(send.Vm, send.ApicId)];
            var (toPid, toTid) = tracks.Ids[(delivery.Vm, delivery.ApicId)];
            output.Add(new ChromeTraceEvent('s', FlowName, CategoryIpi, At(send), sendPid, sendTid, send.LineNumber, 3, FlowId: flowId,
                Args: [new("seq", send.Seq)]));
            output.Add(new ChromeTraceEvent('f', FlowName, CategoryIpi, At(delivery), toPid, toTid, delivery.LineNumber, 3, FlowId: flowId,
                Args: [new("seq", delivery.Seq)]));
        }

        output.Sort(static (a, b) =>
        {
            var c = a.TimeNs.CompareTo(b.TimeNs);
            if (c != 0) return c;
            c = a.Line.CompareTo(b.Line);
            if (c != 0) return c;
            c = a.Part.CompareTo(b.Part);
            // The arrows of one send (one per destination) share its time, line and part: they go by arrow id.
            return c != 0 ? c : (a.FlowId ?? 0).CompareTo(b.FlowId ?? 0);
        });
        var all = new List<ChromeTraceEvent>(tracks.Metadata.Count + output.Count);
        all.AddRange(tracks.Metadata);
        all.AddRange(output);
        var summary = new ChromeTraceExportSummary(events.Count, tracks.Ids.Count, slices, openAtEnd, links.Count, unlinked, all.Count);
        return (all, summary);
    }

    private static bool IsOk(string? detail) => detail is null || detail.StartsWith("0x", StringComparison.Ordinal);

    private static TraceRecord? FindSend(
        TraceRecord delivery,
        uint source,
        Dictionary<(string, uint, long), TraceRecord> sends,
        Dictionary<(string, uint), List<TraceRecord>> sendsByApic,
        Dictionary<(string, uint), SortedSet<uint>> routingIds,
        HashSet<(int, string, uint)> linked)
    {
        // The sender is named by the APIC ID it had when it sent; the trace names APICs by their initial ID.
        var senders = new List<uint> { source };
        if (routingIds.TryGetValue((delivery.Vm, source), out var known))
        {
            senders.AddRange(known.Where(k => k != source));
        }
        if (delivery.SourceSeq is long seq)
        {
            foreach (var sender in senders)
            {
                if (sends.TryGetValue((delivery.Vm, sender, seq), out var exact) && exact.Value == delivery.Value)
                {
                    return exact;
                }
            }
            return null;
        }
        // Without the sender's Seq: the latest IPI with the same message, written before the delivery and not yet
        // taken by this destination.
        TraceRecord? best = null;
        foreach (var sender in senders)
        {
            if (!sendsByApic.TryGetValue((delivery.Vm, sender), out var list))
            {
                continue;
            }
            for (var i = list.Count - 1; i >= 0; i--)
            {
                var candidate = list[i];
                if (candidate.LineNumber >= delivery.LineNumber || candidate.Value != delivery.Value
                    || linked.Contains((candidate.LineNumber, delivery.Vm, delivery.ApicId)))
                {
                    continue;
                }
                if (best is null || candidate.LineNumber > best.LineNumber)
                {
                    best = candidate;
                }
                break;
            }
        }
        return best;
    }

    private static void AddRoutingId(Dictionary<(string, uint), SortedSet<uint>> map, string vm, uint routingId, uint apicId)
    {
        if (!map.TryGetValue((vm, routingId), out var set))
        {
            map[(vm, routingId)] = set = new SortedSet<uint>();
        }
        set.Add(apicId);
    }

    private static int EndAll(List<(int Vector, TraceRecord Ack)> inService, TraceRecord end, Func<TraceRecord, long> at, int pid, int tid, string? reason, List<ChromeTraceEvent> output)
    {
        var count = inService.Count;
        foreach (var (_, ack) in inService)
        {
            output.Add(ServiceSlice(ack, end, at(ack), at(end), pid, tid, reason));
        }
        inService.Clear();
        return count;
    }

    private static ChromeTraceEvent ServiceSlice(TraceRecord ack, TraceRecord end, long ackNs, long endNs, int pid, int tid, string? endedBy)
    {
        var args = Args(ack);
        args.Add(new("ended_by", endedBy ?? "end of trace (no EOI)"));
        args.Add(new("end_seq", end.Seq));
        return new ChromeTraceEvent('X', "IRQ " + VectorText(ack), CategoryInterrupt, ackNs, pid, tid, ack.LineNumber, 0,
            DurationNs: Math.Max(0, endNs - ackNs), Args: args);
    }

    private static ChromeTraceEvent Marker(TraceRecord e, long ns, int pid, int tid, string name, string category) =>
        new('X', name, category, ns, pid, tid, e.LineNumber, 1, DurationNs: MarkerNs, Args: Args(e));

    private static ChromeTraceEvent Instant(TraceRecord e, long ns, int pid, int tid, string name, string category, int part = 1) =>
        new('i', name, category, ns, pid, tid, e.LineNumber, part, Args: Args(e));

    private static List<KeyValuePair<string, object>> Args(TraceRecord e)
    {
        var args = new List<KeyValuePair<string, object>> { new("seq", e.Seq), new("event", e.Event), new("virtual_ns", e.VirtualTimeNs) };
        if (e.Register is not null) args.Add(new("register", e.Register));
        if (e.Value is ulong value) args.Add(new("value", Hex.Of(value)));
        if (e.Vector is int vector) args.Add(new("vector", Hex.Of((ulong)vector)));
        if (e.Source is uint source) args.Add(new("source", Hex.Of(source)));
        if (e.SourceSeq is long sourceSeq) args.Add(new("source_seq", sourceSeq));
        if (e.Destination is not null) args.Add(new("destination", e.Destination));
        if (e.Detail is not null) args.Add(new("detail", e.Detail));
        return args;
    }

    private static string VectorText(TraceRecord e) => e.Vector is int v ? "0x" + v.ToString("x2", CultureInfo.InvariantCulture) : "?";

    private static string DeliveryName(TraceRecord e, InterruptMessage message)
    {
        var what = message.Mode is DeliveryMode.Fixed or DeliveryMode.LowestPriority
            ? "0x" + message.Vector.ToString("x2", CultureInfo.InvariantCulture)
            : PackedMessage.ModeName(message.Mode);
        return (e.Event == "Msi" ? "MSI " : "take ") + what + " (" + (e.Detail ?? e.Event) + ")";
    }

    private static string InitSipiNmiName(InterruptMessage message, string? outcome) => message.Mode switch
    {
        DeliveryMode.StartUp => "SIPI 0x" + message.Vector.ToString("x2", CultureInfo.InvariantCulture),
        _ => PackedMessage.ModeName(message.Mode),
    } + (outcome is null ? "" : " (" + outcome + ")");

    private static string AccessName(TraceRecord e)
    {
        var verb = e.Event switch
        {
            "MmioRead" => "read ",
            "MmioWrite" => "write ",
            "MsrRead" => "rdmsr ",
            _ => "wrmsr ",
        };
        return verb + (e.Register ?? "?");
    }

    private static string TimerName(TraceRecord e) => e.Event switch
    {
        "TimerFired" => "timer fired" + (e.Vector is int ? " " + VectorText(e) : ""),
        "TimerArmed" => "timer armed",
        _ => "timer cancelled",
    };

    private static string OtherName(TraceRecord e) =>
        e.Event + (e.Register is null ? "" : " " + e.Register) + (e.Vector is int ? " " + VectorText(e) : "");

    private static void Write(Utf8JsonWriter w, ChromeTraceEvent e)
    {
        w.WriteStartObject();
        w.WriteString("name", e.Name);
        w.WriteString("ph", e.Phase.ToString());
        w.WriteNumber("pid", e.Pid);
        w.WriteNumber("tid", e.Tid);
        if (e.Phase != 'M')
        {
            w.WriteString("cat", e.Category);
            w.WriteNumber("ts", Microseconds(e.TimeNs));
        }
        if (e.DurationNs is long dur)
        {
            w.WriteNumber("dur", Microseconds(dur));
        }
        switch (e.Phase)
        {
            case 'i':
                w.WriteString("s", "t");
                break;
            case 's':
                w.WriteNumber("id", e.FlowId!.Value);
                break;
            case 'f':
                w.WriteNumber("id", e.FlowId!.Value);
                w.WriteString("bp", "e");
                break;
        }
        if (e.Args is { Count: > 0 } args)
        {
            w.WriteStartObject("args");
            foreach (var (name, value) in args)
            {
                switch (value)
                {
                    case long l:
                        w.WriteNumber(name, l);
                        break;
                    case int i:
                        w.WriteNumber(name, i);
                        break;
                    default:
                        w.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Virtual nanoseconds as microseconds, exactly (three decimals).</summary>
    private static decimal Microseconds(long ns) => ns / 1000m;

    /// <summary>The processes (VMs) and threads (APICs) of the timeline, and their metadata events.</summary>
    private sealed class Tracks
    {
        public Tracks(IReadOnlyList<TraceRecord> events)
        {
            var vms = new List<string>();
            var apics = new Dictionary<string, SortedSet<uint>>(StringComparer.Ordinal);
            var byApic = new Dictionary<(string, uint), List<TraceRecord>>();
            foreach (var e in events)
            {
                if (e.Event == TraceReplayer.ServiceRequestEvent)
                {
                    // A service session's request, numbered in its session and outside the VM's time: not an APIC's event.
                    continue;
                }
                if (!apics.TryGetValue(e.Vm, out var set))
                {
                    vms.Add(e.Vm);
                    apics[e.Vm] = set = new SortedSet<uint>();
                }
                set.Add(e.ApicId);
                if (!byApic.TryGetValue((e.Vm, e.ApicId), out var list))
                {
                    byApic[(e.Vm, e.ApicId)] = list = new List<TraceRecord>();
                }
                list.Add(e);
            }

            // Process ids 1..V, thread ids after them, unique over the whole file (some viewers key threads by tid alone).
            var nextTid = vms.Count + 1;
            for (var v = 0; v < vms.Count; v++)
            {
                var pid = v + 1;
                Metadata.Add(Meta("process_name", pid, 0, "VM " + vms[v]));
                Metadata.Add(Meta("process_sort_index", pid, 0, pid));
                var sort = 0;
                foreach (var apicId in apics[vms[v]])
                {
                    var tid = nextTid++;
                    Ids[(vms[v], apicId)] = (pid, tid);
                    Metadata.Add(Meta("thread_name", pid, tid, vms[v] + " APIC " + Hex.Of(apicId)));
                    Metadata.Add(Meta("thread_sort_index", pid, tid, sort++));
                    var list = byApic[(vms[v], apicId)];
                    list.Sort(static (a, b) => a.Seq != b.Seq ? a.Seq.CompareTo(b.Seq) : a.LineNumber.CompareTo(b.LineNumber));
                    ByApic.Add(((vms[v], apicId), list));
                }
            }
        }

        public Dictionary<(string Vm, uint ApicId), (int Pid, int Tid)> Ids { get; } = new();

        public List<((string Vm, uint ApicId) Key, List<TraceRecord> Events)> ByApic { get; } = new();

        public List<ChromeTraceEvent> Metadata { get; } = new();

        private static ChromeTraceEvent Meta(string name, int pid, int tid, object value) =>
            new('M', name, "", 0, pid, tid, 0, 0, Args: [new(name.EndsWith("_name", StringComparison.Ordinal) ? "name" : "sort_index", value)]);
    }
}
