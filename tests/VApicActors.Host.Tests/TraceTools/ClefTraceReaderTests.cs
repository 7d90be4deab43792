using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class ClefTraceReaderTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    [Fact]
    public async Task ReadFile_SimulatorTrace_GivesEveryEventTyped()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);

        var result = ClefTraceReader.ReadFile(path);

        Assert.Empty(result.Errors);
        Assert.Equal(File.ReadAllLines(path).Length, result.Events.Count);
        var ipi = result.Events.First(e => e.Event == "IpiSent");
        Assert.Equal(0u, ipi.ApicId);
        Assert.Equal(0x41, ipi.Vector);
        Assert.Equal(0x4041UL, ipi.Value);
        Assert.Equal("physical 0x1", ipi.Destination);
        Assert.NotNull(ipi.Timestamp);
        Assert.Equal("{Event} at APIC {ApicId}", ipi.MessageTemplate);
        var write = result.Events.First(e => e.Event == "MmioWrite");
        Assert.Equal("SVR", write.Register);
        Assert.Equal("0xFEE000F0", TraceDetail.Get(write.Detail, "addr"));
        Assert.All(result.Events.GroupBy(e => (e.Vm, e.ApicId)), g =>
            Assert.Equal(Enumerable.Range(1, g.Count()).Select(i => (long)i), g.Select(e => e.Seq)));
        Assert.Contains(result.Events, e => e.Event == "Acknowledged" && e.Vector == 0x61 && e.VirtualTimeNs == 300);
    }

    [Fact]
    public async Task ReadFile_MalformedLines_NamesEachLineAndReadsTheRest()
    {
        using var dir = new TempDirectory();
        var path = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var lines = File.ReadAllLines(path).ToList();
        var count = lines.Count;
        var torn = lines[5][..(lines[5].Length / 2)];
        lines.Insert(3, "this is not JSON");
        lines.Insert(7, torn);
        lines.Insert(10, "[1, 2, 3]");
        lines.Insert(12, """{"@t":"2026-01-01T00:00:00Z","Vm":"x","ApicId":0,"Seq":1,"VirtualTimeNs":0}""");
        lines.Insert(14, """{"Vm":"x","ApicId":-1,"Event":"Eoi","Seq":1,"VirtualTimeNs":0}""");
        lines.Insert(16, "");
        var broken = dir.Write("broken.clef", string.Join('\n', lines));

        var result = ClefTraceReader.ReadFile(broken);

        Assert.Equal(count, result.Events.Count);
        Assert.Equal([4, 8, 11, 13, 15], result.Errors.Select(e => e.LineNumber));
        Assert.All(result.Errors, e => Assert.StartsWith($"{broken}:{e.LineNumber}: error: ", e.ToString()));
        Assert.Contains("not a JSON line", result.Errors[0].Reason);
        Assert.Contains("not a JSON line", result.Errors[1].Reason);
        Assert.Contains("array instead of an object", result.Errors[2].Reason);
        Assert.Contains("no Event property", result.Errors[3].Reason);
        Assert.Contains("ApicId is not an unsigned number", result.Errors[4].Reason);
        Assert.Equal(ClefTraceReader.ReadFile(path).Events.Select(e => (e.Vm, e.ApicId, e.Seq)), result.Events.Select(e => (e.Vm, e.ApicId, e.Seq)));
    }

    [Theory]
    [InlineData("vm vcpus=2", "not a JSON line: 'v' is an invalid start of a value (at byte 1)")]
    [InlineData("{\"Vm\": x}", "not a JSON line: 'x' is an invalid start of a value (at byte 8)")]
    public void Read_NotJson_TheReasonGivesTheByteInTheLine_NotTheParsersLineZero(string line, string reason)
    {
        var result = ClefTraceReader.Read(["", line], "t.clef");

        // The parser sees one line at a time and called it "LineNumber: 0", next to the file's line 2.
        Assert.Equal("t.clef:2: error: " + reason, Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Read_TheBroadcastIdAsApicId_NotAnEvent()
    {
        var result = ClefTraceReader.Read(
            ["""{"Vm":"v","ApicId":4294967295,"Event":"Eoi","Seq":1,"VirtualTimeNs":0}""", """{"Vm":"v","ApicId":4294967294,"Event":"Eoi","Seq":1,"VirtualTimeNs":0}"""],
            "t.clef");

        Assert.Equal("t.clef:1: error: ApicId is not an unsigned number up to 0xFFFFFFFE: 4294967295", Assert.Single(result.Errors).ToString());
        Assert.Equal(0xFFFF_FFFEu, Assert.Single(result.Events).ApicId);
    }

    [Theory]
    [InlineData("""{"Vm":"\ud800","ApicId":1,"Event":"Eoi","Seq":1,"VirtualTimeNs":0}""", "Vm")]
    [InlineData("""{"@m":"x\udc00","Vm":"v","ApicId":1,"Event":"Eoi","Seq":1,"VirtualTimeNs":0}""", "@m")]
    [InlineData("""{"Vm":"v","ApicId":1,"Event":"Eoi","Seq":1,"VirtualTimeNs":0,"Extra":{"List":[1,"\ud83d"]}}""", "Extra.List[1]")]
    [InlineData("""{"Vm":"v","ApicId":1,"Event":"Eoi","Seq":1,"VirtualTimeNs":0,"\ud800":1}""", "a key")]
    public void Read_LoneSurrogate_NotAnEventNamingWhere(string line, string where)
    {
        var result = ClefTraceReader.Read([line, """{"Vm":"v","ApicId":1,"Event":"Eoi","Seq":2,"VirtualTimeNs":0}"""], "t.clef");

        Assert.Equal($"t.clef:1: error: not a trace event: {where} is not text: it holds a lone surrogate such as \\ud800", Assert.Single(result.Errors).ToString());
        Assert.Equal(2, Assert.Single(result.Events).Seq);
    }

    [Fact]
    public void Read_RenderedMessageOnly_KeepsItAsTheTemplate()
    {
        var result = ClefTraceReader.Read(
            ["""{"@t":"2026-01-01T00:00:00Z","@m":"Eoi at APIC 1","Vm":"v","ApicId":1,"Event":"Eoi","Seq":7,"VirtualTimeNs":5,"SourceSeq":3,"Extra":"x"}"""],
            "mail.clef");

        var e = Assert.Single(result.Events);
        Assert.Equal("Eoi at APIC 1", e.MessageTemplate);
        Assert.Equal(3L, e.SourceSeq);
        Assert.Equal("x", e.Properties["Extra"].GetString());
        Assert.Null(e.Register);
    }
}
