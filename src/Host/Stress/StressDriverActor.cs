using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>
/// The guest-CPU driver of one vCPU in a concurrent run: makes one exit at a time, as a vCPU does, by Telling its
/// APIC actor (or, for a device MSI, the VM's router) and continuing when the answer comes. Kicked by the APIC when
/// an interrupt becomes deliverable. Never asks.
/// </summary>
internal sealed class StressDriverActor : ReceiveActor
{
    /// <summary>How many operations pass between two additions to the shared progress, at most.</summary>
    private const int ProgressEvery = 256;

    /// <summary>
    /// How long a driver's operations wait to be added to the shared progress, at most: with thousands of vCPUs each
    /// makes far fewer than <see cref="ProgressEvery"/> operations a second, and the progress would show none until the end.
    /// </summary>
    private const long ProgressMs = 200;

    private readonly StressCpu _cpu;
    private readonly IActorRef _apic;
    private readonly IActorRef _router;
    private readonly StressProgress _progress;
    private long _correlation;
    private long _reportedOperations;
    private long _reportedExits;
    private long _reportedAt = Environment.TickCount64;
    private IActorRef? _waiting;
    private bool _inFlight;

    public StressDriverActor(StressCpu cpu, IActorRef apic, IActorRef router, StressProgress progress)
    {
        _cpu = cpu;
        _apic = apic;
        _router = router;
        _progress = progress;
        Receive<ApicProtocol.AccessCompleted>(m =>
        {
            _inFlight = false;
            _cpu.Complete(m.Result);
            Pump();
        });
        Receive<Status.Failure>(_ =>
        {
            _inFlight = false;
            _cpu.Complete(AccessResult.Fault, failed: true);
            Pump();
        });
        Receive<ApicProtocol.InterruptPending>(_ =>
        {
            _cpu.Kick();
            if (!_inFlight)
            {
                Pump();
            }
        });
        Receive<Go>(_ => Pump());
        Receive<Stop>(m =>
        {
            if (m.Now)
            {
                _cpu.Stop();
            }
            _waiting = Sender;
            AnswerIfFinished();
        });
        Receive<Drain>(_ =>
        {
            _cpu.BeginDrain();
            _waiting = Sender;
            Pump();
        });
    }

    public static Props Props(StressCpu cpu, IActorRef apic, IActorRef router, StressProgress progress) =>
        Akka.Actor.Props.Create(() => new StressDriverActor(cpu, apic, router, progress));

    private void Pump()
    {
        if (_inFlight)
        {
            return;
        }
        if (!_cpu.TryNext(out var access))
        {
            Publish();
            AnswerIfFinished();
            return;
        }
        var unreported = _cpu.Operations - _reportedOperations;
        if (unreported >= ProgressEvery || (unreported > 0 && Environment.TickCount64 - _reportedAt >= ProgressMs))
        {
            Publish();
        }
        _inFlight = true;
        Send(access);
    }

    private void Send(in GuestAccess a) =>
        GuestMessages.Target(a, _apic, _router).Tell(GuestMessages.Build(a, _cpu.Index, ++_correlation, Self), Self);

    private void Publish()
    {
        _progress.Add(_cpu.Operations - _reportedOperations, _cpu.Exits - _reportedExits);
        _reportedOperations = _cpu.Operations;
        _reportedExits = _cpu.Exits;
        _reportedAt = Environment.TickCount64;
    }

    private void AnswerIfFinished()
    {
        if (_waiting is not null && !_inFlight && _cpu.Finished)
        {
            Publish();
            _waiting.Tell(new Finished(_cpu.Index));
            _waiting = null;
        }
    }

    /// <summary>Start issuing operations.</summary>
    internal sealed record Go
    {
        public static readonly Go Instance = new();
    }

    /// <summary>Answer <see cref="Finished"/> once the budget is spent (or at once with <paramref name="Now"/>) and nothing is in flight.</summary>
    internal sealed record Stop(bool Now);

    /// <summary>Take every interrupt left (TPR to 0 first), then answer <see cref="Finished"/>.</summary>
    internal sealed record Drain
    {
        public static readonly Drain Instance = new();
    }

    internal sealed record Finished(int Vcpu);
}
