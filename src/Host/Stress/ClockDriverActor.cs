using Akka.Actor;
using VApicActors.Actors.Protocol;

namespace VApicActors.Host.Stress;

/// <summary>
/// Advances a VM's virtual clock step after step while a concurrent run goes on, so that timers fire. The virtual
/// time keeps to the wall clock: a step that would take it ahead waits (about a millisecond), so the clock costs
/// little CPU and the timers fire at their programmed rates instead of as fast as the machine can step.
/// </summary>
internal sealed class ClockDriverActor : ReceiveActor, IWithTimers
{
    private const string PaceTimer = "pace";
    private readonly System.Diagnostics.Stopwatch _wall = new();
    private readonly IActorRef _vm;
    private readonly VmProtocol.StepClock _step;
    private bool _stepping;
    private IActorRef? _stopRequester;
    private long _startNs = -1;
    private bool _stopped;

    public ClockDriverActor(IActorRef vm, long stepNs)
    {
        _vm = vm;
        _step = new VmProtocol.StepClock(stepNs);
        Receive<StressDriverActor.Go>(_ =>
        {
            _wall.Start();
            Step();
        });
        Receive<Pace>(_ =>
        {
            if (!_stopped)
            {
                Step();
            }
        });
        Receive<VmProtocol.ClockTime>(m =>
        {
            _stepping = false;
            NowNs = m.Nanoseconds;
            if (_startNs < 0)
            {
                _startNs = NowNs;
            }
            if (_stopRequester is not null)
            {
                _stopRequester.Tell(new Stopped(NowNs));
                _stopRequester = null;
                return;
            }
            if (NowNs - _startNs > _wall.Elapsed.Ticks * 100)
            {
                // Ahead of the wall clock: wait for it.
                Timers.StartSingleTimer(PaceTimer, Pace.Instance, TimeSpan.FromMilliseconds(1));
                return;
            }
            Step();
        });
        Receive<StressDriverActor.Stop>(_ =>
        {
            _stopped = true;
            _stopRequester = Sender;
            Timers.Cancel(PaceTimer);
            if (!_stepping)
            {
                _stopRequester.Tell(new Stopped(NowNs));
                _stopRequester = null;
            }
        });
    }

    private long NowNs { get; set; }

    public static Props Props(IActorRef vm, long stepNs) => Akka.Actor.Props.Create(() => new ClockDriverActor(vm, stepNs));

    public ITimerScheduler Timers { get; set; } = null!;

    private void Step()
    {
        _stepping = true;
        _vm.Tell(_step, Self);
    }

    private sealed record Pace
    {
        public static readonly Pace Instance = new();
    }

    /// <summary>The clock stands still at <paramref name="NowNs"/>.</summary>
    internal sealed record Stopped(long NowNs);
}
