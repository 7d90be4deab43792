using VApicActors.Actors;
using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>Turns counters and checks into a <see cref="StressReport"/>.</summary>
internal static class StressReportBuilder
{
    public static StressReport Build(StressSettings settings, List<StressVm> vms, List<ApicCounters[]> counters,
        IReadOnlyList<InvariantResult> invariants, double elapsedSeconds, double? creationSeconds, double? wallSeconds)
    {
        var perVcpu = new List<VcpuStressReport>();
        var byKind = Enum.GetValues<OperationKind>().ToDictionary(OperationMix.Key, _ => 0L);
        var fixedOutcomes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long operations = 0, exits = 0, ipis = 0;
        for (var v = 0; v < vms.Count; v++)
        {
            var ledger = vms[v].World.Ledger;
            for (var i = 0; i < vms[v].Cpus.Length; i++)
            {
                var cpu = vms[v].Cpus[i];
                var c = counters[v][i];
                operations += cpu.Operations;
                exits += cpu.Exits;
                var nmis = ApicCounters.Of(c.OtherOutcomes, AcceptOutcome.NmiDelivered);
                ipis += c.FixedArrived + c.LowestPriorityArrived + nmis;
                foreach (var kind in Enum.GetValues<OperationKind>())
                {
                    byKind[OperationMix.Key(kind)] += cpu.OperationsByKind[(int)kind];
                }
                foreach (var outcome in Enum.GetValues<AcceptOutcome>())
                {
                    var n = c.FixedOutcomes[(int)outcome];
                    if (n > 0)
                    {
                        fixedOutcomes[outcome.ToString()] = fixedOutcomes.GetValueOrDefault(outcome.ToString()) + n;
                    }
                }
                perVcpu.Add(new VcpuStressReport(
                    v, i, c.ApicId, cpu.Operations, cpu.Exits, c.FixedIpisSent, c.LowestPriorityIpisSent, c.OtherIpisSent,
                    c.FixedArrived, c.LowestPriorityArrived, c.Accepted, c.Coalesced, c.Dropped,
                    ApicCounters.Of(c.LocalOutcomes, AcceptOutcome.Accepted), ApicCounters.Of(c.LocalOutcomes, AcceptOutcome.Coalesced),
                    ApicCounters.DroppedOf(c.LocalOutcomes),
                    nmis, c.Acknowledged, c.Eoied, ledger.Queued[i], ledger.Ran[i], LatencySummary.Of(c.ToEoi)));
            }
            ipis -= ledger.MsisSent;
        }
        var all = counters.SelectMany(c => c).ToList();
        return new StressReport(settings, elapsedSeconds, (operations, exits, ipis),
            (LatencySummary.Of(LatencyHistogram.Merge(all.Select(c => c.ToAcceptance))), LatencySummary.Of(LatencyHistogram.Merge(all.Select(c => c.ToEoi)))),
            invariants, byKind, fixedOutcomes, perVcpu)
        {
            VmCreationSeconds = creationSeconds,
            WallSeconds = wallSeconds,
        };
    }
}
