using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Builds the timeline <see cref="ChromeTraceExporter"/> describes from trace events passed one at a time, in the
/// order they were written, without keeping them. Each event is drawn as soon as it is read (its JSON made at
/// once); a slice is made when its interrupt ends. What is kept between events is bounded by the APICs and what is
/// still open: per APIC its clock, its interrupts in service and its last event; per IPI sent, what linking a
/// delivery to it needs (its line, Seq, message, time and the destinations that took it, a few dozen bytes).
/// Drawn events wait in a <see cref="ChromeEventSorter"/>, which puts them in time order in bounded memory
/// (spilling sorted runs to a temporary file when they outgrow <c>runBytes</c>), until <see cref="WriteTo"/>.
/// </summary>
/// <remarks>
/// The trace's order is the order of cause and effect: an APIC writes its events in <c>Seq</c> order, and an IPI's
/// send is written before any destination takes it. A delivery is linked to a send written before it, with the
/// routing IDs its sender is known by so far.
/// </remarks>
public sealed class ChromeTraceTimeline : IDisposable
{
    /// <summary>The memory drawn events may take before they go to a temporary run: 32 MiB.</summary>
    public const long DefaultRunBytes = 32L << 20;

    private const string CategoryInterrupt = "interrupt";
    private const string CategoryIpi = "ipi";
    private const string CategoryDelivery = "delivery";
    private const string CategoryInitSipiNmi = "init-sipi-nmi";
    private const string CategoryRegister = "register";
    private const string CategoryTimer = "timer";
    private const string CategoryApic = "apic";
    private const string FlowName = "IPI";

    private readonly ChromeEventSorter _sorter;
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private readonly Utf8JsonWriter _jsonWriter;

