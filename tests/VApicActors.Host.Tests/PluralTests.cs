using VApicActors.Host.Cli;
using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests;

/// <summary>Counts in messages take the singular for one.</summary>
public sealed class PluralTests
{
    [Theory]
    [InlineData(0, "line", null, "0 lines")]
    [InlineData(1, "line", null, "1 line")]
    [InlineData(2, "delivery", "deliveries", "2 deliveries")]
    [InlineData(1, "delivery", "deliveries", "1 delivery")]
    [InlineData(1, "vCPU", null, "1 vCPU")]
    public void Count_IsSingularForOneOnly(long n, string one, string? many, string expected) =>
        Assert.Equal(expected, Plural.Count(n, one, many));

    [Fact]
    public void Count_WritesTheNumberWithItsFormat() => Assert.Equal("12,345 events", Plural.Count(12_345, "event", format: "N0"));

    [Fact]
    public void TraceTools_SayOneLineSkippedAndOneEvent()
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("one.clef", """
            {"Vm":"v","ApicId":0,"Event":"Eoi","VirtualTimeNs":5,"Seq":1}
            not an event
            """);

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(1, TraceExportCommand.Run(trace, "chrome", dir.File("one.json"), output, error));
        Assert.Contains("1 line skipped", error.ToString());
        Assert.DoesNotContain("lines", error.ToString());
        Assert.Contains("from 1 trace event: 1 APIC track, 0 interrupt slices (0 still in service at the end), 0 IPI arrows", output.ToString());

        error = new StringWriter();
        TraceViewCommand.Run(trace, null, TextWriter.Null, error);
        Assert.Contains("1 of 1 event shown, 1 line skipped", error.ToString());

        error = new StringWriter();
        TraceIpisCommand.Run(trace, new IpiSelection(), false, TextWriter.Null, error);
        Assert.Contains("1 event followed, 1 line skipped", error.ToString());
    }
}
