using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// Design 4, a yardstick rather than a product: the least an actor design of this workload can cost. An actor per
/// vCPU owns a bare <see cref="LocalApic"/> and does the workload's five exits as calls to it; the IPI and the ring's
/// "done" are the only messages, two per IPI, on the vCPU dispatcher the vAPIC actors use. Nothing else: no vAPIC
/// protocol, no counters, no trace, no timers, no fault handling. What the actor design costs beyond this is the vAPIC
/// actor's own; what this costs beyond the lock design is two Akka messages per IPI against a few locks.
/// </summary>
public static class FloorDesign
{
    public static async Task<BenchResult> RunAsync(ActorSystem system, int vcpus, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(system);
        var dispatcher = VcpuDispatcher.Use(system);
        var apics = new LocalApic[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            apics[i] = BenchWorkload.CreateApic(i);
        }
        var table = new ApicRouteTable(apics.Select(a => a.Identity).ToArray());
        // Filled before any vCPU starts and read only after: every actor resolves its IPI's targets to their actors.
        var actors = new IActorRef[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            var index = i;
            var apic = apics[i];
            actors[i] = system.ActorOf(Props.Create(() => new FloorVcpu(index, vcpus, apic, table, actors)).WithDispatcher(dispatcher));
        }
        var result = await ActorDesign.MeasureAsync("floor", vcpus, duration,
            () =>
            {
                foreach (var actor in actors)
                {
                    actor.Tell(FloorVcpu.Start.Instance);
                }
            },
            () => Task.WhenAll(actors.Select(a => a.Ask<BenchDriverActor.Counts>(FloorVcpu.Stop.Instance, TimeSpan.FromSeconds(30))))).ConfigureAwait(false);
        foreach (var actor in actors)
        {
            system.Stop(actor);
        }
        foreach (var apic in apics)
        {
            apic.Dispose();
        }
        return result;
    }

    private sealed class FloorVcpu(int index, int vcpus, LocalApic apic, ApicRouteTable table, IActorRef[] actors) : ActorBase
    {
        private readonly IpiCapture _capture = new();
        private readonly List<int> _targets = new(4);
        private readonly int _previous = (index + vcpus - 1) % vcpus;
        private bool _outstanding;
        private bool _stopped;
        private long _exits;
        private long _ipis;

        protected override bool Receive(object message)
        {
            switch (message)
            {
                case Ipi ipi:
                    Take(ipi.Message);
                    return true;
                case Done:
                    _outstanding = false;
                    Round();
                    return true;
                case Start:
                    Round();
                    return true;
                case Stop:
                    _stopped = true;
                    Sender.Tell(new BenchDriverActor.Counts(_exits, _ipis));
                    return true;
                default:
                    return false;
            }
        }

        // TPR read, TPR write, ICR write: the IPI goes to its targets' actors as they resolve.
        private void Round()
        {
            if (_outstanding || _stopped)
            {
                return;
            }
            _outstanding = true;
            var fx = NullApicEffects.Instance;
            var tpr = apic.ReadMsr(BenchWorkload.TprMsr, 0, fx).Value;
            apic.WriteMsr(BenchWorkload.TprMsr, tpr, 0, fx);
            _capture.HasRequest = false;
            apic.WriteMsr(ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(index, vcpus), 0, _capture);
            _exits += 3;
            _targets.Clear();
            table.Resolve(_capture.Request, index, _targets);
            foreach (var target in _targets)
            {
                actors[target].Tell(new Ipi(_capture.Request.Message));
            }
        }

        // Accept, then acknowledge and EOI everything deliverable; each EOI is its sender's "done".
        private void Take(in InterruptMessage message)
        {
            if (_stopped)
            {
                // Counted already; the APICs may be disposed once every vCPU has answered its Stop.
                return;
            }
            var fx = NullApicEffects.Instance;
            apic.Accept(message, 0, fx);
            while (apic.Acknowledge(0, fx).IsOk)
            {
                apic.Eoi(0, fx);
                _exits += 2;
                _ipis++;
                actors[_previous].Tell(Done.Instance);
            }
        }

        internal sealed class Start
        {
            public static readonly Start Instance = new();
        }

        internal sealed class Stop
        {
            public static readonly Stop Instance = new();
        }

        private sealed class Done
        {
            public static readonly Done Instance = new();
        }

        private sealed record Ipi(InterruptMessage Message);
    }
}
