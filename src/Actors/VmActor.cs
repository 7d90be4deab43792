using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using static VApicActors.Actors.Protocol.VmProtocol;

namespace VApicActors.Actors;

/// <summary>
/// One VM: creates its router and one vAPIC actor per vCPU, supervises them, owns the virtual clock and
/// runs the APIC timers on it, and keeps the EOI messages sent toward the I/O APICs.
/// </summary>
/// <remarks>
/// A clock step processes every expiry up to its target in time order (equal times: lower vCPU index
/// first), each at its own time, one vAPIC at a time; other requests wait until the step is over.
/// </remarks>
internal sealed class VmActor : ReceiveActor, IWithUnboundedStash
{
    private readonly VmSpec _spec;
    private readonly IActorRef _router;
    private readonly ImmutableArray<IActorRef> _apics;
    private readonly ILoggingAdapter _log;

    /// <summary>Pending expiries by (due, vCPU index); <see cref="_dueOf"/> holds each vCPU's entry.</summary>
    private readonly SortedSet<Expiry> _expiries = new();
    private readonly long?[] _dueOf;
    private readonly List<byte> _eoiBroadcasts = new();
    private long _now;

    // The step in progress.
    private long _target;
    private IActorRef _stepReplyTo = ActorRefs.Nobody;
    private int _expiring = -1;
    // Expiry messages each vCPU has had in the step in progress (see NextExpiry); allocated on the first step.
    private int[]? _stepRounds;
    private Exception? _startFailure;

    // The save or restore in progress.
    private IActorRef _stateReplyTo = ActorRefs.Nobody;
    private ApicState[] _saved = [];
    private int _awaitingAnswers;
    // The EOI broadcasts the saved state gets: an EOI a vAPIC handled after its state was taken (_saved holds it)
    // belongs to the VM after the save.
    private readonly List<byte> _savedEoiBroadcasts = new();
    private uint? _savedPreviousWinner;
    // Restores asked of each vAPIC: an EOI broadcast it sent before handling the last belongs to the state replaced.
    private int[]? _restoresAsked;
    private readonly VmClock _clock;
    private Exception? _restoreFailure;

