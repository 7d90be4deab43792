using Akka.Actor;
using VApicActors.Host.Stress;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests.Stress;

/// <summary>
/// The per-vCPU outcome counters of a stress report agree with the outcome events of its unfiltered trace, counted the
/// way <see cref="VcpuStressReport"/> documents: every event whose <c>Detail</c> begins with the outcome, IPIs as
/// <c>Accepted</c>/<c>Coalesced</c>/<c>Dropped</c>, MSIs as <c>Msi</c>, the vCPU's LVTs as <c>TimerFired</c> (N for
/// <c>expiries=N</c>), <c>Lint</c> or an event with an LVT register.
/// </summary>
public sealed class StressTraceCountsTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("stress-trace-counts-tests", StressCommand.ActorSystemConfig);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    private sealed class Counts
    {
        public long Accepted, Coalesced, Dropped, LocalAccepted, LocalCoalesced, LocalDropped, Messages, MsisCoalesced, IpisCoalesced;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PerVcpuCounters_AgreeWithTheTracesOutcomeEvents(bool sequential)
    {
        using var dir = new TempDirectory();
        var tracePath = dir.File("stress.clef");
        // A 1 us periodic timer and 10 us per sequential operation: each vCPU's timer coalesces many expiries, and
        // enough MSIs find their vector pending that every source shows up in the coalesced count.
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false, Vcpus = 4, Operations = 2_000, Seed = 7, Sequential = sequential,
            TimerPeriodNs = 1_000, SequentialOperationNs = 10_000, ClockStepNs = 10_000,
        };
        settings = settings with { Mix = settings.Mix.With("msi=30") };
        StressReport report;
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            report = await new StressEngine(_system, settings, sink).RunAsync();
        }
        Assert.All(report.Invariants, i => Assert.True(i.Holds, i.Name + ": " + i.Detail));
        var trace = ClefTraceReader.ReadFile(tracePath);
        Assert.Empty(trace.Errors);

        var byIndex = CountByVcpu(trace.Events);
        Assert.Equal(report.PerVcpu.Count, byIndex.Count);
        foreach (var v in report.PerVcpu)
        {
            var t = byIndex[v.Vcpu];
            var name = "vCPU " + v.Vcpu + " ";
            Assert.True(v.Accepted == t.Accepted, name + "accepted: report " + v.Accepted + ", trace " + t.Accepted);
            Assert.True(v.Coalesced == t.Coalesced, name + "coalesced: report " + v.Coalesced + ", trace " + t.Coalesced);
            Assert.True(v.Dropped == t.Dropped, name + "dropped: report " + v.Dropped + ", trace " + t.Dropped);
            Assert.True(v.LocalAccepted == t.LocalAccepted, name + "localAccepted: report " + v.LocalAccepted + ", trace " + t.LocalAccepted);
            Assert.True(v.LocalCoalesced == t.LocalCoalesced, name + "localCoalesced: report " + v.LocalCoalesced + ", trace " + t.LocalCoalesced);
            Assert.True(v.LocalDropped == t.LocalDropped, name + "localDropped: report " + v.LocalDropped + ", trace " + t.LocalDropped);
            Assert.True(v.FixedReceived + v.LowestPriorityReceived == t.Messages,
                name + "received: report " + (v.FixedReceived + v.LowestPriorityReceived) + ", trace " + t.Messages);
            Assert.Equal(v.FixedReceived + v.LowestPriorityReceived,
                v.Accepted - v.LocalAccepted + v.Coalesced - v.LocalCoalesced + v.Dropped - v.LocalDropped);
            Assert.Equal(v.Acknowledged, v.Accepted);
        }
        // Every source coalesced somewhere, so the comparison covered each of them.
        Assert.True(byIndex.Values.Sum(c => c.LocalCoalesced) > 0, "no timer expiry coalesced");
        Assert.True(byIndex.Values.Sum(c => c.IpisCoalesced) > 0, "no IPI coalesced");
        if (sequential)
        {
            Assert.True(byIndex.Values.Sum(c => c.MsisCoalesced) > 0, "no MSI coalesced");
        }
    }

    /// <summary>The outcome events of each vCPU (by its index in <c>ApicCreated</c>), counted as the report documents.</summary>
    private static Dictionary<int, Counts> CountByVcpu(IReadOnlyList<VApicActors.Host.TraceTools.TraceRecord> events)
    {
        var indexOf = events.Where(e => e.Event == "ApicCreated")
            .ToDictionary(e => e.ApicId, e => (int)TraceDetail.Number(e.Detail, "index")!.Value);
        var counts = indexOf.Values.ToDictionary(i => i, _ => new Counts());
        foreach (var e in events)
        {
            var outcome = e.Detail?.Split(' ')[0];
            if (outcome is not ("Accepted" or "Coalesced") && outcome?.StartsWith("Dropped", StringComparison.Ordinal) != true)
            {
                continue;
            }
            var local = e.Event is "TimerFired" or "Lint" || e.Register is not null;
            var ipi = e.Event is "Accepted" or "Coalesced" or "Dropped" && e.Register is null;
            // An MSI's delivery mode is in bits 10:8 of its data word: 0 fixed, 1 lowest priority.
            var msi = e.Event == "Msi" && e.Value is ulong data && ((data >> 8) & 7) <= 1;
            if (!local && !ipi && !msi)
            {
                continue;
            }
            var n = e.Event == "TimerFired" ? (long)(TraceDetail.Number(e.Detail, "expiries") ?? 1) : 1;
            var c = counts[indexOf[e.ApicId]];
            switch (outcome)
            {
                case "Accepted":
                    c.Accepted += n;
                    c.LocalAccepted += local ? n : 0;
                    break;
                case "Coalesced":
                    c.Coalesced += n;
                    c.LocalCoalesced += local ? n : 0;
                    c.IpisCoalesced += ipi ? n : 0;
                    c.MsisCoalesced += msi ? n : 0;
                    break;
                default:
                    c.Dropped += n;
                    c.LocalDropped += local ? n : 0;
                    break;
            }
            c.Messages += local ? 0 : n;
        }
        return counts;
    }
}
