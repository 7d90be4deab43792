using System.Text.Json;
using Akka.Actor;
using VApicActors.Host.Cli;
using VApicActors.Host.Cluster;
using VApicActors.Host.Stress;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// <c>vapic stress --cluster</c>: a run's VMs spread over the nodes, each runs where it lands, and the reports add up
/// to one with the same invariants, each checked on every VM.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterStressTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static StressSettings Defaults() => StressSettings.Create(StressSettings.LoadConfig()) with { Progress = false };

    [Fact]
    public async Task TwoNodeRun_EveryInvariantHoldsOnEveryVm_AndTheAggregateIsTheSumOfTheVms()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        Assert.Equal(2, (await a.Shards.WaitForNodesAsync(2, Wait)).Count);
        var settings = Defaults() with { Vcpus = 8, Vms = 4, Operations = 0, Duration = TimeSpan.FromSeconds(2), Seed = 21 };

        var run = new ClusterStressRun(a.Shards, settings);
        var report = await run.RunAsync();

        var failed = report.Invariants.Where(i => !i.Holds).Select(i => i.Name + ": " + i.Detail).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
        Assert.Equal(9, report.Invariants.Count);
        Assert.Contains(report.Invariants, i => i.Name == ClusterStressRun.EveryVmReported && i.Detail == "4 of 4 VMs reported, from 2 nodes");

        // The VMs ran on both nodes, two each, with their own seeds.
        var vms = run.VmResults;
        Assert.Equal(4, vms.Count);
        Assert.All(vms, v => Assert.Null(v.Error));
        Assert.Equal(new[] { a.Endpoint, b.Endpoint }.Order(StringComparer.Ordinal), vms.Select(v => v.Node).Distinct().Order(StringComparer.Ordinal));
        Assert.All(vms.GroupBy(v => v.Node), g => Assert.Equal(2, g.Count()));
        Assert.Equal(vms.Select((_, i) => ClusterStressRun.SeedOf(21, i)), vms.Select(v => v.Seed));
        Assert.Equal(4, vms.Select(v => v.Seed).Distinct().Count());
        var reports = vms.Select(v => v.Report!).ToList();
        Assert.All(reports, r => Assert.True(r.Report.AllInvariantsHold));
        Assert.All(reports, r => Assert.True(r.Report.Operations > 0));

        // Every count is the sum of the VMs' counts.
        Assert.Equal(reports.Sum(r => r.Report.Operations), report.Operations);
        Assert.Equal(reports.Sum(r => r.Report.Exits), report.Exits);
        Assert.Equal(reports.Sum(r => r.Report.Ipis), report.Ipis);
        foreach (var (kind, n) in report.OperationsByKind)
        {
            Assert.Equal(reports.Sum(r => r.Report.OperationsByKind[kind]), n);
        }
        foreach (var (outcome, n) in report.FixedOutcomes)
        {
            Assert.Equal(reports.Sum(r => r.Report.FixedOutcomes.GetValueOrDefault(outcome)), n);
        }
        Assert.Equal(32, report.PerVcpu.Count);
        Assert.Equal(report.Operations, report.PerVcpu.Sum(v => v.Operations));
        Assert.Equal([0, 1, 2, 3], report.PerVcpu.Select(v => v.Vm).Distinct().Order());
        Assert.Equal(reports.Sum(r => r.Report.PerVcpu.Sum(v => v.CallFunctionRan)), report.PerVcpu.Sum(v => v.CallFunctionRan));
        Assert.Equal(report.Operations / reports.Max(r => r.Report.ElapsedSeconds), report.OperationsPerSecond, 6);

        // Latency: the merged histograms, so the sample counts and maxima add up exactly.
        Assert.Equal(reports.Sum(r => r.ToAcceptance.Buckets.Sum()), report.LatencyNs.Samples);
        Assert.Equal(reports.Sum(r => r.Report.LatencyNs.Samples), report.LatencyNs.Samples);
        Assert.Equal(reports.Max(r => r.Report.LatencyNs.Max), report.LatencyNs.Max);
        Assert.Equal(reports.Sum(r => r.Report.LatencyToEoiNs.Samples), report.LatencyToEoiNs.Samples);
        Assert.True(report.LatencyNs.Samples > 0);
        Assert.InRange(report.LatencyNs.P50, reports.Min(r => r.Report.LatencyNs.P50), reports.Max(r => r.Report.LatencyNs.P50));

        // The invariants' numbers are the sums of the VMs' numbers.
        var callFunction = Assert.Single(report.Invariants, i => i.Name == "call-function-work-done");
        var queued = reports.Sum(r => long.Parse(r.Report.Invariants.Single(i => i.Name == "call-function-work-done").Detail.Split(' ')[0]));
        Assert.StartsWith(queued + " call-function items queued, " + queued + " ran", callFunction.Detail);
        Assert.Contains("IRR and ISR empty on all 32 vCPUs", report.Invariants.Single(i => i.Name == "irr-and-isr-empty").Detail);

        // Per node: VMs and operations; the JSON has the keys of a single-machine run and the nodes.
        Assert.NotNull(report.Nodes);
        Assert.Equal(2, report.Nodes!.Count);
        Assert.All(report.Nodes, n => Assert.Equal(vms.Where(v => v.Node == n.Node).Sum(v => v.Report!.Report.Operations), n.Operations));
        using var json = JsonDocument.Parse(StressOutput.ToJson(report));
        foreach (var key in new[] { "operationsPerSecond", "exitsPerSecond", "ipisPerSecond", "latencyNs", "invariants", "seed", "nodes", "perVm" })
        {
            Assert.True(json.RootElement.TryGetProperty(key, out _), key);
        }
        Assert.Equal(21, json.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal(2, json.RootElement.GetProperty("nodes")[0].GetProperty("vms").GetInt32());
    }

    [Fact]
    public async Task TwoNodeRun_WithOneIpiLost_IsAViolationNamingTheVmAndItsNode()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var a = cluster.Nodes[0];
        await a.Shards.WaitForNodesAsync(2, Wait);
        var mix = new OperationMix(new Dictionary<OperationKind, int> { [OperationKind.Fixed] = 1, [OperationKind.Callfn] = 1 });
        var settings = Defaults() with { Vcpus = 8, Vms = 2, Operations = 4_000, Mix = mix, LoseOneIpi = true, FaultVcpu = 2, Seed = 5 };

        var run = new ClusterStressRun(a.Shards, settings);
        var report = await run.RunAsync();

        Assert.False(report.AllInvariantsHold);
        var faulty = run.VmResults[0];
        Assert.Equal(2, run.VmResults.Select(v => v.Node).Distinct().Count());
        var accounting = Assert.Single(report.Invariants, i => i.Name == "fixed-interrupts-accounted");
        Assert.False(accounting.Holds);
        Assert.StartsWith("violated on 1 of 2 VMs: VM 0 (" + faulty.Name + ") on node " + faulty.Node + ": ", accounting.Detail);
        Assert.Contains("fault injection lost 1 IPI", accounting.Detail);
        Assert.Contains("sent by vCPU 2 (APIC 0x2) at trace seq", accounting.Detail);
        Assert.DoesNotContain(run.VmResults[1].Name, accounting.Detail);
        Assert.True(run.VmResults[1].Report!.Report.AllInvariantsHold);
        Assert.All(report.Invariants.Where(i => i.Name is not ("fixed-interrupts-accounted" or "call-function-work-done")), i => Assert.True(i.Holds, i.Name + ": " + i.Detail));
        Assert.False(report.PerVm![0].AllInvariantsHold);
        Assert.True(report.PerVm[1].AllInvariantsHold);
    }

    [Fact]
    public async Task Command_ClusterWithTwoLocalNodes_ExitsZeroAndWritesTheNodes()
    {
        using var directory = new TempDirectory();
        var json = directory.File("cluster.json");
        var config = directory.Write("node.hocon",
            "vapic.cluster.persistence.connection-string = \"Data Source=" + directory.File("cluster.db").Replace("\\", "/", StringComparison.Ordinal) + "\"\n");

        var code = await new VapicCommandLine(TextWriter.Null, TextWriter.Null).InvokeAsync(
            ["--config", config, "stress", "--cluster", "--nodes", "2", "--port", "0", "--vms", "2", "--vcpus", "4", "--seconds", "1", "--json", json]);

        Assert.Equal(StressCommand.ExitOk, code);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var nodes = doc.RootElement.GetProperty("nodes");
        Assert.Equal(2, nodes.GetArrayLength());
        Assert.All(nodes.EnumerateArray(), n => Assert.Equal(1, n.GetProperty("vms").GetInt32()));
        Assert.Equal(2, doc.RootElement.GetProperty("vms").GetInt32());
        Assert.True(doc.RootElement.GetProperty("operations").GetInt64() > 0);
    }

    [Fact]
    public async Task Command_ClusterPortALiveNodeListensOn_ExitsTwoWithoutJoiningAnything()
    {
        using var taken = new ListeningPort();
        using var directory = new TempDirectory();
        var json = directory.File("cluster.json");

        var code = await new VapicCommandLine(TextWriter.Null, TextWriter.Null).InvokeAsync(
            ["stress", "--cluster", "--port", taken.Text, "--operations", "10", "--json", json]);

        Assert.Equal(StressCommand.ExitUsage, code);
        Assert.False(File.Exists(json));
    }

    [Theory]
    [InlineData("stress --nodes 2")]
    [InlineData("stress --port 5000")]
    [InlineData("stress --cluster --nodes 0")]
    [InlineData("stress --cluster --seed-node http://x:1")]
    public async Task Command_BadClusterOptions_ExitTwo(string args)
    {
        var code = await new VapicCommandLine(TextWriter.Null, TextWriter.Null).InvokeAsync(args.Split(' '));

        Assert.Equal(StressCommand.ExitUsage, code);
    }

    [Fact]
    public void Serializer_StressMessages_RoundTrip()
    {
        using var system = ActorSystem.Create("stress-serializer");
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)system);
        var run = new StressVmRun("stress-ab-3", 3, StressVmSpec.Of(Defaults() with { Seed = -7, Vcpus = 5 }).ToJson());
        var done = new StressVmDone("stress-ab-3", "127.0.0.1:4053", "{}", "boom");

        Assert.Equal(run, serializer.FromBinary(serializer.ToBinary(run), serializer.Manifest(run)));
        Assert.Equal(done, serializer.FromBinary(serializer.ToBinary(done), serializer.Manifest(done)));
        var settings = StressVmSpec.FromJson(run.Settings).ToSettings();
        Assert.Equal((-7L, 5, 1), (settings.Seed, settings.Vcpus, settings.Vms));
        Assert.Equal(Defaults().Mix.ToString(), settings.Mix.ToString());
    }
}
