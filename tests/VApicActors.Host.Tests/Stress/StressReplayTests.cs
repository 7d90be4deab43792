using Akka.Actor;
using VApicActors.Host.Stress;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.Stress;

/// <summary>A concurrent stress run's trace alone rebuilds every APIC it ran, byte for byte.</summary>
public sealed class StressReplayTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("stress-replay-tests", StressCommand.ActorSystemConfig);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    [Fact]
    public async Task Replay_ConcurrentStressRun_RebuildsEveryPageAndStateOfTheLiveRun()
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("stress.clef");
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false, Vcpus = 16, X2Apic = true, Operations = 8_000, Seed = 5,
        };
        StressEngine engine;
        StressReport report;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            engine = new StressEngine(_system, settings, sink);
            report = await engine.RunAsync();
        }
        Assert.All(report.Invariants, i => Assert.True(i.Holds, i.Name + ": " + i.Detail));
        var live = Assert.Single(engine.FinalStates);

        var trace = ClefTraceReader.ReadFile(tracePath);
        var result = TraceReplayer.Replay(trace.Events, new ReplayOptions(Vm: live.Spec.Name, AtNs: live.VirtualTimeNs));

        Assert.Empty(trace.Errors);
        Assert.True(trace.Events.Count(e => e.Event == "IpiSent") > 1_000, "the run sent too few IPIs to mean anything");
        Assert.Equal(live.Apics.Length, result.Apics.Count);
        foreach (var apic in result.Apics)
        {
            var index = apic.Config.Index;
            Assert.True(apic.Notes.Count == 0 && apic.Mismatches == 0, string.Join("\n", apic.Notes));
            var livePage = live.Apics[index].Page;
            var differing = Enumerable.Range(0, ApicOffsets.PageSize).Where(i => livePage[i] != apic.State.Page[i]).ToList();
            Assert.True(differing.Count == 0, $"vCPU {index} page differs at " + string.Join(", ", differing.Select(i => $"0x{i:x3}")));
            Assert.Equal(live.Apics[index] with { Page = default }, apic.State with { Page = default });
        }
    }
}
