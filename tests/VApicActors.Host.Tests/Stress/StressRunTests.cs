using Akka.Actor;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Stress;

/// <summary>Short stress runs: every invariant holds, an injected lost IPI is caught, sequential runs repeat exactly.</summary>
public sealed class StressRunTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("stress-tests", StressCommand.ActorSystemConfig);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    private static StressSettings Defaults() => StressSettings.Create(StressSettings.LoadConfig()) with { Progress = false };

    private static void AssertAllHold(StressReport report)
    {
        var failed = report.Invariants.Where(i => !i.Holds).Select(i => i.Name + ": " + i.Detail).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
        Assert.Equal(8, report.Invariants.Count);
    }

    [Fact]
    public async Task Run_64VcpusXApic_EveryInvariantHolds()
    {
        var settings = Defaults() with { Vcpus = 64, X2Apic = false, Operations = 40_000, Seed = 7 };

        var report = await new StressEngine(_system, settings).RunAsync();

        AssertAllHold(report);
        Assert.Equal(40_000, report.Operations);
        Assert.Equal(64, report.PerVcpu.Count);
        Assert.True(report.Ipis > 0);
        Assert.True(report.PerVcpu.Sum(v => v.CallFunctionRan) > 0);
        Assert.True(report.LatencyNs.Samples > 0);
    }

    [Fact]
    public async Task Run_GoesThroughItsPhases_AndItsRunningTimeStartsWithTheFirstOperation()
    {
        var settings = Defaults() with { Vcpus = 8, X2Apic = true, Duration = TimeSpan.FromSeconds(1), Seed = 3 };
        var engine = new StressEngine(_system, settings);
        Assert.Equal(TimeSpan.Zero, engine.Running);

        var seen = new List<StressPhase>();
        var run = engine.RunAsync();
        while (!run.IsCompleted)
        {
            if (seen.Count == 0 || seen[^1] != engine.Phase)
            {
                seen.Add(engine.Phase);
            }
            await Task.Delay(5);
        }
        var report = await run;

        AssertAllHold(report);
        Assert.Equal(StressPhase.Done, engine.Phase);
        Assert.Contains(StressPhase.Running, seen);
        Assert.Equal(seen.Order(), seen); // never back to an earlier phase
        // Counted from the first operation, through the drain and the checks, not from the VM's creation.
        Assert.InRange(engine.Running.TotalSeconds, report.ElapsedSeconds * 0.9, report.WallSeconds!.Value);
    }

    [Fact]
    public async Task Run_Interrupted_StopsEarlyAndReportsAndChecksWhatRan()
    {
        var settings = Defaults() with { Vcpus = 8, X2Apic = true, Duration = TimeSpan.FromMinutes(10), Seed = 5 };
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var report = await new StressEngine(_system, settings).RunAsync(interrupt.Token);

        AssertAllHold(report);
        Assert.True(report.ElapsedSeconds < 60, $"ran {report.ElapsedSeconds} s of 600 after the interrupt at 1 s");
        Assert.True(report.Operations > 0);
        Assert.Equal(report.PerVcpu.Sum(v => v.Accepted), report.PerVcpu.Sum(v => v.Eoied));
    }

    [Fact]
    public async Task SequentialRun_ItsProgressCountsTheExits_AsAConcurrentRunsDoes()
    {
        // The progress line of a sequential run read "0 exits/s" all along: its operations were counted, not their exits.
        var settings = Defaults() with { Vcpus = 4, Sequential = true, Operations = 400, Seed = 2 };
        var engine = new StressEngine(_system, settings);

        var report = await engine.RunAsync();

        AssertAllHold(report);
        Assert.Equal(400, engine.Progress.Operations);
        Assert.InRange(engine.Progress.Exits, 400, report.Exits);
    }

    [Fact]
    public async Task Run_FixedIpisOnly_EveryAcceptedIpiHasItsLatencyToEoi()
    {
        // A vector can be in service and pending again at once: each EOI ends the latency of the IPI in service.
        var fixedOnly = new OperationMix(Enum.GetValues<OperationKind>().ToDictionary(k => k, k => k == OperationKind.Fixed ? 1 : 0));
        var settings = Defaults() with { Vcpus = 4, Operations = 2_000, Seed = 9, Mix = fixedOnly };

        var report = await new StressEngine(_system, settings).RunAsync();

        AssertAllHold(report);
        Assert.True(report.FixedOutcomes["Coalesced"] > 0, "no IPI coalesced: the case is not exercised");
        Assert.Equal(report.FixedOutcomes["Accepted"], report.LatencyToEoiNs.Samples);
    }

    [Fact]
    public async Task Run_300VcpusX2ApicSparseIds_EveryInvariantHolds()
    {
        var settings = Defaults() with { Vcpus = 300, X2Apic = true, SparseApicIds = true, Operations = 30_000, Seed = 11 };

        var report = await new StressEngine(_system, settings).RunAsync();

        AssertAllHold(report);
        Assert.Equal(0x1000u + 37u * 299u, report.PerVcpu[299].ApicId);
        Assert.True(report.OperationsByKind["lowest"] > 0);
        Assert.True(report.OperationsByKind["logical"] > 0);
    }

    [Fact]
    public async Task Run_TwoVmsConcurrently_EveryInvariantHolds()
    {
        var settings = Defaults() with { Vcpus = 16, Vms = 2, X2Apic = true, Operations = 10_000, Seed = 3 };

        var report = await new StressEngine(_system, settings).RunAsync();

        AssertAllHold(report);
        Assert.Equal(32, report.PerVcpu.Count);
    }

    [Fact]
    public async Task Run_WithOneIpiLost_CheckerNamesTheVcpuAndTraceSeq()
    {
        var mix = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 1, [OperationKind.Callfn] = 1 });
        var settings = Defaults() with { Vcpus = 8, Operations = 2_000, Mix = mix, LoseOneIpi = true, FaultVcpu = 2, Seed = 5 };

        var report = await new StressEngine(_system, settings).RunAsync();

        var accounting = Assert.Single(report.Invariants, i => i.Name == "fixed-interrupts-accounted");
        Assert.False(accounting.Holds);
        Assert.Contains("fault injection lost 1 IPI", accounting.Detail);
        Assert.Contains("sent by vCPU 2 (APIC 0x2) at trace seq", accounting.Detail);
        Assert.Matches(@"vCPU \d \(APIC 0x\d\): (\d+) sent to it, \d+ accounted for", accounting.Detail);
        Assert.False(report.AllInvariantsHold);
        Assert.All(report.Invariants.Where(i => i.Name != "fixed-interrupts-accounted" && i.Name != "call-function-work-done"), i => Assert.True(i.Holds, i.Name));
    }

    [Fact]
    public async Task Run_WithOneOfManyLikeIpisLost_CheckerNamesTheSendThatWasLost()
    {
        // vCPU 1 sends only reschedule IPIs (0xFD) to vCPU 0, one of which is lost: pairing sends with deliveries in
        // order would take every later delivery for the one before it and name the last send instead.
        var fixedOnly = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 1 });
        var settings = Defaults() with { Vcpus = 2, Operations = 200, Mix = fixedOnly, Sequential = true, LoseOneIpi = true, FaultVcpu = 1, Seed = 3 };
        var trace = new RecordingSink();

        var report = await new StressEngine(_system, settings, trace).RunAsync();

        var events = trace.Events;
        var delivered = events.Where(e => e.ApicId == 0 && e.Source == 1 && e.SourceSeq is not null).Select(e => e.SourceSeq!.Value).ToHashSet();
        var sends = events.Where(e => e.ApicId == 1 && e.Event == "IpiSent").Select(e => e.Seq).ToList();
        var lost = Assert.Single(sends, seq => !delivered.Contains(seq));
        Assert.True(lost != sends[^1], "the last send was lost: the case is not exercised");
        var accounting = Assert.Single(report.Invariants, i => i.Name == "fixed-interrupts-accounted");
        Assert.False(accounting.Holds);
        Assert.Contains("sent by vCPU 1 (APIC 0x1) at trace seq " + lost + " (physical 0x0)", accounting.Detail);
    }

    [Fact]
    public async Task Run_WhereTheFaultVcpuSendsOneIpi_LosesIt()
    {
        // vCPU 0's only IPI is the VM's first after setting the APICs up, which goes through the router.
        var fixedOnly = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 1 });
        var settings = Defaults() with { Vcpus = 2, Operations = 2, Mix = fixedOnly, Sequential = true, LoseOneIpi = true, FaultVcpu = 0, Seed = 1 };

        var report = await new StressEngine(_system, settings).RunAsync();

        var accounting = Assert.Single(report.Invariants, i => i.Name == "fixed-interrupts-accounted");
        Assert.False(accounting.Holds);
        Assert.Contains("fault injection lost 1 IPI", accounting.Detail);
        Assert.Contains("vCPU 1 (APIC 0x1): 1 sent to it, 0 accounted for", accounting.Detail);
    }

    /// <summary>Keeps every trace event written.</summary>
    private sealed class RecordingSink : VApicActors.Actors.ITraceSink
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<VApicActors.Actors.TraceEvent> _events = new();

        public bool Enabled => true;

        public IReadOnlyList<VApicActors.Actors.TraceEvent> Events => [.. _events];

        public void Write(in VApicActors.Actors.TraceEvent traceEvent) => _events.Enqueue(traceEvent);
    }

    [Fact]
    public async Task Sequential_SameSeed_GivesIdenticalReports()
    {
        var settings = Defaults() with { Vcpus = 6, X2Apic = true, Operations = 3_000, Sequential = true, Seed = 42 };

        var first = StressOutput.ToJson(await new StressEngine(_system, settings).RunAsync());
        var second = StressOutput.ToJson(await new StressEngine(_system, settings).RunAsync());
        var otherSeed = StressOutput.ToJson(await new StressEngine(_system, settings with { Seed = 43 }).RunAsync());

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
        Assert.Contains("\"timeBase\": \"virtual\"", first);
        Assert.DoesNotContain("wallSeconds", first);
    }

    [Fact]
    public async Task Json_HasTheRequiredTopLevelKeys()
    {
        var settings = Defaults() with { Vcpus = 4, Operations = 500, Seed = 9 };

        var json = StressOutput.ToJson(await new StressEngine(_system, settings).RunAsync());

        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var root = doc.RootElement;
        foreach (var key in new[] { "operationsPerSecond", "exitsPerSecond", "ipisPerSecond", "latencyNs", "invariants", "seed", "perVcpu" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }
        foreach (var key in new[] { "p50", "p99", "p999", "max" })
        {
            Assert.True(root.GetProperty("latencyNs").TryGetProperty(key, out _), key);
        }
        var invariant = root.GetProperty("invariants")[0];
        Assert.True(invariant.TryGetProperty("name", out _) && invariant.TryGetProperty("holds", out _) && invariant.TryGetProperty("detail", out _));
        Assert.Equal(9, root.GetProperty("seed").GetInt64());
    }
}
