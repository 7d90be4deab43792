using System.Diagnostics;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>How the actor design's vCPUs make their exits.</summary>
public enum ActorExits
{
    /// <summary>A driver actor per vCPU sends one request per exit to its vAPIC actor and waits for its answer.</summary>
    PerExit,

    /// <summary>A driver actor per vCPU sends the exits it makes between two VM entries as one <c>RunExits</c>.</summary>
    Batched,

    /// <summary>
    /// The vCPU runs inside its vAPIC actor (<c>HostCore</c>): the same sequences of exits as <see cref="Batched"/>,
    /// handled by the same code, without a message between core and APIC; IPIs and "done" are messages between actors.
    /// </summary>
    Hosted,
}

/// <summary>Design 3: the actor system — one vAPIC actor per vCPU and its core (see <see cref="ActorExits"/>), IPIs as messages.</summary>
public static class ActorDesign
{
    public static async Task<BenchResult> RunAsync(ActorSystem system, int vcpus, TimeSpan duration, ActorExits exits = ActorExits.Batched)
    {
        ArgumentNullException.ThrowIfNull(system);
        await using var vm = await VmHandle.CreateAsync(system, new VmSpec("bench", vcpus, X2Apic: true)).ConfigureAwait(false);
        if (exits == ActorExits.Hosted)
        {
            return await RunHostedAsync(vm, vcpus, duration).ConfigureAwait(false);
        }
        var batchExits = exits == ActorExits.Batched;
        var drivers = new IActorRef[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            await vm.WriteMsrAsync(i, BenchWorkload.SvrMsr, BenchWorkload.SvrEnabled).ConfigureAwait(false);
            drivers[i] = system.ActorOf(BenchDriverActor.Props(i, vcpus, vm.GetApicRef(i), batchExits).WithDispatcher(VcpuDispatcher.Id));
            var index = i;
            await vm.GetApicRef(i).Ask<ApicProtocol.AccessCompleted>(
                r => new ApicProtocol.AttachCore(index, drivers[index], LatencyClock.Off, 0, r), TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        }
        var result = await MeasureAsync("actors", vcpus, duration,
            () =>
            {
                for (var i = 0; i < vcpus; i++)
                {
                    drivers[i].Tell(new BenchDriverActor.Start(drivers[(i + vcpus - 1) % vcpus]));
                }
            },
            () => Task.WhenAll(drivers.Select(d => d.Ask<BenchDriverActor.Counts>(BenchDriverActor.Stop.Instance, StopTimeout)))).ConfigureAwait(false);
        foreach (var d in drivers)
        {
            system.Stop(d);
        }
        return result;
    }

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The measured part of an actor design's run: starts its vCPUs, lets them run for <paramref name="duration"/>,
    /// stops them and adds up their counts, with the wall-clock and process CPU time from the start to the last count.
    /// </summary>
    internal static async Task<BenchResult> MeasureAsync(string design, int vcpus, TimeSpan duration, Action start, Func<Task<BenchDriverActor.Counts[]>> stop)
    {
        var cpu = BenchResult.ProcessCpuTime();
        var watch = Stopwatch.StartNew();
        start();
        await Task.Delay(duration).ConfigureAwait(false);
        var counts = await stop().ConfigureAwait(false);
        watch.Stop();
        cpu = BenchResult.ProcessCpuTime() - cpu;
        return new BenchResult(design, vcpus, counts.Sum(c => c.Exits), counts.Sum(c => c.Ipis), watch.Elapsed, cpu);
    }

    private static async Task<BenchResult> RunHostedAsync(VmHandle vm, int vcpus, TimeSpan duration)
    {
        var apics = new IActorRef[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            await vm.WriteMsrAsync(i, BenchWorkload.SvrMsr, BenchWorkload.SvrEnabled).ConfigureAwait(false);
            apics[i] = vm.GetApicRef(i);
            var index = i;
            await apics[i].Ask<ApicProtocol.AccessCompleted>(
                r => new ApicProtocol.HostCore(index, new BenchHostedCore(index, vcpus), 0, r), TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        }
        return await MeasureAsync("actors", vcpus, duration,
            () =>
            {
                for (var i = 0; i < vcpus; i++)
                {
                    apics[i].Tell(new ApicProtocol.ToCore(i, new BenchHostedCore.Start(apics[(i + vcpus - 1) % vcpus])));
                }
            },
            () => Task.WhenAll(apics.Select((a, i) => a.Ask<BenchDriverActor.Counts>(
                r => new ApicProtocol.ToCore(i, new BenchHostedCore.Stop(r)), StopTimeout, CancellationToken.None)))).ConfigureAwait(false);
    }
}
