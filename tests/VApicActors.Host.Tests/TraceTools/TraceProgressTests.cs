using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

public sealed class TraceProgressTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    [Fact]
    public void Report_RewritesOneLineInPlace_AndErasesItBeforeOtherLinesAndAtTheEnd()
    {
        var console = new StringWriter();
        var progress = new TraceProgress(console, TimeSpan.Zero);

        progress.Report(() => "reading t.clef: 16,384 events");
        progress.WriteLine(console, "t.clef:7: error: not a JSON line");
        progress.Report(() => "reading t.clef: 32,768 events");
        progress.Clear();

        Assert.Equal(
            "\rreading t.clef: 16,384 events\u001b[K" + "\r\u001b[K" + "t.clef:7: error: not a JSON line" + Environment.NewLine
            + "\rreading t.clef: 32,768 events\u001b[K" + "\r\u001b[K",
            console.ToString());
    }

    [Fact]
    public void Report_MoreOftenThanTheInterval_ShowsOnlyTheFirst()
    {
        var console = new StringWriter();
        var progress = new TraceProgress(console, TimeSpan.FromHours(1));

        progress.Report(() => "first");
        progress.Report(() => "second");

        Assert.Equal("\rfirst\u001b[K", console.ToString());
    }

    [Fact]
    public void ForConsole_NotTheProcessConsole_ShowsNothing()
    {
        var writer = new StringWriter();
        var progress = TraceProgress.ForConsole(writer);

        progress.Report(() => "reading");
        progress.Clear();

        Assert.False(progress.Enabled);
        Assert.Equal("", writer.ToString());
    }

    [Fact]
    public async Task ReadingATrace_ReportsEventsAndHowFarThroughTheFile()
    {
        using var dir = new TempDirectory();
        var line = File.ReadAllLines(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline))[0];
        var path = dir.Write("many.clef", string.Join('\n', Enumerable.Repeat(line, 40_000)));
        var console = new StringWriter();
        var events = 0;

        var ok = TraceFiles.TryStream(path, null, console, new TraceProgress(console, TimeSpan.Zero), keepProperties: false, _ => events++, out var skipped);

        Assert.True(ok);
        Assert.Equal((40_000, 0), (events, skipped));
        var text = console.ToString();
        Assert.Contains($"\rreading {path}: 16,384 events, ", text);
        Assert.Contains($"\rreading {path}: 32,768 events, ", text);
        Assert.Contains("% of ", text);
        Assert.EndsWith("\r\u001b[K", text);
    }
}
