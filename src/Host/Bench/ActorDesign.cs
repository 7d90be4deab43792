using System.Diagnostics;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// Design 3: the actor system — one vAPIC actor and one driver actor per vCPU, IPIs as messages. With
/// <paramref name="batchExits"/> each driver sends the exits it makes between two VM entries as one sequence.
/// </summary>
public static class ActorDesign
{
    public static async Task<BenchResult> RunAsync(ActorSystem system, int vcpus, TimeSpan duration, bool batchExits = true)
    {
        ArgumentNullException.ThrowIfNull(system);
        await using var vm = await VmHandle.CreateAsync(system, new VmSpec("bench", vcpus, X2Apic: true)).ConfigureAwait(false);
        var drivers = new IActorRef[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            await vm.WriteMsrAsync(i, BenchWorkload.SvrMsr, BenchWorkload.SvrEnabled).ConfigureAwait(false);
            drivers[i] = system.ActorOf(BenchDriverActor.Props(i, vcpus, vm.GetApicRef(i), batchExits));
            var index = i;
            await vm.GetApicRef(i).Ask<ApicProtocol.AccessCompleted>(
                r => new ApicProtocol.AttachCore(index, drivers[index], LatencyClock.Off, 0, r), TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        }
        var cpu = BenchResult.ProcessCpuTime();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < vcpus; i++)
        {
            drivers[i].Tell(new BenchDriverActor.Start(drivers[(i + vcpus - 1) % vcpus]));
        }
        await Task.Delay(duration).ConfigureAwait(false);
        var counts = await Task.WhenAll(drivers.Select(d => d.Ask<BenchDriverActor.Counts>(BenchDriverActor.Stop.Instance, TimeSpan.FromSeconds(30)))).ConfigureAwait(false);
        watch.Stop();
        cpu = BenchResult.ProcessCpuTime() - cpu;
        foreach (var d in drivers)
        {
            system.Stop(d);
        }
        return new BenchResult("actors", vcpus, counts.Sum(c => c.Exits), counts.Sum(c => c.Ipis), watch.Elapsed, cpu);
    }
}
