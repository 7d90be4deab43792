using System.Diagnostics;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>Design 1: the register model called directly, every vCPU in turn on one thread.</summary>
public static class DirectDesign
{
    public static BenchResult Run(int vcpus, TimeSpan duration)
    {
        var apics = new LocalApic[vcpus];
        for (var i = 0; i < apics.Length; i++)
        {
            apics[i] = BenchWorkload.CreateApic(i);
        }
        var table = new ApicRouteTable(apics.Select(a => a.Identity).ToArray());
        var outstanding = new bool[vcpus];
        var targets = new List<int>(4);
        var capture = new IpiCapture();
        var fx = NullApicEffects.Instance;
        long exits = 0, ipis = 0;
        var cpu = BenchResult.ProcessCpuTime();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            for (var v = 0; v < apics.Length; v++)
            {
                var apic = apics[v];
                if (!outstanding[v])
                {
                    var tpr = apic.ReadMsr(BenchWorkload.TprMsr, 0, fx).Value;
                    apic.WriteMsr(BenchWorkload.TprMsr, tpr, 0, fx);
                    capture.HasRequest = false;
                    apic.WriteMsr(ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(v, vcpus), 0, capture);
                    exits += 3;
                    outstanding[v] = true;
                    targets.Clear();
                    table.Resolve(capture.Request, v, targets);
                    foreach (var t in targets)
                    {
                        apics[t].Accept(capture.Request.Message, 0, fx);
                    }
                }
                while (apic.Acknowledge(0, fx).IsOk)
                {
                    apic.Eoi(0, fx);
                    exits += 2;
                    ipis++;
                    outstanding[(v + vcpus - 1) % vcpus] = false;
                }
            }
        }
        watch.Stop();
        cpu = BenchResult.ProcessCpuTime() - cpu;
        foreach (var apic in apics)
        {
            apic.Dispose();
        }
        return new BenchResult("direct", vcpus, exits, ipis, watch.Elapsed, cpu);
    }
}
