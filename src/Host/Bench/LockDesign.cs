using System.Diagnostics;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// Design 2: conventional shared memory. Every APIC behind its own lock; an IPI is a direct call into the target
/// under the target's lock; one thread per core, each driving its share of the vCPUs.
/// </summary>
public static class LockDesign
{
    public static BenchResult Run(int vcpus, TimeSpan duration, int threads)
    {
        var apics = new LocalApic[vcpus];
        for (var i = 0; i < apics.Length; i++)
        {
            apics[i] = BenchWorkload.CreateApic(i);
        }
        var table = new ApicRouteTable(apics.Select(a => a.Identity).ToArray());
        var outstanding = new int[vcpus];
        var exits = new long[threads];
        var ipis = new long[threads];
        var stop = 0;
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            var self = t;
            workers[t] = new Thread(() =>
            {
                var capture = new IpiCapture();
                var fx = NullApicEffects.Instance;
                var targets = new List<int>(4);
                long myExits = 0, myIpis = 0;
                var idle = new SpinWait();
                var passStart = -1L;
                start.SignalAndWait();
                while (Volatile.Read(ref stop) == 0)
                {
                    // A pass in which every vCPU of this thread waits on another thread's: spin, then yield the core, as
                    // a waiting vCPU thread would; without it a thread that shares its core starves the one it waits on.
                    if (myExits == passStart)
                    {
                        idle.SpinOnce(sleep1Threshold: -1);
                    }
                    else
                    {
                        idle.Reset();
                    }
                    passStart = myExits;
                    for (var v = self; v < apics.Length; v += threads)
                    {
                        var apic = apics[v];
                        var send = Volatile.Read(ref outstanding[v]) == 0;
                        capture.HasRequest = false;
                        if (send)
                        {
                            // Marked before the write: the target may take and EOI it before this thread goes on.
                            Volatile.Write(ref outstanding[v], 1);
                            lock (apic)
                            {
                                var tpr = apic.ReadMsr(BenchWorkload.TprMsr, 0, fx).Value;
                                apic.WriteMsr(BenchWorkload.TprMsr, tpr, 0, fx);
                                apic.WriteMsr(ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(v, vcpus), 0, capture);
                            }
                            myExits += 3;
                        }
                        if (capture.HasRequest)
                        {
                            targets.Clear();
                            table.Resolve(capture.Request, v, targets);
                            foreach (var target in targets)
                            {
                                lock (apics[target])
                                {
                                    apics[target].Accept(capture.Request.Message, 0, fx);
                                }
                            }
                        }
                        while (true)
                        {
                            lock (apic)
                            {
                                if (!apic.Acknowledge(0, fx).IsOk)
                                {
                                    break;
                                }
                                apic.Eoi(0, fx);
                            }
                            myExits += 2;
                            myIpis++;
                            Volatile.Write(ref outstanding[(v + vcpus - 1) % vcpus], 0);
                        }
                    }
                }
                exits[self] = myExits;
                ipis[self] = myIpis;
            }) { IsBackground = true, Name = "bench-vcpus-" + t };
            workers[t].Start();
        }
        start.SignalAndWait();
        var cpu = BenchResult.ProcessCpuTime();
        var watch = Stopwatch.StartNew();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, 1);
        foreach (var w in workers)
        {
            w.Join();
        }
        watch.Stop();
        cpu = BenchResult.ProcessCpuTime() - cpu;
        foreach (var apic in apics)
        {
            apic.Dispose();
        }
        return new BenchResult("locks", vcpus, exits.Sum(), ipis.Sum(), watch.Elapsed, cpu, threads);
    }
}
