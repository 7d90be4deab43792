using System.Text.Json;
using VApicActors.Actors;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;
using static VApicActors.Host.Tests.TraceTools.ChromeTraceFile;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class ChromeTraceExporterTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    [Fact]
    public async Task Export_SimulatorTrace_IsAValidChromeTrace()
    {
        var (file, summary) = await ExportTimelineAsync();

        Assert.True(summary.Flows > 0);
        Assert.Equal(summary.Flows, file.Phase("s").Count());
        Assert.Equal(3, file.Phase("M").Count(m => Name(m) == "thread_name"));
        Assert.Contains(file.Phase("M"), m => Name(m) == "process_name" && m.GetProperty("args").GetProperty("name").GetString() == "VM timeline");
    }

    [Fact]
    public async Task Export_NestedInterrupts_EoiEndsTheHighestInService()
    {
        var (file, summary) = await ExportTimelineAsync();

        var apic1 = file.Phase("X").Where(s => file.ThreadName(s).EndsWith("APIC 0x1", StringComparison.Ordinal) && s.GetProperty("cat").GetString() == "interrupt").ToList();
        var outer = Assert.Single(apic1, s => Name(s) == "IRQ 0x41");
        var inner = Assert.Single(apic1, s => Name(s) == "IRQ 0x61");
        Assert.Equal(0.1m, Ts(outer));
        Assert.Equal(0.4m, Dur(outer));
        Assert.Equal(0.3m, Ts(inner));
        Assert.Equal(0.1m, Dur(inner));
        Assert.Single(apic1, s => Name(s) == "IRQ 0x51");
        var timer = Assert.Single(apic1, s => Name(s) == "IRQ 0xee");
        Assert.Equal("end of trace (no EOI)", timer.GetProperty("args").GetProperty("ended_by").GetString());
        Assert.Equal(4, summary.InterruptSlices);
        Assert.Equal(1, summary.OpenAtEnd);
    }

    [Fact]
    public async Task Export_AnInterruptAcknowledgedAndEoidAtOneTime_IsDrawnAsWideAsAnIpiSlice()
    {
        var (file, _) = await ExportTimelineAsync();

        // 0x51 is taken and EOI'd at 500 ns: a slice of no length, drawn 1 ns wide as the IPI slices are.
        var x51 = Assert.Single(file.Phase("X"), s => Name(s) == "IRQ 0x51");
        Assert.Equal(0.5m, Ts(x51));
        Assert.Equal(ChromeTraceExporter.MarkerNs / 1000m, Dur(x51));
        Assert.Equal(0.001m, Dur(Assert.Single(file.Phase("X"), s => Name(s) == "IPI 0x51 -> all-but-self")));
    }

    [Fact]
    public void Export_SlicesOfNoLength_StayInsideTheirOuterSliceAndOffTheNextOne()
    {
        var seq = 0L;
        var line = 0;
        TraceRecord At(long ns, string name, int? vector = null) => Record(++line, 1, ++seq, name, ns, vector: vector, detail: vector is null ? null : "0x" + vector.Value.ToString("x2"));
        var trace = new[]
        {
            // 0x41 from 10 ns; 0x61 inside it, taken and EOI'd at 20 ns, then 0x41 EOI'd at 20 ns too.
            At(10, "Acknowledged", 0x41), At(20, "Acknowledged", 0x61), At(20, "Eoi"), At(20, "Eoi"),
            // 0x42 and 0x43 one after the other at 30 ns: the first has no room, the second has.
            At(30, "Acknowledged", 0x42), At(30, "Eoi"), At(30, "Acknowledged", 0x43), At(30, "Eoi"),
            // 0x44 at 40 ns, then an IPI sent at 40 ns: 0x44 keeps its length, not to take in the IPI's slice.
            At(40, "Acknowledged", 0x44), At(40, "Eoi"),
            Record(++line, 1, ++seq, "IpiSent", 40, value: 0x4045, vector: 0x45, destination: "self", detail: "Fixed"),
            // 0x46 at 50 ns, the trace's end.
            At(50, "Acknowledged", 0x46), At(50, "Eoi"),
        };
        using var dir = new TempDirectory();
        var output = dir.File("zero.json");
        using (var stream = File.Create(output))
        {
            ChromeTraceExporter.Export(trace, stream);
        }

        // (Load checks that the slices of a track nest.)
        var slices = ChromeTraceFile.Load(output).Phase("X").Where(x => x.GetProperty("cat").GetString() == "interrupt")
            .ToDictionary(Name, x => (Ts: Ts(x) * 1000, End: (Ts(x) + Dur(x)) * 1000));
        Assert.Equal((10m, 21m), slices["IRQ 0x41"]);
        Assert.Equal((20m, 21m), slices["IRQ 0x61"]);
        Assert.Equal((30m, 30m), slices["IRQ 0x42"]);
        Assert.Equal((30m, 31m), slices["IRQ 0x43"]);
        Assert.Equal((40m, 40m), slices["IRQ 0x44"]);
        Assert.Equal((50m, 51m), slices["IRQ 0x46"]);
    }

    [Fact]
    public async Task Export_TimerEvents_GiveTheirDueTimeInDecimalNanoseconds()
    {
        var (file, _) = await ExportTimelineAsync();

        var timers = file.Phase("i").Where(i => i.GetProperty("cat").GetString() == "timer" && i.GetProperty("args").TryGetProperty("value", out _)).ToList();
        Assert.Contains(timers, t => Name(t) == "timer armed");
        Assert.Contains(timers, t => Name(t) == "timer fired 0xee");
        foreach (var timer in timers)
        {
            var args = timer.GetProperty("args");
            Assert.Equal(Convert.ToUInt64(args.GetProperty("value").GetString(), 16), args.GetProperty("due_ns").GetUInt64());
        }
        // The timer of APIC 1 was armed at 500 ns for 100 ticks of 2 ns (TDCR's reset value divides by 2): due at 700 ns.
        Assert.Equal(700UL, timers.First(t => Name(t) == "timer fired 0xee").GetProperty("args").GetProperty("due_ns").GetUInt64());
        Assert.DoesNotContain(file.Phase("i"), i => i.GetProperty("args").TryGetProperty("due_ns", out _) && i.GetProperty("cat").GetString() != "timer");
    }

    [Fact]
    public async Task Export_Ipis_ArrowFromTheIcrWriteToEveryDestination()
    {
        var (file, _) = await ExportTimelineAsync();

        var sendsOf0x51 = file.Phase("X").Where(s => Name(s) == "IPI 0x51 -> all-but-self").ToList();
        var send = Assert.Single(sendsOf0x51);
        Assert.EndsWith("APIC 0x0", file.ThreadName(send));
        // Each arrow end names the Seq of its event: the send's, and the destination's delivery of 0x51.
        var arrows = file.Phase("s").Where(s => s.GetProperty("args").GetProperty("seq").GetInt64() == Seq(send))
            .Select(s => file.Phase("f").Single(f => f.GetProperty("id").GetInt64() == s.GetProperty("id").GetInt64()))
            .ToList();
        Assert.Equal(["APIC 0x1", "APIC 0x2"], arrows.Select(f => file.ThreadName(f)[^8..]).Order());
        foreach (var finish in arrows)
        {
            var delivery = file.Phase("X").Single(x => file.ThreadName(x) == file.ThreadName(finish) && Seq(x) == finish.GetProperty("args").GetProperty("seq").GetInt64());
            Assert.Equal("take 0x51 (Accepted)", Name(delivery));
            Assert.Equal(Ts(send), Ts(finish));
            Assert.Equal(file.Enclosing(finish)!.Value.GetProperty("ts").GetDecimal(), Ts(delivery));
        }

        // NMI, INIT and SIPI to APIC 2 each end an arrow from the ICR write that sent them.
        var apic2 = file.Phase("X").Where(x => file.ThreadName(x).EndsWith("APIC 0x2", StringComparison.Ordinal)).ToList();
        foreach (var kind in new[] { "take NMI", "take INIT", "take SIPI" })
        {
            var delivery = Assert.Single(apic2, x => Name(x).StartsWith(kind, StringComparison.Ordinal));
            Assert.Single(file.Phase("f"), f => file.ThreadName(f) == file.ThreadName(delivery) && f.GetProperty("args").GetProperty("seq").GetInt64() == Seq(delivery));
        }
    }

    [Fact]
    public async Task Export_InstantEvents_ForAccessesTimersAndInitSipiNmi()
    {
        var (file, _) = await ExportTimelineAsync();

        var instants = file.Phase("i").Select(Name).ToList();
        Assert.Contains("write ICR", instants);
        Assert.Contains("read ISR0", instants);
        Assert.Contains("NMI (NmiDelivered)", instants);
        Assert.Contains("INIT (InitReset)", instants);
        Assert.Contains("SIPI 0x9a (Started)", instants);
        Assert.Contains("timer fired 0xee", instants);
        var fired = file.Phase("i").First(i => Name(i) == "timer fired 0xee");
        Assert.Equal(0.7m, Ts(fired));
        Assert.Contains(file.Phase("X"), s => Name(s) == "MSI 0x62 (Accepted)");
    }

    [Fact]
    public async Task Export_ConcurrentRun_EveryIpiDeliveryHasItsArrow()
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("concurrent.clef");
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            await using var vm = await VmHandle.CreateAsync(fixture.System, new VmSpec("busy", 6), sink);
            await ConcurrentWorkload.RunAsync(fixture.System, vm, operationsPerVcpu: 200, seed: 3);
            await vm.SaveAsync();
        }
        var events = ClefTraceReader.ReadFile(tracePath).Events;
        var output = dir.File("concurrent.json");
        ChromeTraceExportSummary summary;
        using (var stream = File.Create(output))
        {
            summary = ChromeTraceExporter.Export(events, stream);
        }

        var file = ChromeTraceFile.Load(output);
        Assert.Equal(0, summary.UnlinkedDeliveries);
        Assert.Equal(events.Count(e => e.Source is not null), summary.Flows);
        Assert.Equal(summary.Flows, file.Phase("f").Count());
        Assert.Equal(events.Count(e => e.Event == "Acknowledged" && e.Vector is not null), file.Phase("X").Count(x => x.GetProperty("cat").GetString() == "interrupt"));
    }

    [Fact]
    public async Task Export_EoiRegisterWrites_EndTheSliceOnlyWhereTheyReachTheRegister()
    {
        using var dir = new TempDirectory();
        var trace = await SimulatorTraces.RecordAsync(fixture.System, dir, "eoi-writes", TraceIpisCommandTests.EoiByRegisterWrites);
        var events = ClefTraceReader.ReadFile(trace).Events.Where(e => e.ApicId == 1).ToList();
        var output = dir.File("eoi.json");
        ChromeTraceExportSummary summary;
        using (var stream = File.Create(output))
        {
            summary = ChromeTraceExporter.Export(ClefTraceReader.ReadFile(trace).Events, stream);
        }

        var slices = ChromeTraceFile.Load(output).Phase("X").Where(x => x.GetProperty("cat").GetString() == "interrupt").ToList();
        Assert.Equal(0, summary.OpenAtEnd);
        var x42 = Assert.Single(slices, s => Name(s) == "IRQ 0x42");
        var x41 = Assert.Single(slices, s => Name(s) == "IRQ 0x41");
        Assert.Equal("EOI write", x42.GetProperty("args").GetProperty("ended_by").GetString());
        Assert.Equal(events.First(e => e.Event == "MmioWrite" && e.Register == "EOI").Seq, x42.GetProperty("args").GetProperty("end_seq").GetInt64());
        Assert.Equal(events.Single(e => e.Event == "MsrWrite" && e.Register == "EOI" && e.Value == 0).Seq, x41.GetProperty("args").GetProperty("end_seq").GetInt64());
    }

    [Fact]
    public void Export_DeliveryWithoutItsSend_HasNoArrow()
    {
        var lines = new[]
        {
            """{"Vm":"v","ApicId":0,"Event":"IpiSent","Value":16449,"Vector":65,"Destination":"physical 0x1","VirtualTimeNs":5,"Seq":4,"Detail":"Fixed"}""",
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":10,"Seq":1,"SourceSeq":4,"Detail":"Accepted"}""",
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16450,"Vector":66,"Source":0,"VirtualTimeNs":12,"Seq":2,"SourceSeq":9,"Detail":"Accepted"}""",
        };
        var trace = ClefTraceReader.Read(lines, "hand.clef");
        using var stream = new MemoryStream();

        var summary = ChromeTraceExporter.Export(trace.Events, stream);

        Assert.Equal(1, summary.Flows);
        Assert.Equal(1, summary.UnlinkedDeliveries);
    }

    [Fact]
    public void Export_DeliveryWrittenBeforeItsSend_HasNoArrow()
    {
        // The simulator writes a send before any delivery of it; a trace in another order links only what came after.
        var lines = new[]
        {
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":10,"Seq":1,"SourceSeq":4,"Detail":"Accepted"}""",
            """{"Vm":"v","ApicId":0,"Event":"IpiSent","Value":16449,"Vector":65,"Destination":"physical 0x1","VirtualTimeNs":5,"Seq":4,"Detail":"Fixed"}""",
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":12,"Seq":2,"SourceSeq":4,"Detail":"Accepted"}""",
        };
        using var stream = new MemoryStream();

        var summary = ChromeTraceExporter.Export(ClefTraceReader.Read(lines, "hand.clef").Events, stream);

        Assert.Equal(1, summary.Flows);
        Assert.Equal(1, summary.UnlinkedDeliveries);
    }

    [Fact]
    public void Export_LongTrace_HoldsABoundedNumberOfEventsAndWritesTheSameTimelineAsInMemory()
    {
        const int steps = 20_000;
        const long runBytes = 256 << 10;
        byte[] spilled, inMemory;
        ChromeTraceExportSummary summary;
        using (var timeline = new ChromeTraceTimeline(runBytes))
        {
            foreach (var e in SyntheticTrace(steps))
            {
                timeline.Add(e);
                Assert.True(timeline.OpenInterrupts <= 1, $"{timeline.OpenInterrupts} interrupts open after line {e.LineNumber}");
            }
            Assert.True(timeline.TemporaryRuns > 1, $"{timeline.TemporaryRuns} temporary runs");
            // A held event costs at least 64 bytes beyond its JSON: no more than runBytes / 64 are ever held.
            Assert.True(timeline.MostHeldEvents <= runBytes / 64, $"{timeline.MostHeldEvents} events held at once");
            using var stream = new MemoryStream();
            summary = timeline.WriteTo(stream);
            spilled = stream.ToArray();
        }
        using (var timeline = new ChromeTraceTimeline(long.MaxValue))
        {
            foreach (var e in SyntheticTrace(steps))
            {
                timeline.Add(e);
            }
            using var stream = new MemoryStream();
            timeline.WriteTo(stream);
            Assert.Equal(0, timeline.TemporaryRuns);
            inMemory = stream.ToArray();
        }

        Assert.Equal(inMemory, spilled);
        Assert.Equal(steps * 5, summary.TraceEvents);
        Assert.Equal(steps, summary.Flows);
        Assert.Equal(steps, summary.InterruptSlices);
        Assert.Equal(0, summary.UnlinkedDeliveries);
        // Metadata (2 per VM and per APIC), then per step: the send's slice and arrow start, the delivery's slice
        // and arrow end, the interrupt's slice and the register write.
        Assert.Equal(2 + 4 * 2 + steps * 6, summary.ChromeEvents);
        using var document = JsonDocument.Parse(spilled);
        var times = document.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() != "M").Select(Ts).ToList();
        Assert.Equal(steps * 6, times.Count);
        Assert.Equal(times.Order(), times);
    }

    [Fact]
    public void Export_ThatSpills_LeavesNoFileBehindEvenIfItNeverEnds()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // (an open file keeps its name there until it is closed)
        }
        using var dir = new TempDirectory();
        // Not disposed before the check: an export ended by Ctrl-C or a kill never closes its temporary file.
        var timeline = new ChromeTraceTimeline(64 << 10, dir.Path);
        foreach (var e in SyntheticTrace(5_000))
        {
            timeline.Add(e);
        }

        Assert.True(timeline.TemporaryRuns > 1, $"{timeline.TemporaryRuns} temporary runs");
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
        using var stream = new MemoryStream();
        Assert.Equal(5_000 * 5, timeline.WriteTo(stream).TraceEvents);
        timeline.Dispose();
    }

    [Fact]
    public void Export_KeepsNoEventOnceItIsDrawn()
    {
        using var timeline = new ChromeTraceTimeline();
        // Fed on a thread of its own, so that no stack slot of this one still points at the last event.
        List<WeakReference> read = null!;
        var feeder = new Thread(() => read = Feed(timeline, SyntheticTrace(2_000)));
        feeder.Start();
        feeder.Join();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Every interrupt ended with its EOI, so nothing of the trace is needed any more.
        Assert.Equal(0, timeline.OpenInterrupts);
        Assert.Equal(10_000, read.Count);
        Assert.DoesNotContain(read, r => r.IsAlive);
        using var stream = new MemoryStream();
        Assert.Equal(10_000, timeline.WriteTo(stream).TraceEvents);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static List<WeakReference> Feed(ChromeTraceTimeline timeline, IEnumerable<TraceRecord> events)
    {
        var read = new List<WeakReference>();
        foreach (var e in events)
        {
            read.Add(new WeakReference(e));
            timeline.Add(e);
        }
        return read;
    }

    /// <summary>
    /// Four APICs of VM <c>v</c> taking turns: at each step one sends IPI 0x41 to the next, which takes it,
    /// acknowledges it, writes a register and signals EOI (five events, ten virtual ns apart from the next step).
    /// </summary>
    private static IEnumerable<TraceRecord> SyntheticTrace(int steps)
    {
        const ulong message = 0x4041;
        var seqs = new long[4];
        var line = 0;
        for (var step = 0; step < steps; step++)
        {
            uint sender = (uint)(step % 4), receiver = (uint)((step + 1) % 4);
            var ns = step * 10L;
            var sendSeq = ++seqs[sender];
            yield return Record(++line, sender, sendSeq, "IpiSent", ns, value: message, vector: 0x41, destination: $"physical 0x{receiver:x}", detail: "Fixed");
            yield return Record(++line, receiver, ++seqs[receiver], "Accepted", ns + 1, value: message, vector: 0x41, source: sender, sourceSeq: sendSeq, detail: "Accepted");
            yield return Record(++line, receiver, ++seqs[receiver], "Acknowledged", ns + 2, vector: 0x41, detail: "0x41");
            yield return Record(++line, receiver, ++seqs[receiver], "MsrWrite", ns + 3, register: "TPR", value: 0, detail: "msr=0x808 result=Ok");
            yield return Record(++line, receiver, ++seqs[receiver], "Eoi", ns + 4);
        }
    }

    private static TraceRecord Record(
        int line, uint apicId, long seq, string name, long ns, string? register = null, ulong? value = null, int? vector = null,
        uint? source = null, string? destination = null, string? detail = null, long? sourceSeq = null) =>
        new(line, null, null, "v", apicId, seq, name, ns, register, value, vector, source, destination, detail, sourceSeq,
            System.Collections.Immutable.ImmutableDictionary<string, JsonElement>.Empty);

    private static long Seq(JsonElement e) => e.GetProperty("args").GetProperty("seq").GetInt64();

    [Fact]
    public async Task Export_ServiceRequests_ChangeNothingOnTheApicsTracks()
    {
        using var dir = new TempDirectory();
        var events = ClefTraceReader.ReadFile(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline)).Events;
        // A traced service request as the service writes it: no virtual time, its session's request number as Seq,
        // here beyond every event of APIC 1, where it would have decided how that APIC's track ends.
        var last = events.Last(e => e.ApicId == 1);
        var request = last with { LineNumber = events.Count + 1, Seq = last.Seq + 100, Event = TraceReplayer.ServiceRequestEvent, VirtualTimeNs = -1, Register = null, Value = null, Vector = null, Source = null, Destination = null, SourceSeq = null, Detail = "session=1 request=\"eoi\" response=\"OK\"" };

        string Export(IReadOnlyList<TraceRecord> trace)
        {
            using var stream = new MemoryStream();
            ChromeTraceExporter.Export(trace, stream);
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }

        Assert.Equal(Export(events), Export([.. events, request]));
    }

    private async Task<(ChromeTraceFile File, ChromeTraceExportSummary Summary)> ExportTimelineAsync()
    {
        using var dir = new TempDirectory();
        var tracePath = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var output = dir.File("timeline.json");
        ChromeTraceExportSummary summary;
        using (var stream = File.Create(output))
        {
            summary = ChromeTraceExporter.Export(ClefTraceReader.ReadFile(tracePath).Events, stream);
        }
        return (ChromeTraceFile.Load(output), summary);
    }
}
