using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Stress;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Cluster;

/// <summary>One VM of a cluster stress run: its number, entity name, seed, the node that ran it, and its report or why there is none.</summary>
public sealed record ClusterStressVm(int Index, string Name, long Seed, string Node, StressVmReport? Report, string? Error);

/// <summary>
/// A stress run spread over the cluster (<c>vapic stress --cluster</c>): the run's <c>vms</c> VMs become stress-VM
/// entities (<see cref="StressVmEntity"/>) with seeds derived from the run's seed, each runs where its shard lives,
/// and their reports are added up into one <see cref="StressReport"/> — counts summed, latency histograms merged,
/// every invariant checked on every VM.
/// </summary>
public sealed partial class ClusterStressRun
{
    /// <summary>The invariant a cluster run adds: every VM answered with a report.</summary>
    public const string EveryVmReported = "every-vm-reported";

    private readonly VmShards _shards;
    private readonly StressSettings _settings;
    private int _done;

    public ClusterStressRun(VmShards shards, StressSettings settings)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _shards = shards;
        _settings = settings;
    }

    /// <summary>VMs that have answered so far (for a progress display).</summary>
    public int VmsDone => Volatile.Read(ref _done);

    /// <summary>Every VM of the last run, in order, with its report.</summary>
    public IReadOnlyList<ClusterStressVm> VmResults { get; private set; } = [];

    /// <summary>The seed of VM <paramref name="vm"/> of a run with seed <paramref name="seed"/>.</summary>
    public static long SeedOf(long seed, int vm) => (long)new SplitMix64(seed, vm).NextUInt64();

    /// <summary>
    /// The settings of VM <paramref name="vm"/>: one VM, its own seed, its share of <c>operations</c> (when the run
    /// counts them), and the fault injection only on VM 0.
    /// </summary>
    public static StressSettings SettingsOf(StressSettings run, int vm)
    {
        ArgumentNullException.ThrowIfNull(run);
        var operations = run.Operations == 0 ? 0 : run.Operations / run.Vms + (vm < run.Operations % run.Vms ? 1 : 0);
        var sequentialOperations = Math.Max(1, run.SequentialOperations / run.Vms + (vm < run.SequentialOperations % run.Vms ? 1 : 0));
        return run with
        {
            Vms = 1,
            Seed = SeedOf(run.Seed, vm),
            Operations = run.Operations > 0 && operations == 0 ? 1 : operations,
            SequentialOperations = sequentialOperations,
            LoseOneIpi = run.LoseOneIpi && vm == 0,
            Progress = false,
        };
    }

    /// <summary>Sends every VM out, waits for all of them and returns the aggregate report.</summary>
    public async Task<StressReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var wall = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..8];
        var timeout = _settings.Operations == 0 && !_settings.Sequential
            ? _settings.Duration + TimeSpan.FromMinutes(10)
            : TimeSpan.FromHours(2);
        Volatile.Write(ref _done, 0);
        var tasks = new List<Task<ClusterStressVm>>();
        for (var i = 0; i < _settings.Vms; i++)
        {
            var settings = SettingsOf(_settings, i);
            var name = "stress-" + run + "-" + i.ToString(CultureInfo.InvariantCulture);
            tasks.Add(RunVmAsync(i, name, settings, timeout, cancellationToken));
        }
        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        wall.Stop();
        VmResults = results;
        return Aggregate(_settings, results, wall.Elapsed.TotalSeconds);
    }

    private async Task<ClusterStressVm> RunVmAsync(int index, string name, StressSettings settings, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var done = await _shards.StressRegion.Ask<StressVmDone>(new StressVmRun(name, index, StressVmSpec.Of(settings).ToJson()), timeout, cancellationToken)
                .ConfigureAwait(false);
            if (done.Error is not null)
            {
                return new ClusterStressVm(index, name, settings.Seed, done.Node, null, done.Error);
            }
            try
            {
                return new ClusterStressVm(index, name, settings.Seed, done.Node, StressVmReport.FromJson(done.ReportJson), null);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
            {
                return new ClusterStressVm(index, name, settings.Seed, done.Node, null, "its report could not be read: " + e.Message);
            }
        }
        catch (AskTimeoutException)
        {
            return new ClusterStressVm(index, name, settings.Seed, "?", null, $"no answer within {timeout.TotalSeconds:0} s (was its node lost?)");
        }
        finally
        {
            Interlocked.Increment(ref _done);
        }
    }

    /// <summary>
    /// Adds the VMs' reports up: counts and per-kind totals summed, the per-vCPU rows of every VM (numbered by VM),
    /// latency percentiles from the merged histograms, rates over the longest VM's time, and each invariant holding
    /// only when it holds on every VM (a violation names the VM and its node), plus <see cref="EveryVmReported"/>.
    /// </summary>
    public static StressReport Aggregate(StressSettings settings, IReadOnlyList<ClusterStressVm> vms, double wallSeconds)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(vms);
        var reported = vms.Where(v => v.Report is not null).ToList();
        var reports = reported.Select(v => v.Report!.Report).ToList();
        var elapsed = reports.Count == 0 ? 0 : reports.Max(r => r.ElapsedSeconds);
        long operations = reports.Sum(r => r.Operations), exits = reports.Sum(r => r.Exits), ipis = reports.Sum(r => r.Ipis);
        var byKind = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var kind in Enum.GetValues<OperationKind>())
        {
            byKind[OperationMix.Key(kind)] = 0;
        }
        var fixedOutcomes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in reports)
        {
            foreach (var (k, n) in r.OperationsByKind)
            {
                byKind[k] = byKind.GetValueOrDefault(k) + n;
            }
            foreach (var (k, n) in r.FixedOutcomes)
            {
                fixedOutcomes[k] = fixedOutcomes.GetValueOrDefault(k) + n;
            }
        }
        var nodes = vms.GroupBy(v => v.Node, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new StressNodeReport(g.Key, g.Count(), g.Sum(v => v.Report?.Report.Operations ?? 0)))
            .ToList();
        return new StressReport(settings, elapsed, (operations, exits, ipis),
            (LatencySummary.Of(LatencyHistogram.Merge(reported.Select(v => v.Report!.ToAcceptance.ToHistogram()))),
                LatencySummary.Of(LatencyHistogram.Merge(reported.Select(v => v.Report!.ToEoi.ToHistogram())))),
            AggregateInvariants(vms, reported, nodes.Count), byKind, fixedOutcomes,
            [.. reported.SelectMany(v => v.Report!.Report.PerVcpu.Select(p => p with { Vm = v.Index }))])
        {
            VmCreationSeconds = settings.Sequential || reports.Count == 0 ? null : reports.Max(r => r.VmCreationSeconds ?? 0),
            WallSeconds = settings.Sequential ? null : wallSeconds,
            Nodes = nodes,
            FaultInjection = reported.Where(v => v.Report!.Report.FaultInjection is not null)
                .Select(v => "VM " + v.Index + ": " + v.Report!.Report.FaultInjection).FirstOrDefault(),
            PerVm = [.. vms.Select(v => new StressVmSummary(v.Index, v.Name, v.Node, v.Seed, v.Report?.Report.Operations ?? 0,
                v.Report?.Report.Exits ?? 0, v.Report?.Report.Ipis ?? 0, v.Report?.Report.ElapsedSeconds ?? 0,
                v.Report?.Report.AllInvariantsHold ?? false, v.Error))],
        };
    }

    private static List<InvariantResult> AggregateInvariants(IReadOnlyList<ClusterStressVm> vms, List<ClusterStressVm> reported, int nodes)
    {
        var names = reported.SelectMany(v => v.Report!.Report.Invariants.Select(i => i.Name)).Distinct(StringComparer.Ordinal).ToList();
        var results = new List<InvariantResult>();
        foreach (var name in names)
        {
            var each = reported.Select(v => (Vm: v, Result: v.Report!.Report.Invariants.FirstOrDefault(i => i.Name == name)
                ?? new InvariantResult(name, false, "not checked on this VM"))).ToList();
            var violated = each.Where(e => !e.Result.Holds).ToList();
            if (violated.Count == 0)
            {
                var summed = SumNumbers(each.Select(e => e.Result.Detail).ToList());
                results.Add(new InvariantResult(name, true, summed is null
                    ? (each.Count == 1 ? "holds on the 1 VM" : "holds on all " + each.Count + " VMs")
                    : summed + " (over " + Plural.Count(each.Count, "VM") + ")"));
            }
            else
            {
                results.Add(new InvariantResult(name, false, "violated on " + violated.Count + " of " + Plural.Count(each.Count, "VM") + ": "
                    + string.Join(" | ", violated.Select(e => "VM " + e.Vm.Index + " (" + e.Vm.Name + ") on node " + e.Vm.Node + ": " + e.Result.Detail))));
            }
        }
        var missing = vms.Where(v => v.Report is null).ToList();
        var reportedDetail = reported.Count + " of " + Plural.Count(vms.Count, "VM") + " reported, from " + Plural.Count(nodes, "node");
        results.Add(new InvariantResult(EveryVmReported, missing.Count == 0, missing.Count == 0
            ? reportedDetail
            : reportedDetail + "; " + string.Join(" | ", missing.Select(v => "VM " + v.Index + " (" + v.Name + ") on node " + v.Node + ": " + v.Error))));
        return results;
    }

    /// <summary>
    /// When every detail is the same text but for its numbers ("123 sent, 120 received"), that text with each number
    /// the sum over the details; else null.
    /// </summary>
    private static string? SumNumbers(List<string> details)
    {
        if (details.Count == 0)
        {
            return null;
        }
        var shape = Number().Replace(details[0], "#");
        if (details.Any(d => Number().Replace(d, "#") != shape))
        {
            return null;
        }
        var sums = new long[Number().Matches(details[0]).Count];
        foreach (var d in details)
        {
            var k = 0;
            foreach (Match m in Number().Matches(d))
            {
                if (!long.TryParse(m.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    return null;
                }
                sums[k++] += n;
            }
        }
        var i = 0;
        return Number().Replace(details[0], _ => sums[i++].ToString(CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"(?<![\w.])\d+(?![\w.])")]
    private static partial Regex Number();
}