    public VmActor(VmSpec spec, ITraceSink? trace)
    {
        _spec = spec;
        _log = Context.GetLogger().WithContext("Vm", spec.Name);
        _dueOf = new long?[spec.VcpuCount];
        var routes = new RouteSnapshot(spec.VcpuCount);
        _clock = new VmClock();
        // The router and the vAPICs tell each other for nearly every IPI: they share the dispatcher made for that.
        // One deployment shared by all of them (WithDispatcher would make one per actor, and a vCPU counts every byte).
        var deploy = Deploy.Local.WithDispatcher(VcpuDispatcher.Use(Context.System));
        _router = Context.ActorOf(ApicRouterActor.Props(spec.VcpuCount, Self, routes, _clock).WithDeploy(deploy), "router");
        var apics = ImmutableArray.CreateBuilder<IActorRef>(spec.VcpuCount);
        for (var index = 0; index < spec.VcpuCount; index++)
        {
            var config = VmSpecs.ApicConfigOf(spec, index);
            apics.Add(Context.ActorOf(VApicActor.Props(config, Self, _router, routes, _clock, spec.Name, trace).WithDeploy(deploy), "apic-" + index));
        }
        _apics = apics.MoveToImmutable();
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(VmSpec spec, ITraceSink? trace) => Akka.Actor.Props.Create<VmActor>(spec, trace!);

    /// <summary>
    /// A failing vAPIC is resumed: it keeps its actor and its page. The failure is logged at Error with the
    /// message that caused it. A vAPIC that cannot even be created fails the VM's start.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(OnChildFailure, loggingEnabled: false);

    private Directive OnChildFailure(Exception ex)
    {
        switch (ex)
        {
            case ApicHandlerException failure:
                _log.Error(failure.InnerException, "vCPU {Vcpu} (APIC {ApicId:X}) failed handling {FailedMessage}; resumed with its state kept",
                    failure.Vcpu, failure.ApicId, failure.FailedMessage);
                return Directive.Resume;
            case ActorInitializationException:
                _log.Error(ex, "VM {Vm} could not start an actor", _spec.Name);
                if (_startFailure is null)
                {
                    _startFailure = ex;
                    Self.Tell(new StartFailed(ex));
                }
                return Directive.Stop;
            default:
                _log.Error(ex, "VM {Vm} child failed; resumed with its state kept", _spec.Name);
                return Directive.Resume;
        }
    }

    /// <summary>
    /// The VM stopped: a clock step, save or restore in progress is answered with a failure, as its vAPICs stop
    /// without answering.
    /// </summary>
    protected override void PostStop()
    {
        var stopped = new Status.Failure(new InvalidOperationException("the VM " + _spec.Name + " stopped before the request was done"));
        _stepReplyTo.Tell(stopped);
        _stateReplyTo.Tell(stopped);
        base.PostStop();
    }

    private void Starting()
    {
        Receive<RoutesReady>(_ =>
        {
            _log.Info("VM {Vm} started with {VcpuCount} vCPUs", _spec.Name, _spec.VcpuCount);
            Become(Idle);
            Stash.UnstashAll();
        });
        Receive<StartFailed>(m =>
        {
            Become(Failed);
            Stash.UnstashAll();
        });
        ReceiveTimerReports();
        ReceiveAny(_ => Stash.Stash());
    }

    private void Failed()
    {
        ReceiveAny(_ => Sender.Tell(new Status.Failure(_startFailure ?? new InvalidOperationException("the VM failed to start"))));
    }

    private void Idle()
    {
        ReceiveTimerReports();
        Receive<GetTopology>(_ => Sender.Tell(new VmTopology(_spec.Name, _apics, _router)));
        Receive<GetClock>(_ => Sender.Tell(new ClockTime(_now)));
        Receive<StepClock>(m =>
        {
            if (m.Nanoseconds is long ns)
            {
                BeginStep(ns < 0 ? _now : SaturatingAdd(_now, ns));
            }
            else if (_expiries.Count > 0)
            {
                BeginStep(Math.Max(_now, _expiries.Min.Due));
            }
            else
            {
                Sender.Tell(new ClockTime(_now));
            }
        });
        Receive<SetClock>(m => BeginStep(Math.Max(_now, m.Nanoseconds)));
        Receive<TakeEoiBroadcasts>(_ =>
        {
            Sender.Tell(new EoiBroadcasts([.. _eoiBroadcasts]));
            _eoiBroadcasts.Clear();
        });
        Receive<SaveVm>(_ => BeginSave());
        Receive<RestoreVm>(m => BeginRestore(m.State));
    }

    /// <summary>Asks every vAPIC for its state at the current time; other requests wait until all have answered.</summary>
    private void BeginSave()
    {
        _stateReplyTo = Sender;
        _saved = new ApicState[_apics.Length];
        // Every vAPIC answers, and the router with the lowest-priority round robin's position.
        _awaitingAnswers = _apics.Length + 1;
        _savedEoiBroadcasts.Clear();
        _savedEoiBroadcasts.AddRange(_eoiBroadcasts);
        _savedPreviousWinner = null;
        _router.Tell(new RouterProtocol.SaveRoundRobin(Self));
        for (var index = 0; index < _apics.Length; index++)
        {
            _apics[index].Tell(new ApicProtocol.SaveState(index, _now, 0, Self));
        }
        Become(Saving);
    }

    private void Saving()
    {
        Receive<EoiBroadcast>(m =>
        {
            if (TakeEoiBroadcast(m) && _saved[m.Vcpu] is null)
            {
                _savedEoiBroadcasts.Add(m.Vector);
            }
        });
        ReceiveTimerReports();
        Receive<ApicProtocol.StateSaved>(m =>
        {
            _saved[m.Vcpu] = m.State;
            SavedOne();
        });
        Receive<RouterProtocol.RoundRobinSaved>(m =>
        {
            _savedPreviousWinner = m.PreviousWinner;
            SavedOne();
        });
        Receive<Status.Failure>(m =>
        {
            _saved = [];
            _awaitingAnswers = 0;
            EndStateChange(m);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void SavedOne()
    {
        if (--_awaitingAnswers == 0)
        {
            var state = new VmState(_spec, _now, [.. _savedEoiBroadcasts], [.. _saved], _savedPreviousWinner);
            _saved = [];
            EndStateChange(new VmStateSaved(state));
        }
    }

    /// <summary>
    /// Sets the clock and the pending EOI broadcasts, then restores every vAPIC; each reports its new identity to
    /// the router and its timer to this actor before it answers. Other requests wait until all have answered.
    /// </summary>
    private void BeginRestore(VmState state)
    {
        try
        {
            state.CheckRestorableInto(_spec);
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new Status.Failure(e));
            return;
        }
        _stateReplyTo = Sender;
        _now = state.VirtualTimeNs;
        _clock.Publish(_now);
        _eoiBroadcasts.Clear();
        _eoiBroadcasts.AddRange(state.PendingEoiBroadcasts);
        _restoreFailure = null;
        // Every vAPIC answers, and the router once it goes on after the saved previous lowest-priority winner.
        _awaitingAnswers = _apics.Length + 1;
        _router.Tell(new RouterProtocol.RestoreRoundRobin(state.LowestPriorityPreviousWinner, Self));
        _restoresAsked ??= new int[_apics.Length];
        for (var index = 0; index < _apics.Length; index++)
        {
            _restoresAsked[index]++;
            _apics[index].Tell(new ApicProtocol.RestoreState(index, state.Apics[index], _now, 0, Self));
        }
        Become(Restoring);
    }

    private void Restoring()
    {
        ReceiveTimerReports();
        Receive<ApicProtocol.AccessCompleted>(_ => RestoredOne());
        Receive<RouterProtocol.RoundRobinRestored>(_ => RestoredOne());
        Receive<Status.Failure>(m =>
        {
            _restoreFailure ??= m.Cause;
            RestoredOne();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void RestoredOne()
    {
        if (--_awaitingAnswers == 0)
        {
            EndStateChange(_restoreFailure is null ? VmRestored.Instance : new Status.Failure(_restoreFailure));
        }
    }

    private void EndStateChange(object reply)
    {
        _stateReplyTo.Tell(reply);
        _stateReplyTo = ActorRefs.Nobody;
        Become(Idle);
        Stash.UnstashAll();
    }

    private void Stepping()
    {
        ReceiveTimerReports();
        Receive<TimersExpired>(m =>
        {
            SetDue(m.Vcpu, m.NextDueNs);
            if (m.Vcpu == _expiring)
            {
                _expiring = -1;
                NextExpiry();
            }
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>Timer and EOI reports from the vAPICs are taken in every state, in the order each vAPIC sent them.</summary>
    private void ReceiveTimerReports()
    {
        Receive<TimerArmed>(m => SetDue(m.Vcpu, m.DueNs));
        Receive<TimerCancelled>(m => SetDue(m.Vcpu, null));
        Receive<EoiBroadcast>(m => TakeEoiBroadcast(m));
    }

    /// <summary>Keeps an EOI broadcast, unless it came from a state a restore has replaced since (it is dropped with that state).</summary>
    private bool TakeEoiBroadcast(EoiBroadcast m)
    {
        if (_restoresAsked is not null && m.Restores < _restoresAsked[m.Vcpu])
        {
            _log.Debug("VM {Vm}: the EOI broadcast of vector {Vector:X2} by vCPU {Vcpu} came from the state its restore replaced; dropped",
                _spec.Name, m.Vector, m.Vcpu);
            return false;
        }
        _eoiBroadcasts.Add(m.Vector);
        return true;
    }

    private void BeginStep(long target)
    {
        _target = target;
        _stepReplyTo = Sender;
        if (_stepRounds is null)
        {
            _stepRounds = new int[_apics.Length];
        }
        else
        {
            Array.Clear(_stepRounds);
        }
        Become(Stepping);
        NextExpiry();
    }

    /// <summary>Expiry messages a vCPU gets in one step, each up to the next other vCPU's turn, before it is let
    /// take the rest of its step in one (decision 18 in docs/decisions.md).</summary>
    internal const int InterleavedRoundsPerStep = 64;

    /// <summary>
    /// Sends the earliest expiry at or before the target to its vAPIC, or ends the step. The vAPIC may take its own
    /// later expiries too, up to the next other vCPU's turn, so that expiries are processed in time order across
    /// vCPUs. When two vCPUs' periods interleave closely that is a message per expiry or two; a vCPU that has had
    /// <see cref="InterleavedRoundsPerStep"/> messages in the step takes the rest of it at once instead. A timer
    /// touches only its own APIC, so the APICs end the step as they would have; only the trace's order between vCPUs
    /// differs, and a step costs a bounded number of messages however short and however many the periods.
    /// </summary>
    private void NextExpiry()
    {
        if (_expiries.Count > 0 && _expiries.Min.Due <= _target)
        {
            var first = _expiries.Min;
            var limit = _target;
            if (++_stepRounds![first.Index] <= InterleavedRoundsPerStep)
            {
                foreach (var other in _expiries)
                {
                    if (other.Index == first.Index)
                    {
                        continue;
                    }
                    limit = Math.Min(limit, other.Index < first.Index ? other.Due - 1 : other.Due);
                    break;
                }
            }
            _expiring = first.Index;
            _apics[first.Index].Tell(new ExpireTimers(first.Index, limit));
            return;
        }
        _now = Math.Max(_now, _target);
        _clock.Publish(_now);
        _stepReplyTo.Tell(new ClockTime(_now));
        _stepReplyTo = ActorRefs.Nobody;
        Become(Idle);
        Stash.UnstashAll();
    }

    private void SetDue(int index, long? due)
    {
        if (_dueOf[index] is long old)
        {
            _expiries.Remove(new Expiry(old, index));
        }
        _dueOf[index] = due;
        if (due is long at)
        {
            _expiries.Add(new Expiry(at, index));
        }
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private readonly record struct Expiry(long Due, int Index) : IComparable<Expiry>
    {
        public int CompareTo(Expiry other)
        {
            var byDue = Due.CompareTo(other.Due);
            return byDue != 0 ? byDue : Index.CompareTo(other.Index);
        }
    }

    private sealed record StartFailed(Exception Cause);
}
