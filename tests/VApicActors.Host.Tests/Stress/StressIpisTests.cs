using Akka.Actor;
using VApicActors.Host.Stress;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests.Stress;

/// <summary><c>vapic trace ipis</c> on the traces of stress runs: it finds what the stress checker finds, from the trace alone.</summary>
public sealed class StressIpisTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("stress-ipis-tests", StressCommand.ActorSystemConfig);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    [Fact]
    public async Task RunWhoseInvariantsHold_EveryIpiEndsInAnEoiOrADelivery()
    {
        var (report, stories, summary) = await RunAndFollowAsync(lose: false);

        Assert.True(report.AllInvariantsHold, string.Join("; ", report.Invariants.Where(i => !i.Holds).Select(i => i.Detail)));
        Assert.Equal(0, summary.Unlinked);
        Assert.True(summary.Ends[IpiEnd.Eoi] > 500, "too few IPIs to mean anything");
        Assert.Empty(stories.Where(s => s.End is not (IpiEnd.Eoi or IpiEnd.Delivered or IpiEnd.Dropped)).Select(TraceIpisCommand.Format));
    }

    [Fact]
    public async Task RunWithOneIpiLost_TheLostIpiIsTheOneTheCheckerNames()
    {
        var (report, stories, _) = await RunAndFollowAsync(lose: true);

        var accounting = Assert.Single(report.Invariants, i => i.Name == "fixed-interrupts-accounted");
        Assert.False(accounting.Holds);
        var seq = long.Parse(System.Text.RegularExpressions.Regex.Match(accounting.Detail, @"sent by vCPU 2 \(APIC 0x2\) at trace seq (\d+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        var lost = Assert.Single(stories, s => TraceIpisCommand.IsProblem(s) && s.End != IpiEnd.Dropped);
        Assert.Equal(IpiEnd.NoDestination, lost.End);
        Assert.Equal(2u, lost.Send.Sender);
        Assert.Equal(seq, lost.Send.Seq);
    }

    private async Task<(StressReport Report, List<IpiStory> Stories, IpiFollowSummary Summary)> RunAndFollowAsync(bool lose)
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("stress.clef");
        var mix = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 2, [OperationKind.Callfn] = 1, [OperationKind.Broadcast] = 1 });
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false, Vcpus = 6, Operations = 3_000, Seed = 13, Mix = mix, LoseOneIpi = lose, FaultVcpu = 2,
        };
        StressReport report;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            report = await new StressEngine(_system, settings, sink).RunAsync();
        }
        var stories = new List<IpiStory>();
        var follower = new IpiFollower(new IpiSelection(), stories.Add);
        var trace = ClefTraceReader.ReadFile(tracePath);
        Assert.Empty(trace.Errors);
        foreach (var e in trace.Events)
        {
            follower.Add(e);
        }
        return (report, stories, follower.Finish());
    }
}
