using Akka.Actor;
using VApicActors.Actors.Protocol;

namespace VApicActors.Host.Stress;

/// <summary>Advances a VM's virtual clock step after step while a concurrent run goes on, so that timers fire.</summary>
internal sealed class ClockDriverActor : ReceiveActor
{
    private readonly IActorRef _vm;
    private readonly VmProtocol.StepClock _step;
    private bool _stepping;
    private IActorRef? _stopRequester;

    public ClockDriverActor(IActorRef vm, long stepNs)
    {
        _vm = vm;
        _step = new VmProtocol.StepClock(stepNs);
        Receive<StressDriverActor.Go>(_ => Step());
        Receive<VmProtocol.ClockTime>(m =>
        {
            _stepping = false;
            NowNs = m.Nanoseconds;
            if (_stopRequester is not null)
            {
                _stopRequester.Tell(new Stopped(NowNs));
                _stopRequester = null;
                return;
            }
            Step();
        });
        Receive<StressDriverActor.Stop>(_ =>
        {
            _stopRequester = Sender;
            if (!_stepping)
            {
                _stopRequester.Tell(new Stopped(NowNs));
                _stopRequester = null;
            }
        });
    }

    private long NowNs { get; set; }

    public static Props Props(IActorRef vm, long stepNs) => Akka.Actor.Props.Create(() => new ClockDriverActor(vm, stepNs));

    private void Step()
    {
        _stepping = true;
        _vm.Tell(_step, Self);
    }

    /// <summary>The clock stands still at <paramref name="NowNs"/>.</summary>
    internal sealed record Stopped(long NowNs);
}