    // The processes (VMs, in order of appearance) and threads (APICs) of the timeline.
    private readonly List<string> _vms = new();
    private readonly Dictionary<string, SortedSet<uint>> _apicIds = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Vm, uint ApicId), Track> _tracks = new();

    // Where each APIC (service requests' too) is drawn up to.
    private readonly Dictionary<(string Vm, uint ApicId), long> _clocks = new();

    // IPIs sent, and where each was drawn (by send number).
    private readonly IpiSendIndex _sendIndex = new();
    private readonly List<Send> _sends = new();
    private readonly TracedEois _eois = new();

    private int _traceEvents;
    private int _slices;
    private int _unlinked;
    private long _flows;
    private bool _written;

    /// <summary>A timeline whose drawn events go to temporary runs in <paramref name="tempDirectory"/> (the system's temporary folder by default) beyond <paramref name="runBytes"/>.</summary>
    public ChromeTraceTimeline(long runBytes = DefaultRunBytes, string? tempDirectory = null)
    {
        _sorter = new ChromeEventSorter(runBytes, tempDirectory ?? Path.GetTempPath());
        _jsonWriter = new Utf8JsonWriter(_json);
    }

    /// <summary>Trace events read.</summary>
    public int TraceEvents => _traceEvents;

    /// <summary>Drawn events held in memory now (the rest are in temporary runs).</summary>
    public int HeldEvents => _sorter.Held;

    /// <summary>The most drawn events ever held in memory at once.</summary>
    public int MostHeldEvents => _sorter.MostHeld;

    /// <summary>Temporary runs written so far.</summary>
    public int TemporaryRuns => _sorter.Runs;

    /// <summary>Interrupts in service now, over all APICs: each keeps its acknowledge until its slice ends.</summary>
    public int OpenInterrupts => _tracks.Values.Sum(t => t.InService.Count);

    /// <summary>IPI sends kept to link deliveries to.</summary>
    public int SendsKept => _sends.Count;

    /// <summary>Takes the next trace event, in the order the trace was written.</summary>
    public void Add(TraceRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (_written)
        {
            throw new InvalidOperationException("the timeline has been written");
        }
        _traceEvents++;
        _sendIndex.Note(e);
        var eoi = _eois.IsEoi(e);

        // A service session's request is numbered in its session and outside the VM's time: not an APIC's event.
        var track = e.Event == TraceReplayer.ServiceRequestEvent ? null : TrackOf(e);

        // An APIC hears of clock advances by message, so a receiver can take an IPI at an earlier virtual time than
        // its sender sent it: such an event and the receiver's later ones are drawn no earlier than the send
        // (args.virtual_ns keeps the recorded time).
        var key = (e.Vm, e.ApicId);
        var ns = Math.Max(e.VirtualTimeNs, _clocks.GetValueOrDefault(key, long.MinValue));
        if (e.Source is uint source && IpiSendIndex.IsMessageDelivery(e))
        {
            if (_sendIndex.Find(e, source) is not int number)
            {
                _unlinked++;
            }
            else
            {
                var send = _sends[number];
                ns = Math.Max(ns, send.DrawnNs);
                var flowId = ++_flows;
                Add(new ChromeTraceEvent('s', FlowName, CategoryIpi, send.DrawnNs, send.Track, send.Line, 3, FlowId: flowId,
                    Args: [new("seq", send.Seq)]));
                Add(new ChromeTraceEvent('f', FlowName, CategoryIpi, ns, track!.Index, e.LineNumber, 3, FlowId: flowId,
                    Args: [new("seq", e.Seq)]));
            }
        }
        _clocks[key] = ns;

        if (e.Event == "IpiSent" && track is not null)
        {
            _sendIndex.AddSend(e);
            _sends.Add(new Send(e.LineNumber, e.Seq, ns, track.Index));
        }
        if (track is not null)
        {
            Draw(e, ns, track, eoi);
        }
    }

    /// <summary>
    /// Ends the interrupts still in service (at their APIC's last event) and writes the timeline to
    /// <paramref name="output"/>: the metadata, then every event in time order. Call once, after the last event.
    /// </summary>
    public ChromeTraceExportSummary WriteTo(Stream output, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_written)
        {
            throw new InvalidOperationException("the timeline has been written");
        }
        _written = true;

        var openAtEnd = 0;
        foreach (var track in _tracks.Values)
        {
            openAtEnd += track.InService.Count;
            EndAll(track, track.LastSeq, track.LastNs, null);
            Settle(track, widen: true);
        }

        // Process ids 1..V, thread ids after them, unique over the whole file (some viewers key threads by tid alone).
        var ids = new (int Pid, int Tid)[_tracks.Count];
        var metadata = 0;
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteStartArray("traceEvents");
        var nextTid = _vms.Count + 1;
        for (var v = 0; v < _vms.Count; v++)
        {
            var pid = v + 1;
            WriteMeta(writer, "process_name", pid, 0, "VM " + _vms[v]);
            WriteMeta(writer, "process_sort_index", pid, 0, pid);
            metadata += 2;
            var sort = 0;
            foreach (var apicId in _apicIds[_vms[v]])
            {
                var tid = nextTid++;
                ids[_tracks[(_vms[v], apicId)].Index] = (pid, tid);
                WriteMeta(writer, "thread_name", pid, tid, _vms[v] + " APIC " + Hex.Of(apicId));
                WriteMeta(writer, "thread_sort_index", pid, tid, sort++);
                metadata += 2;
            }
        }

        var idsJson = ids.Select(i => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $",\"pid\":{i.Pid},\"tid\":{i.Tid}"))).ToArray();
        var buffer = new ArrayBufferWriter<byte>(1024);
        foreach (var e in _sorter.Sorted())
        {
            // The event's JSON with its process and thread ids put in after its phase.
            buffer.ResetWrittenCount();
            buffer.Write(e.Json.AsSpan(0, e.IdsAt));
            buffer.Write(idsJson[e.Track]);
            buffer.Write(e.Json.AsSpan(e.IdsAt));
            writer.WriteRawValue(buffer.WrittenSpan, skipInputValidation: true);
            if (writer.BytesPending >= 1 << 16)
            {
                writer.Flush();
            }
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
        return new ChromeTraceExportSummary(_traceEvents, _tracks.Count, _slices, openAtEnd, (int)_flows, _unlinked, metadata + (int)_sorter.Count);
    }

    public void Dispose()
    {
        _jsonWriter.Dispose();
        _sorter.Dispose();
    }

    private Track TrackOf(TraceRecord e)
    {
        if (_tracks.TryGetValue((e.Vm, e.ApicId), out var track))
        {
            return track;
        }
        if (!_apicIds.TryGetValue(e.Vm, out var set))
        {
            _vms.Add(e.Vm);
            _apicIds[e.Vm] = set = new SortedSet<uint>();
        }
        set.Add(e.ApicId);
        _tracks[(e.Vm, e.ApicId)] = track = new Track(_tracks.Count);
        return track;
    }

    /// <summary>Draws one APIC event (at <paramref name="ns"/>) on its track; <paramref name="eoi"/>: it ends the highest interrupt in service.</summary>
    private void Draw(TraceRecord e, long ns, Track track, bool eoi)
    {
        if (ns > track.LastNs)
        {
            // Time has moved on at this APIC: slices that ended at its last time have room to be drawn visible.
            Settle(track, widen: true);
        }
        track.LastSeq = e.Seq;
        track.LastNs = ns;
        var inService = track.InService;
        if (eoi && e.Event != "Eoi")
        {
            // The guest wrote the EOI register: the access is drawn as every access is, and ends the interrupt.
            EndHighest(e, ns, track, "EOI write");
        }
        switch (e.Event)
        {
            case "Acknowledged" when e.Vector is int vector:
                Settle(track, widen: false);
                inService.Add(new InService(vector, e, ns));
                break;
            case "Acknowledged":
                Add(Instant(e, ns, track, "ack: " + (e.Detail ?? "none"), CategoryInterrupt));
                break;
            case "Eoi":
                if (!eoi || !EndHighest(e, ns, track, "EOI"))
                {
                    Add(Instant(e, ns, track, inService.Count == 0 ? "EOI (nothing in service)" : "EOI: " + e.Detail, CategoryInterrupt));
                }
                break;
            case "IpiSent":
                Settle(track, widen: false);
                Add(Marker(e, ns, track, "IPI " + VectorText(e) + " -> " + (e.Destination ?? "?"), CategoryIpi));
                break;
            case "ModeChanged":
                Add(Instant(e, ns, track, "mode: " + (e.Detail ?? Hex.Of(e.Value ?? 0)), CategoryApic));
                if (TraceDetail.Get(e.Detail, "mode") == nameof(ApicMode.Disabled))
                {
                    EndAll(track, e.Seq, ns, "hardware disable");
                }
                break;
            case var name when IpiSendIndex.IsMessageDelivery(e) && e.Value is ulong packed:
                var message = PackedMessage.Unpack(packed);
                if (name == "Init" && e.Detail == nameof(AcceptOutcome.InitReset))
                {
                    EndAll(track, e.Seq, ns, "INIT");
                }
                Settle(track, widen: false);
                Add(Marker(e, ns, track, DeliveryName(e, message), CategoryDelivery));
                if (message.Mode is DeliveryMode.Nmi or DeliveryMode.Smi or DeliveryMode.Init or DeliveryMode.StartUp)
                {
                    Add(Instant(e, ns, track, InitSipiNmiName(message, e.Detail), CategoryInitSipiNmi, part: 2));
                }
                break;
            case "MmioRead" or "MmioWrite" or "MsrRead" or "MsrWrite":
                Add(Instant(e, ns, track, AccessName(e), CategoryRegister));
                break;
            case "TimerFired" or "TimerArmed" or "TimerCancelled":
                Add(Instant(e, ns, track, TimerName(e), CategoryTimer));
                break;
            default:
                Add(Instant(e, ns, track, OtherName(e), CategoryApic));
                break;
        }
    }

    /// <summary>Ends the highest vector in service on <paramref name="track"/>, as an EOI does; false when nothing is in service.</summary>
    private bool EndHighest(TraceRecord e, long ns, Track track, string endedBy)
    {
        var inService = track.InService;
        var highest = -1;
        for (var i = 0; i < inService.Count; i++)
        {
            if (highest < 0 || inService[i].Vector > inService[highest].Vector)
            {
                highest = i;
            }
        }
        if (highest < 0)
        {
            return false;
        }
        End(track, ServiceSlice(inService[highest], e.Seq, ns, track, endedBy));
        _slices++;
        inService.RemoveAt(highest);
        return true;
    }

    /// <summary>Ends every interrupt in service on <paramref name="track"/> at the event with <paramref name="endSeq"/>, drawn at <paramref name="endNs"/>.</summary>
    private void EndAll(Track track, long endSeq, long endNs, string? reason)
    {
        foreach (var open in track.InService)
        {
            End(track, ServiceSlice(open, endSeq, endNs, track, reason));
        }
        _slices += track.InService.Count;
        track.InService.Clear();
    }

    /// <summary>
    /// An interrupt's slice, ending at its APIC's present time. One of no length is drawn <see
    /// cref="ChromeTraceExporter.VisibleNs"/> wide, as IPI slices are, if nothing else starts on the track at the time
    /// it ends: it waits with the others that end then (<see cref="Track.Ended"/>) for the APIC's next event to
    /// tell (see <see cref="Settle"/>). A slice that some of them end inside waits with them, since it must enclose
    /// them however wide they are drawn.
    /// </summary>
    private void End(Track track, ChromeTraceEvent slice)
    {
        if (slice.DurationNs > 0 && track.Ended.Count == 0)
        {
            Add(slice);
            return;
        }
        track.Ended.Add(slice);
    }

    /// <summary>
    /// Draws the slices that ended at the track's last time. <paramref name="widen"/>: the APIC's time has moved on
    /// (or the trace has ended), so a slice of no length takes <see cref="ChromeTraceExporter.VisibleNs"/> and a slice
    /// ends no earlier than those inside it; otherwise another slice starts at that time on the track, after they
    /// ended, and they keep their length so as not to overlap it.
    /// </summary>
    private void Settle(Track track, bool widen)
    {
        var ended = track.Ended;
        var ends = new long[ended.Count];
        for (var i = 0; i < ended.Count; i++)
        {
            var slice = ended[i];
            var length = slice.DurationNs!.Value;
            if (widen)
            {
                length = ChromeTraceExporter.VisibleNs(length);
                // Those that ended before it and started no earlier are inside it (an EOI ends the highest vector first).
                for (var j = 0; j < i; j++)
                {
                    if (ended[j].TimeNs >= slice.TimeNs)
                    {
                        length = Math.Max(length, ends[j] - slice.TimeNs);
                    }
                }
            }
            ends[i] = slice.TimeNs + length;
            Add(length == slice.DurationNs ? slice : slice with { DurationNs = length });
        }
        ended.Clear();
    }

    /// <summary>Makes the event's JSON (without its process and thread ids) and hands it to the sorter.</summary>
    private void Add(ChromeTraceEvent e)
    {
        _json.ResetWrittenCount();
        _jsonWriter.Reset();
        var w = _jsonWriter;
        w.WriteStartObject();
        w.WriteString("name", e.Name);
        w.WriteString("ph", e.Phase.ToString());
        w.Flush();
        var idsAt = _json.WrittenCount;
        w.WriteString("cat", e.Category);
        w.WriteNumber("ts", Microseconds(e.TimeNs));
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
        WriteArgs(w, e.Args);
        w.WriteEndObject();
        w.Flush();
        _sorter.Add(new SortableChromeEvent(e.TimeNs, e.Line, e.Part, e.FlowId ?? 0, e.Track, idsAt, _json.WrittenSpan.ToArray()));
    }

    private static void WriteMeta(Utf8JsonWriter w, string name, int pid, int tid, object value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("ph", "M");
        w.WriteNumber("pid", pid);
        w.WriteNumber("tid", tid);
        WriteArgs(w, [new(name.EndsWith("_name", StringComparison.Ordinal) ? "name" : "sort_index", value)]);
        w.WriteEndObject();
    }

    private static void WriteArgs(Utf8JsonWriter w, IReadOnlyList<KeyValuePair<string, object>>? args)
    {
        if (args is not { Count: > 0 })
        {
            return;
        }
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
                case ulong u:
                    w.WriteNumber(name, u);
                    break;
                default:
                    w.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }
        w.WriteEndObject();
    }

    /// <summary>Virtual nanoseconds as microseconds, exactly (three decimals).</summary>
    private static decimal Microseconds(long ns) => ns / 1000m;

    private static ChromeTraceEvent ServiceSlice(InService open, long endSeq, long endNs, Track track, string? endedBy)
    {
        var args = Args(open.Ack);
        args.Add(new("ended_by", endedBy ?? "end of trace (no EOI)"));
        args.Add(new("end_seq", endSeq));
        return new ChromeTraceEvent('X', "IRQ " + VectorText(open.Ack), CategoryInterrupt, open.AckNs, track.Index, open.Ack.LineNumber, 0,
            DurationNs: Math.Max(0, endNs - open.AckNs), Args: args);
    }

    private static ChromeTraceEvent Marker(TraceRecord e, long ns, Track track, string name, string category) =>
        new('X', name, category, ns, track.Index, e.LineNumber, 1, DurationNs: ChromeTraceExporter.VisibleNs(0), Args: Args(e));

    private static ChromeTraceEvent Instant(TraceRecord e, long ns, Track track, string name, string category, int part = 1) =>
        new('i', name, category, ns, track.Index, e.LineNumber, part, Args: Args(e));

    private static List<KeyValuePair<string, object>> Args(TraceRecord e)
    {
        var args = new List<KeyValuePair<string, object>> { new("seq", e.Seq), new("event", e.Event), new("virtual_ns", e.VirtualTimeNs) };
        if (e.Register is not null) args.Add(new("register", e.Register));
        if (e.Value is ulong value) args.Add(new("value", Hex.Of(value)));
        // A timer event's value is a virtual time, its expiry: also given in decimal nanoseconds, as virtual_ns is.
        if (e.Value is ulong due && e.Event is "TimerArmed" or "TimerCancelled" or "TimerFired") args.Add(new("due_ns", due));
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

    /// <summary>One APIC's thread: its number, interrupts in service, and its last event so far.</summary>
    private sealed class Track(int index)
    {
        public int Index { get; } = index;

        public List<InService> InService { get; } = new();

        /// <summary>Slices that ended at <see cref="LastNs"/> and wait to be drawn, in the order they ended.</summary>
        public List<ChromeTraceEvent> Ended { get; } = new();

        public long LastSeq { get; set; }

        public long LastNs { get; set; }
    }

    /// <summary>An interrupt in service: its vector, and its acknowledge as read and drawn.</summary>
    private readonly record struct InService(int Vector, TraceRecord Ack, long AckNs);

    /// <summary>An IPI send as drawn: its line, Seq, time and track.</summary>
    private readonly record struct Send(int Line, long Seq, long DrawnNs, int Track);
}
