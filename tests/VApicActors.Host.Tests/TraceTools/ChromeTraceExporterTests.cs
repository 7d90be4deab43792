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
        Assert.Contains(file.Phase("M"), m => Name(m) == "process_name" && m.GetProperty("args").GetProperty("name").GetString()!.StartsWith("VM timeline-", StringComparison.Ordinal));
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
    public void Export_DeliveryWithoutItsSend_HasNoArrow()
    {
        var lines = new[]
        {
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16449,"Vector":65,"Source":0,"VirtualTimeNs":10,"Seq":1,"SourceSeq":4,"Detail":"Accepted"}""",
            """{"Vm":"v","ApicId":0,"Event":"IpiSent","Value":16449,"Vector":65,"Destination":"physical 0x1","VirtualTimeNs":5,"Seq":4,"Detail":"Fixed"}""",
            """{"Vm":"v","ApicId":1,"Event":"Accepted","Value":16450,"Vector":66,"Source":0,"VirtualTimeNs":12,"Seq":2,"SourceSeq":9,"Detail":"Accepted"}""",
        };
        var trace = ClefTraceReader.Read(lines, "hand.clef");
        using var stream = new MemoryStream();

        var summary = ChromeTraceExporter.Export(trace.Events, stream);

        Assert.Equal(1, summary.Flows);
        Assert.Equal(1, summary.UnlinkedDeliveries);
    }

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
