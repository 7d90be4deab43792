using System.Text.Json;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests;

public sealed class TraceTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    /// <summary>Guest accesses, IPIs, acceptance, coalescing, drops, acknowledge, EOI and its broadcast, timer arm and fire, INIT/SIPI/NMI, mode changes.</summary>
    private const string EveryKind = """
        vm vcpus=2 boot=bsp
        writel 0xfee000f0 0x1ff
        readl 0xfee00030
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00008500
        writel 0xfee00300 0x0000069a
        cpu 1
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00300 0x00004041
        writel 0xfee00300 0x00004041
        writel 0xfee00300 0x00004400
        msi 0xfee01000 0xc061
        msi 0xfee01000 0x0e
        cpu 1
        ack -> 0x61
        eoi
        ack -> 0x41
        eoi
        eoi-broadcasts -> 0x61
        writel 0xfee00320 0x000000ee
        writel 0xfee00380 100
        clock_step 100
        wrmsr 0x1b 0xfee00c00
        rdmsr 0x802 -> 1
        """;

    [Fact]
    public async Task Trace_EveryEventKind_HoldsTheNamedProperties()
    {
        using var dir = new TempDirectory();
        var path = dir.File("trace.clef");
        var script = dir.Write("kinds.vapic", EveryKind);
        using (var sink = SerilogTraceSink.Create(path))
        {
            var summary = await new ScenarioRunner(fixture.System, sink).RunAsync([script], TextWriter.Null, TextWriter.Null);
            Assert.Equal(0, summary.ExitCode);
        }

        var events = ClefReader.Read(path);
        Assert.NotEmpty(events);
        foreach (var e in events)
        {
            foreach (var name in SerilogTraceSink.PropertyNames)
            {
                Assert.True(e.TryGetProperty(name, out _), $"event {e} lacks {name}");
            }
            Assert.True(e.TryGetProperty("@t", out _));
            Assert.Equal(JsonValueKind.String, e.GetProperty("Vm").ValueKind);
            Assert.Equal(JsonValueKind.Number, e.GetProperty("ApicId").ValueKind);
            Assert.Equal(JsonValueKind.Number, e.GetProperty("VirtualTimeNs").ValueKind);
            Assert.Equal(JsonValueKind.Number, e.GetProperty("Seq").ValueKind);
        }

        var kinds = events.GroupBy(e => e.GetProperty("Event").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        Assert.True(kinds.Count >= 10, "event kinds: " + string.Join(", ", kinds.Keys));

        // Each APIC numbers its own events 1, 2, 3, ...
        foreach (var apic in events.GroupBy(e => (e.GetProperty("Vm").GetString(), e.GetProperty("ApicId").GetUInt32())))
        {
            var seqs = apic.Select(e => e.GetProperty("Seq").GetInt64()).Order().ToArray();
            Assert.Equal(Enumerable.Range(1, seqs.Length).Select(i => (long)i), seqs);
        }

        // Values land where a filter expects them: an interrupt event carries its vector, an IPI its source.
        Assert.Contains(events, e => e.GetProperty("Vector").ValueKind == JsonValueKind.Number && e.GetProperty("Vector").GetInt32() == 0x41);
        Assert.Contains(events, e => e.GetProperty("Register").ValueKind == JsonValueKind.String && e.GetProperty("Register").GetString() == "SVR");
        Assert.Contains(events, e => e.GetProperty("Source").ValueKind == JsonValueKind.Number);
        Assert.Contains(events, e => e.GetProperty("Destination").ValueKind == JsonValueKind.String);
        Assert.Contains(events, e => e.GetProperty("VirtualTimeNs").GetInt64() == 100);
    }

    [Fact]
    public async Task Trace_Filter_KeepsOnlyMatchingEvents()
    {
        using var dir = new TempDirectory();
        var path = dir.File("filtered.clef");
        var script = dir.Write("kinds.vapic", EveryKind);
        long offered, written;
        using (var sink = SerilogTraceSink.Create(path, "ApicId = 1 and Vector = 0x41"))
        {
            await new ScenarioRunner(fixture.System, sink).RunAsync([script], TextWriter.Null, TextWriter.Null);
            offered = sink.Offered;
            written = sink.Written;
        }

        var events = ClefReader.Read(path);
        Assert.NotEmpty(events);
        Assert.Equal(written, events.Count);
        Assert.True(offered > written);
        Assert.All(events, e =>
        {
            Assert.Equal(1u, e.GetProperty("ApicId").GetUInt32());
            Assert.Equal(0x41, e.GetProperty("Vector").GetInt32());
        });
    }

    [Fact]
    public async Task Run_VmNames_DependOnlyOnTheScriptAndItsPlaceInTheRun()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("other"));
        var x = dir.Write("x.vapic", "readl 0xfee00030\nvm vcpus=2\nreadl 0xfee00030\nvm vcpus=1\nreadl 0xfee00030\n");
        var y = dir.Write("y.vapic", "vm vcpus=1\nreadl 0xfee00030\n");
        var otherX = dir.Write(Path.Combine("other", "x.vapic"), "readl 0xfee00030\nvm vcpus=1\nreadl 0xfee00030\n");
        var x2 = dir.Write("x-2.vapic", "readl 0xfee00030\n");

        async Task<List<string>> VmsAsync(string name, params string[] files)
        {
            var path = dir.File(name);
            using (var sink = SerilogTraceSink.Create(path))
            {
                var summary = await new ScenarioRunner(fixture.System, sink).RunAsync(files, TextWriter.Null, TextWriter.Null);
                Assert.Equal(0, summary.ExitCode);
            }
            return ClefReader.Read(path).Select(e => e.GetProperty("Vm").GetString()!).Distinct().ToList();
        }

        // The first VM is named after the file, the later ones of that file -2, -3; a second file of the same name
        // (or whose names could meet those of an earlier one) is told apart with #2.
        Assert.Equal(["x", "x-2", "x-3", "y", "x#2", "x#2-2", "x-2#2"], await VmsAsync("all.clef", x, y, otherX, x2));
        // The same script gives the same names, whatever ran before it in the process.
        Assert.Equal(["y"], await VmsAsync("y.clef", y));
        Assert.Equal(["x", "x-2", "x-3"], await VmsAsync("x.clef", x));
    }

    [Fact]
    public void VmBaseNames_AreTheFileNames_MadeDistinctWithinARun()
    {
        Assert.Equal(["a", "b-c", "a#2", "a-2#2", "a-1", "a-02", "a#3"],
            ScenarioRunner.VmBaseNames(["a.vapic", "dir/b c.vapic", "other/a.vapic", "a-2.vapic", "a-1.vapic", "a-02.vapic", "a.vapic"]));
    }

    [Fact]
    public void Sink_WritesEveryPropertyOfAnEvent()
    {
        using var dir = new TempDirectory();
        var path = dir.File("one.clef");
        using (var sink = SerilogTraceSink.Create(path))
        {
            sink.Write(new TraceEvent("vm-1", 3, 7, "IpiSent", 1234, "ICR", 0x4041, 0x41, 3, "physical 0x1", "fixed"));
            sink.Write(new TraceEvent("vm-1", 3, 8, "Eoi", 1300));
        }

        var events = ClefReader.Read(path);
        Assert.Equal(2, events.Count);
        var first = events[0];
        Assert.Equal("vm-1", first.GetProperty("Vm").GetString());
        Assert.Equal(3u, first.GetProperty("ApicId").GetUInt32());
        Assert.Equal("IpiSent", first.GetProperty("Event").GetString());
        Assert.Equal("ICR", first.GetProperty("Register").GetString());
        Assert.Equal(0x4041UL, first.GetProperty("Value").GetUInt64());
        Assert.Equal(0x41, first.GetProperty("Vector").GetInt32());
        Assert.Equal(3u, first.GetProperty("Source").GetUInt32());
        Assert.Equal("physical 0x1", first.GetProperty("Destination").GetString());
        Assert.Equal(1234, first.GetProperty("VirtualTimeNs").GetInt64());
        Assert.Equal(7, first.GetProperty("Seq").GetInt64());
        Assert.Equal("fixed", first.GetProperty("Detail").GetString());
        Assert.Equal(JsonValueKind.Null, events[1].GetProperty("Vector").ValueKind);
        Assert.Equal(JsonValueKind.Null, events[1].GetProperty("Register").ValueKind);
    }

    [Fact]
    public void Sink_ReplacesAnOldFile()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("old.clef", "{\"stale\":true}\n");
        using (var sink = SerilogTraceSink.Create(path))
        {
            sink.Write(new TraceEvent("vm", 0, 1, "Eoi", 0));
        }
        var events = ClefReader.Read(path);
        Assert.Single(events);
        Assert.False(events[0].TryGetProperty("stale", out _));
    }

    [Theory]
    [InlineData("ApicId = ")]
    [InlineData("NoSuchFunction(ApicId)")]
    [InlineData("Vector in [0x41")]
    public void Filter_InvalidExpression_IsReportedNotThrown(string expression)
    {
        Assert.False(TraceFilter.TryCompile(expression, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<ArgumentException>(() => SerilogTraceSink.Create(Path.Combine(Path.GetTempPath(), "never.clef"), expression));
    }

    [Theory]
    [InlineData("EventName = 'IpiSent'", "no trace event has a property 'EventName'; they have Vm, ApicId, Event, Register, Value, Vector, Source, Destination, VirtualTimeNs, Seq, Detail, SourceSeq")]
    [InlineData("Apicid = 1 and Vector = 0x41", "no trace event has a property 'Apicid' (did you mean 'ApicId'?); they have Vm, ApicId, Event, Register, Value, Vector, Source, Destination, VirtualTimeNs, Seq, Detail, SourceSeq")]
    [InlineData("Vectr = 0x41", "no trace event has a property 'Vectr' (did you mean 'Vector'?); they have Vm, ApicId, Event, Register, Value, Vector, Source, Destination, VirtualTimeNs, Seq, Detail, SourceSeq")]
    [InlineData("Event = 'Accepted' and Cpu = 2", "no trace event has a property 'Cpu'; they have Vm, ApicId, Event, Register, Value, Vector, Source, Destination, VirtualTimeNs, Seq, Detail, SourceSeq")]
    public void Filter_NamingAPropertyNoTraceEventHas_IsRefusedWithTheNearestNames(string expression, string message)
    {
        // Serilog would compare a property that is never there and keep no event, without a word.
        Assert.False(TraceFilter.TryCompile(expression, out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("Event = 'IpiSent' ci and Detail like '%x2apic=true%'")]
    [InlineData("Event in ['IpiSent', 'Accepted'] and VirtualTimeNs >= 1000000")]
    [InlineData("IsDefined(SourceSeq) and not IsDefined(Register) or @m like 'Timer%'")]
    [InlineData("Destination like 'it''s and Whatever' and Vector <> 0xEC")]
    [InlineData("if Vector is null then false else Vector > 0x20")]
    [InlineData("StartsWith(Vm, 'default') and @p['ApicId'] = 1 and TypeOf(Value) = 'number'")]
    public void Filter_UsingOnlyTheTracesProperties_Compiles(string expression)
    {
        Assert.True(TraceFilter.TryCompile(expression, out var filter, out var error), error);
        Assert.NotNull(filter);
    }

    [Fact]
    public void Filter_HexAndListLiterals_Compile()
    {
        Assert.True(TraceFilter.TryCompile("ApicId = 1 and Vector = 0x41", out var a, out _));
        Assert.NotNull(a);
        Assert.True(TraceFilter.TryCompile("Vector in [0x41, 0x20]", out _, out _));
        Assert.True(TraceFilter.TryCompile("", out var none, out _));
        Assert.Null(none);
    }
}
