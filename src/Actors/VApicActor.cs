using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using static VApicActors.Actors.Protocol.ApicProtocol;
using static VApicActors.Actors.Protocol.RouterProtocol;
using static VApicActors.Actors.Protocol.VmProtocol;

namespace VApicActors.Actors;

/// <summary>
/// One vCPU's local APIC. Owns its <see cref="LocalApic"/> (and so its 4 KiB page) and is the only code that
/// touches it; handles one message at a time, collects the model's effects during the call, then carries
/// them out as messages. Never blocks and never asks.
/// </summary>
/// <remarks>
/// Sequential observation: when a call changes the APIC's routing identity or sends an IPI the router must
/// handle, the reply goes with it to the router, which answers only after the consequences are in place. Fixed
/// IPIs go straight to their targets through the route table the router publishes (<see cref="RouteSnapshot"/>),
/// before the reply. Timer arming and EOI broadcasts are told to the VM before the reply.
/// </remarks>
internal sealed class VApicActor : UntypedActor, IApicEffects, IHostedCoreContext
{
    /// <summary>Expiries one <see cref="ExpireTimers"/> processes at most before letting others in.</summary>
    internal const int MaxExpiriesPerMessage = 4096;

    private readonly LocalApic _apic;
    private readonly int _index;
    private readonly uint _apicId;
    private readonly IActorRef _vm;
    private readonly IActorRef _router;
    private readonly RouteSnapshot _routes;
    private readonly VmClock _clock;
    private readonly ApicTracer _tracer;
    private readonly ILoggingAdapter _log;
    private readonly IActorRef _self;

    /// <summary>The answer to a request without correlation id that reports plain success: immutable, so shared.</summary>
    private readonly AccessCompleted _doneUncorrelated;

    // Effects collected during one handler call.
    private readonly List<InterruptRequest> _sent = new(1);
    // (EOI broadcasts and local interrupts are rare: their lists get room on first use, not per vCPU up front.)
    private readonly List<byte> _eoiBroadcasts = [];
    private readonly List<LocalFire> _localFires = [];
    private bool _deliverable;

    // Set by the effect callbacks: whether this call produced anything to carry out beyond the answer. The two
    // checks stay set until Finish has compared the model's timer and identity with what was last reported
    // (they are also set where the reported timer is changed without the model, so that it is reported again).
    private bool _anyEffect;
    private bool _timerCheck;
    private bool _identityCheck;
    private byte _deliverableVector;
    private List<int>? _targets;

    // The sequence of exits (RunExits) being handled, the results so far, and the sequences queued behind it.
    private readonly ResumeRun _resume = new();
    private RunExits? _run;
    private AccessResult[]? _runResults;
    private int _runStep;
    private Queue<RunExits>? _runQueue;

    // The core this actor runs (HostCore), if any, with what goes with it (made only when a core is hosted: most
    // vAPICs never host one, and a 4096-vCPU VM counts every byte).
    private HostedCoreState? _host;

    // Counters, and the attached core with its latency measurement.
    private readonly long[] _fixedOutcomes = new long[ApicCounters.OutcomeCount];
    private readonly long[] _arbitratedOutcomes = new long[ApicCounters.OutcomeCount];
    private readonly long[] _otherOutcomes = new long[ApicCounters.OutcomeCount];
    private readonly long[] _localOutcomes = new long[ApicCounters.OutcomeCount];
    private long _acknowledged;
    private long _eoied;
    private long _fixedSent;
    private long _arbitratedSent;
    private long _otherSent;
    private long _lost;
    private int _toLose;
    private IActorRef? _core;
    private InterruptPending? _kick;
    private List<IActorRef>? _interruptSubscribers;
    private LatencyClock _latencyClock;
    private LatencyRecorder? _toAcceptance;
    private LatencyRecorder? _toEoi;
    // Send times of the IPIs a vector's IRR bit (0..255) and ISR bit (256..511) hold, -1 for none: a vector can be in
    // service and pending again at once, and each EOI ends the latency of the one in service.
    private long[]? _sentAt;

    /// <summary>The VM's virtual time as this APIC last heard it.</summary>
    private long _now;
    private long? _reportedDue;
    // Identity changes and IPIs told to the router: until it has carried them all out, fixed IPIs go through it too.
    private long _toldRouter;
    // Restores of the state handled: the VM tells the EOI broadcasts of a state it replaced from those of the new one.
    private int _restores;
    private ApicRoutingIdentity _reportedIdentity;

    public VApicActor(ApicConfig config, IActorRef vm, IActorRef router, RouteSnapshot routes, VmClock clock, string vmName, ITraceSink? trace)
    {
        _routes = routes;
        _clock = clock;
        _apic = new LocalApic(config);
        _index = config.Index;
        _apicId = config.InitialApicId;
        _vm = vm;
        _router = router;
        _tracer = new ApicTracer(trace, vmName, config.InitialApicId);
        _log = Context.GetLogger().WithContext("ApicId", config.InitialApicId);

        _self = Self;
        _doneUncorrelated = new AccessCompleted(_index, 0, AccessResult.Done);
    }

    /// <summary>One type switch, the messages of a guest exit first.</summary>
    protected override void OnReceive(object message)
    {
        // The virtual time: an interrupt is taken at the time it was sent (an IPI) or routed (an MSI); everything else
        // (guest accesses, the VM's own requests) at the time the VM last published. A bid keeps the time as it is.
        var now = message switch
        {
            DeliverInterrupt { VirtualNs: >= 0 } d => d.VirtualNs,
            BidRequest => _now,
            _ => _clock.Now,
        };
        if (now > _now)
        {
            _now = now;
        }
        switch (message)
        {
            case ReadMsr m:
                OnReadMsr(m);
                break;
            case WriteMsr m:
                OnWriteMsr(m);
                break;
            case Acknowledge m:
                OnAcknowledge(m);
                break;
            case EndOfInterrupt m:
                OnEoi(m);
                break;
            case RunExits m:
                OnRunExits(m);
                break;
            case ResumeRun:
                ContinueRun();
                break;
            case ToCore m:
                _host?.Core.Receive(m.Message);
                break;
            case HostedCoreState host when ReferenceEquals(host, _host):
                // The hosted core's sequence, sent on by the router after the work its last exit left it.
                host.DoneResults = host.WaitingResults;
                host.DoneCount = host.WaitingCount;
                host.WaitingResults = null;
                break;
            case HostCore m:
                OnHostCore(m);
                break;
            case DeliverInterrupt m:
                OnDeliver(m);
                break;
            case ReadMmio m:
                OnReadMmio(m);
                break;
            case WriteMmio m:
                OnWriteMmio(m);
                break;
            case ExpireTimers m:
                OnExpireTimers(m);
                break;
            case BidRequest m:
                Sender.Tell(new BidPlaced(m.Round, _apic.Bid(m.Vector)), _self);
                break;
            case SetLint m:
                OnSetLint(m);
                break;
            case RaiseLocal m:
                OnRaiseLocal(m);
                break;
            case ReadTsc m:
                m.ReplyTo.Tell(new AccessCompleted(_index, m.CorrelationId, _apic.ReadTsc(_now)), _self);
                break;
            case GetPending m:
                m.ReplyTo.Tell(new PendingVector(_index, m.CorrelationId, _apic.PendingVector), _self);
                break;
            case GetSnapshot m:
                m.ReplyTo.Tell(new SnapshotTaken(_index, m.CorrelationId, _apic.Snapshot(_now)), _self);
                break;
            case SaveState m:
                m.ReplyTo.Tell(new StateSaved(_index, m.CorrelationId, _apic.Save(m.NowNs)), _self);
                break;
            case RestoreState m:
                OnRestoreState(m);
                break;
            case AttachCore m:
                OnAttachCore(m);
                break;
            case SubscribeInterrupts m:
                OnSubscribeInterrupts(m);
                break;
            case Terminated m:
                _interruptSubscribers?.Remove(m.ActorRef);
                break;
            case GetCounters m:
                m.ReplyTo.Tell(new CountersRead(_index, m.CorrelationId, Counters()), _self);
                break;
            case LoseFixedIpis m:
                _toLose = Math.Max(0, m.Count);
                m.ReplyTo.Tell(Completed(m.CorrelationId, AccessResult.Done), _self);
                break;
            case InjectFault m:
                throw new InvalidOperationException(m.Reason);
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(ApicConfig config, IActorRef vm, IActorRef router, RouteSnapshot routes, VmClock clock, string vmName, ITraceSink? trace) =>
        Akka.Actor.Props.CreateBy(new Producer(config, vm, router, routes, clock, vmName, trace));

    protected override void PreStart()
    {
        if (_tracer.Enabled)
        {
            var config = _apic.Config;
            _tracer.Write(ApicTracer.ApicCreated, _now, value: config.InitialApicId, detail: ApicTracer.ConfigDetail(config));
        }
        _reportedIdentity = _apic.Identity;
        _reportedDue = _apic.TimerDue;
        _router.Tell(new ApicStarted(_reportedIdentity, _self), _self);
        if (_reportedDue is long due)
        {
            _vm.Tell(new TimerArmed(_index, due), _self);
        }
    }

    /// <summary>
    /// Releases the page. A sequence of exits still waiting for the router, and those queued behind it, are answered
    /// with a failure: the VM stopped before they were done.
    /// </summary>
    protected override void PostStop()
    {
        if (_run is not null || _runQueue is { Count: > 0 })
        {
            var stopped = new Status.Failure(new InvalidOperationException("the VM stopped before the sequence of exits was done"));
            if (_run is { } run && !ReferenceEquals(run.ReplyTo, _self))
            {
                run.ReplyTo.Tell(stopped, _self);
            }
            while (_runQueue is not null && _runQueue.TryDequeue(out var queued))
            {
                if (!ReferenceEquals(queued.ReplyTo, _self))
                {
                    queued.ReplyTo.Tell(stopped, _self);
                }
            }
            _run = null;
        }
        _apic.Dispose();
    }

    /// <summary>
    /// Runs one handler. A handler that throws (a bug: the model never throws on guest input) leaves the
    /// APIC as it is; the failure goes to the VM's supervisor, which logs it with this message and resumes.
    /// Whoever waits for an answer to the message gets one, so nothing hangs on the fault.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (_anyEffect)
        {
            ClearEffects();
        }
        try
        {
            var handled = base.AroundReceive(receive, message);
            if (_host is not null)
            {
                ServeCore();
            }
            return handled;
        }
        catch (Exception ex)
        {
            ClearEffects();
            AnswerAfterFault(message, ex);
            AbandonRun(message, ex);
            throw new ApicHandlerException(_index, _apicId, message, ex);
        }
    }

    private void OnReadMmio(ReadMmio m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoReadMmio(m.Address, m.Size)));

    private void OnWriteMmio(WriteMmio m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoWriteMmio(m.Address, m.Size, m.Value)));

    private void OnReadMsr(ReadMsr m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoReadMsr(m.Msr)));

    private void OnWriteMsr(WriteMsr m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoWriteMsr(m.Msr, m.Value)));

    private void OnAcknowledge(Acknowledge m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoAcknowledge()));

    private void OnEoi(EndOfInterrupt m) => Finish(m.ReplyTo, Completed(m.CorrelationId, DoEoi()));

    // The accesses themselves, shared by the requests of one access and by RunExits: the model call, its trace
    // event and its counters. The effects are left for Finish.

    private AccessResult DoReadMmio(ulong address, int size)
    {
        var result = _apic.ReadMmio(address, size, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MmioRead", _now, ApicTracer.MmioRegister(_apic.ApicBase, address), result.Value,
                detail: "addr=0x" + address.ToString("X") + " size=" + size + " result=" + result);
        }
        return result;
    }

    private AccessResult DoWriteMmio(ulong address, int size, ulong value)
    {
        var register = _tracer.Enabled ? ApicTracer.MmioRegister(_apic.ApicBase, address) : null;
        var result = _apic.WriteMmio(address, size, value, _now, this);
        if (register is not null)
        {
            _tracer.Write("MmioWrite", _now, register, value,
                detail: "addr=0x" + address.ToString("X") + " size=" + size + " result=" + result);
        }
        return result;
    }

    private AccessResult DoReadMsr(uint msr)
    {
        var result = _apic.ReadMsr(msr, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MsrRead", _now, ApicTracer.MsrRegister(msr), result.Value,
                detail: "msr=0x" + msr.ToString("X") + " result=" + result);
        }
        return result;
    }

    private AccessResult DoWriteMsr(uint msr, ulong value)
    {
        var result = _apic.WriteMsr(msr, value, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MsrWrite", _now, ApicTracer.MsrRegister(msr), value,
                detail: "msr=0x" + msr.ToString("X") + " result=" + result);
        }
        return result;
    }

    private AccessResult DoAcknowledge()
    {
        var result = _apic.Acknowledge(_now, this);
        if (result.IsOk)
        {
            _acknowledged++;
            if (_sentAt is not null && result.Value < 256)
            {
                // IRR to ISR: the send time goes with the bit.
                _sentAt[256 + (int)result.Value] = _sentAt[(int)result.Value];
                _sentAt[(int)result.Value] = -1;
            }
        }
        if (_tracer.Enabled)
        {
            _tracer.Write("Acknowledged", _now, vector: result.IsOk ? (int)result.Value : null, detail: result.ToString());
        }
        return result;
    }

    private AccessResult DoEoi()
    {
        var isrv = _apic.HighestIsr;
        var result = _apic.Eoi(_now, this);
        // An EOI clears the highest bit in service, if any: whether it did shows in the highest one after it.
        if (isrv >= 0 && _apic.HighestIsr != isrv)
        {
            CountEoi(isrv);
        }
        if (_tracer.Enabled)
        {
            _tracer.Write("Eoi", _now, detail: result.ToString());
        }
        return result;
    }

    /// <summary>Starts a sequence of exits, or queues it behind the one that waits for the router.</summary>
    private void OnRunExits(RunExits m)
    {
        if (_run is not null || _runQueue is { Count: > 0 })
        {
            (_runQueue ??= new Queue<RunExits>()).Enqueue(m);
            return;
        }
        StartRun(m);
    }

    private void StartRun(RunExits m)
    {
        _run = m;
        _runStep = 0;
        _runResults = IsHostedRun(m) ? _host!.LendBuffer(m.Exits.Length) : m.Exits.Length == 0 ? [] : new AccessResult[m.Exits.Length];
        ContinueRun();
    }

    private bool IsHostedRun(RunExits m) => _host is not null && ReferenceEquals(m.ReplyTo, _self);

    /// <summary>
    /// Handles the current sequence's exits from where it stopped: each exit's effects are carried out before the
    /// next one is handled, and when an exit leaves work to the router the sequence waits for the router's
    /// <see cref="ResumeRun"/>, exactly as a driver waits for the answer to one access before its next.
    /// </summary>
    private void ContinueRun()
    {
        while (true)
        {
            if (_run is null)
            {
                if (_runQueue is { Count: > 0 } queue)
                {
                    StartRun(queue.Dequeue());
                }
                return;
            }
            var run = _run;
            var exits = run.Exits;
            var results = _runResults!;
            while (_runStep < exits.Length)
            {
                var exit = exits[_runStep];
                var result = exit.Kind switch
                {
                    ExitKind.ReadMsr => DoReadMsr(exit.Msr),
                    ExitKind.WriteMsr => DoWriteMsr(exit.Msr, ExitValue(exit, results)),
                    ExitKind.ReadMmio => DoReadMmio(exit.Address, exit.Size),
                    ExitKind.WriteMmio => DoWriteMmio(exit.Address, exit.Size, ExitValue(exit, results)),
                    ExitKind.Acknowledge => DoAcknowledge(),
                    ExitKind.EndOfInterrupt => DoEoi(),
                    _ => AccessResult.Fault,
                };
                results[_runStep++] = result;
                if (!result.IsOk || _runStep == exits.Length)
                {
                    break;
                }
                if (Finish(_self, _resume, replyOnlyThroughRouter: true))
                {
                    return;
                }
            }
            var count = _runStep;
            _run = null;
            _runResults = null;
            if (IsHostedRun(run))
            {
                // The hosted core's sequence: it hears of the results once the handler is done (ServeCore), or, when the
                // router must carry out the last exit's work first, once the router sends the state back here.
                var host = _host!;
                if (Finish(_self, host, replyOnlyThroughRouter: true))
                {
                    host.WaitingResults = results;
                    host.WaitingCount = count;
                }
                else
                {
                    host.DoneResults = results;
                    host.DoneCount = count;
                }
                continue;
            }
            Finish(run.ReplyTo, new ExitsCompleted(_index, run.CorrelationId,
                count == results.Length ? ImmutableCollectionsMarshal.AsImmutableArray(results) : ImmutableArray.Create(results, 0, count)));
        }
    }

    private void OnHostCore(HostCore m)
    {
        _host = m.Core is null ? null : new HostedCoreState(m.Core, _index, _self);
        m.Core?.Attached(this);
        m.ReplyTo.Tell(Completed(m.CorrelationId, AccessResult.Done), _self);
        if (_host is not null && _apic.PendingVector >= 0)
        {
            _host.Kick = true;
        }
    }

    /// <summary>
    /// After each message: tells the hosted core what it has yet to hear (a kick, then the answer to its sequence, as
    /// a core actor would receive them) and starts the sequence it asked for, until nothing is left.
    /// </summary>
    private void ServeCore()
    {
        while (_host is { } host)
        {
            var core = host.Core;
            if (host.Kick)
            {
                host.Kick = false;
                core.InterruptPending();
            }
            else if (host.DoneResults is { } results)
            {
                // Given back before the call: a sequence the core asks for in it starts only after it returns.
                host.DoneResults = null;
                host.GiveBack(results);
                core.ExitsCompleted(results.AsSpan(0, host.DoneCount));
            }
            else if (host.Run is { } run)
            {
                host.Run = null;
                OnRunExits(run);
            }
            else
            {
                return;
            }
        }
    }

    IActorRef IHostedCoreContext.Apic => _self;

    void IHostedCoreContext.RunExits(ImmutableArray<Exit> exits)
    {
        if (_host is { } host)
        {
            host.Run = host.Request(exits);
        }
    }

    /// <summary>The value a write of a sequence writes: its own, or what an earlier exit of the sequence returned.</summary>
    private static ulong ExitValue(in Exit exit, AccessResult[] results) =>
        exit.ValueFrom >= 0 && exit.ValueFrom < results.Length ? results[exit.ValueFrom].Value : exit.Value;

    private void OnSetLint(SetLint m)
    {
        _apic.SetLint(m.Pin, m.Level, _now, this);
        _tracer.Write("Lint", _now, m.Pin == 0 ? "LINT0" : "LINT1", m.Level ? 1UL : 0UL);
        Finish(m.ReplyTo, Completed(m.CorrelationId, AccessResult.Done));
    }

    private void OnRaiseLocal(RaiseLocal m)
    {
        _tracer.Write(ApicTracer.LocalRaised, _now, ApicTracer.LvtRegister(m.Source));
        var outcome = _apic.RaiseLocal(m.Source, _now, this);
        if (_localFires.Count == 0)
        {
            // A hardware-disabled APIC reports nothing of its own: count and trace the drop here.
            _localOutcomes[(int)outcome]++;
            _tracer.Write(ApicTracer.OutcomeEvent(outcome), _now, ApicTracer.LvtRegister(m.Source), detail: outcome.ToString());
        }
        Finish(m.ReplyTo, Completed(m.CorrelationId, AccessResult.Done));
    }

    /// <summary>
    /// Replaces the APIC's state with a saved one at the VM's time; the new identity and timer reach the router
    /// and the VM before the answer does.
    /// </summary>
    private void OnRestoreState(RestoreState m)
    {
        _restores++;
        _now = m.NowNs;
        _apic.Restore(m.State, _now, this);
        _tracer.Write(ApicTracer.Restored, _now, value: m.State.ApicBase,
            detail: _tracer.Enabled ? "run-state=" + m.State.RunState + " timer-due-in-ns=" + m.State.TimerDueInNs : null);
        Finish(m.ReplyTo, Completed(m.CorrelationId, AccessResult.Done));
    }

    private void OnDeliver(DeliverInterrupt m)
    {
        var outcome = _apic.Accept(m.Message, _now, this);
        CountDelivery(m, outcome);
        if (_tracer.Enabled)
        {
            var name = m.SourceApicId is null ? "Msi" : ApicTracer.DeliveryEvent(m.Message, outcome);
            _tracer.Write(name, _now, value: ApicTracer.Pack(m.Message), vector: m.Message.Vector,
                source: m.SourceApicId, detail: outcome.ToString(), sourceSeq: m.SourceSeq == 0 ? null : m.SourceSeq);
        }
        if (outcome == AcceptOutcome.DroppedIllegalVector && _log.IsDebugEnabled)
        {
            // The guest's doing, answered as the hardware answers it (ESR bit 6) and traced: not the simulator's problem.
            _log.Debug("vCPU {Vcpu} received illegal vector {Vector:X2}", _index, m.Message.Vector);
        }
        if (m.AckRound != 0)
        {
            Finish(_router, new DeliveryApplied(m.AckRound, _index));
        }
        else
        {
            Finish(null, null);
        }
    }

    /// <summary>
    /// Processes this APIC's expiries due at or before the limit, each at its own time, and answers the VM with
    /// the next one (the answer replaces a separate timer report). Past <see cref="MaxExpiriesPerMessage"/>, the
    /// remaining expiries of a periodic timer up to the limit are taken together at the time of the last (decision
    /// 18 in docs/decisions.md), so a step costs the same however short the period.
    /// </summary>
    private void OnExpireTimers(ExpireTimers m)
    {
        var processed = 0;
        while (_apic.TimerDue is long due && due <= m.LimitNs && processed <= MaxExpiriesPerMessage)
        {
            var at = processed < MaxExpiriesPerMessage ? due : _apic.LastTimerDueBy(m.LimitNs) ?? due;
            _now = Math.Max(_now, at);
            var taken = _apic.ExpireTimers(_now, this);
            processed++;
            TraceTimerFired(due, taken);
            if (taken == 0 && _apic.TimerDue == due)
            {
                // The model neither fired nor moved its deadline: drop the expiry instead of spinning on it.
                _log.Error("vCPU {Vcpu} timer due at {Due} ns did not expire at {Now} ns; its expiry is dropped", _index, due, _now);
                _reportedDue = null;
                _timerCheck = true;
                Finish(_vm, new TimersExpired(_index, null), reportTimer: false);
                return;
            }
        }
        _reportedDue = _apic.TimerDue;
        Finish(_vm, new TimersExpired(_index, _reportedDue), reportTimer: false);
    }

    /// <summary>
    /// Writes one TimerFired event for the expiries one model call took (<paramref name="taken"/>, from the one due
    /// at <paramref name="due"/>), with the outcome of the last fire, and counts that outcome for every expiry the
    /// model did not fire for separately. When the first fire ended otherwise than the last (it set the IRR bit the
    /// others found set), it gets an event of its own, so that the events count each outcome as the counters do.
    /// </summary>
    private void TraceTimerFired(long due, ulong taken)
    {
        string detail = taken != 0 ? "fired" : "not-due";
        int? vector = null;
        LocalFire? first = null;
        var fires = 0;
        for (var i = _localFires.Count - 1; i >= 0; i--)
        {
            if (_localFires[i].Source != LvtSource.Timer)
            {
                continue;
            }
            if (fires++ == 0)
            {
                detail = _localFires[i].Outcome.ToString();
                vector = _localFires[i].Vector;
                if (taken > 2)
                {
                    // The model fired twice for them all: the first, and once for the rest.
                    _localOutcomes[(int)_localFires[i].Outcome] += (long)Math.Min(taken - 2, (ulong)long.MaxValue);
                }
            }
            else
            {
                first = _localFires[i];
            }
            _localFires.RemoveAt(i);
        }
        if (_tracer.Enabled)
        {
            var rest = taken;
            if (first is { } f && f.Outcome.ToString() != detail)
            {
                _tracer.Write("TimerFired", _now, "LVTT", (ulong)due, f.Vector, detail: f.Outcome.ToString());
                rest--;
            }
            _tracer.Write("TimerFired", _now, "LVTT", (ulong)due, vector, detail: rest > 1 ? detail + " expiries=" + rest : detail);
        }
    }

    /// <summary>
    /// Carries out the collected effects, then sends <paramref name="reply"/> to <paramref name="replyTo"/>:
    /// directly, or through the router when the call produced work for it, so that the reply leaves only
    /// after that work is done.
    /// </summary>
    /// <returns>Whether the reply went through the router.</returns>
    /// <param name="replyOnlyThroughRouter">Send the reply only if the router must carry it (an exit of a sequence
    /// waiting for the router); otherwise drop it.</param>
    private bool Finish(IActorRef? replyTo, object? reply, bool reportTimer = true, bool replyOnlyThroughRouter = false)
    {
        if (!_anyEffect && !_identityCheck && !(reportTimer && _timerCheck))
        {
            // Nothing to carry out: the timer and the identity are as last reported.
            if (!replyOnlyThroughRouter)
            {
                replyTo?.Tell(reply, _self);
            }
            return false;
        }
        if (reportTimer && _timerCheck)
        {
            ReportTimer();
        }
        foreach (var vector in _eoiBroadcasts)
        {
            _vm.Tell(new EoiBroadcast(_index, vector, _restores), _self);
            if (_tracer.Enabled)
            {
                _tracer.Write("EoiBroadcast", _now, vector: vector);
            }
        }
        TraceLocalFires();
        if (_deliverable && _kick is not null)
        {
            _core!.Tell(_kick, _self);
        }
        if (_deliverable && _host is not null)
        {
            _host.Kick = true;
        }
        if (_deliverable && _interruptSubscribers is { Count: > 0 } subscribers)
        {
            var raised = new InterruptDeliverable(_index, _deliverableVector);
            foreach (var subscriber in subscribers)
            {
                subscriber.Tell(raised, _self);
            }
        }

        var identityChanged = false;
        var identity = _reportedIdentity;
        if (_identityCheck)
        {
            _identityCheck = false;
            identity = _apic.Identity;
            identityChanged = identity != _reportedIdentity;
        }
        if (_toLose > 0 && _sent.Count > 0)
        {
            DropLostIpis();
        }
        if (_sent.Count > 0 && !identityChanged)
        {
            DeliverDirectly();
        }
        var routerMessages = (identityChanged ? 1 : 0) + _sent.Count;
        var throughRouter = !(routerMessages == 0 || replyTo is null || reply is null || replyTo.Equals(_router));
        if (!throughRouter)
        {
            SendToRouter(identityChanged, identity, null);
            if (!replyOnlyThroughRouter)
            {
                replyTo?.Tell(reply, _self);
            }
        }
        else
        {
            SendToRouter(identityChanged, identity, new ReplyObligation(replyTo!, reply!));
        }
        ClearEffects();
        return throughRouter;
    }

    /// <summary>The answer to a request: the shared one when it carries no correlation id and reports plain success.</summary>
    private AccessCompleted Completed(long correlationId, in AccessResult result) =>
        correlationId == 0 && result.Status == AccessStatus.Ok && result.Value == 0
            ? _doneUncorrelated
            : new AccessCompleted(_index, correlationId, result);

    /// <summary>Tells the router the new identity and every IPI, in that order; the last message carries <paramref name="then"/>.</summary>
    private void SendToRouter(bool identityChanged, in ApicRoutingIdentity identity, ReplyObligation? then)
    {
        if (identityChanged)
        {
            _reportedIdentity = identity;
            if (_tracer.Enabled)
            {
                _tracer.Write("ModeChanged", _now, value: identity.ApicId,
                    detail: "mode=" + identity.Mode + " enabled=" + identity.SoftwareEnabled
                        + " ldr=0x" + identity.Ldr.ToString("X8") + " dfr=0x" + identity.DfrModel.ToString("X"));
            }
            _router.Tell(new IdentityChanged(identity, _sent.Count == 0 ? then : null), _self);
            _toldRouter++;
        }
        for (var i = 0; i < _sent.Count; i++)
        {
            var request = _sent[i];
            TraceSent(request);
            CountSent(request.Mode);
            _router.Tell(new RouteInterrupt(_index, request, i == _sent.Count - 1 ? then : null, Stamp(), _tracer.Enabled ? _tracer.LastSeq : 0, _now), _self);
            _toldRouter++;
        }
    }

    /// <summary>Writes the trace event and debug log of one IPI this APIC sends.</summary>
    private void TraceSent(in InterruptRequest request)
    {
        if (_tracer.Enabled)
        {
            _tracer.Write("IpiSent", _now, value: ApicTracer.Pack(request.Message), vector: request.Vector,
                destination: ApicTracer.Destination(request), detail: request.Mode.ToString());
        }
        if (_log.IsDebugEnabled)
        {
            _log.Debug("vCPU {Vcpu} sends {DeliveryMode} IPI vector {Vector:X2} to {Shorthand} {Destination:X}",
                _index, request.Mode, request.Vector, request.Shorthand, request.Destination);
        }
    }

    private void ReportTimer()
    {
        _timerCheck = false;
        var due = _apic.TimerDue;
        if (due == _reportedDue)
        {
            return;
        }
        _reportedDue = due;
        if (due is long at)
        {
            _vm.Tell(new TimerArmed(_index, at), _self);
            _tracer.Write("TimerArmed", _now, "LVTT", (ulong)at);
        }
        else
        {
            _vm.Tell(new TimerCancelled(_index), _self);
            _tracer.Write("TimerCancelled", _now, "LVTT");
        }
    }

    private void TraceLocalFires()
    {
        if (!_tracer.Enabled)
        {
            return;
        }
        foreach (var fire in _localFires)
        {
            var name = fire.Source switch
            {
                LvtSource.Timer => "TimerFired",
                LvtSource.Lint0 or LvtSource.Lint1 => "Lint",
                _ => ApicTracer.OutcomeEvent(fire.Outcome),
            };
            _tracer.Write(name, _now, ApicTracer.LvtRegister(fire.Source), vector: fire.Vector, detail: fire.Outcome.ToString());
        }
    }

    /// <summary>
    /// After the handling of a sequence of exits failed (its start, or its resumption): the sequence is answered with
    /// the failure (unless the failed message is the sequence itself, answered already) and dropped; the next queued
    /// sequence starts afterwards. A sequence that waits for the router is left alone when another message fails.
    /// </summary>
    private void AbandonRun(object message, Exception ex)
    {
        if (_run is null || !(message is ResumeRun || ReferenceEquals(_run, message)))
        {
            return;
        }
        if (message is ResumeRun && !ReferenceEquals(_run.ReplyTo, _self))
        {
            // (A hosted core's sequence is dropped without an answer: the failure goes to the supervisor.)
            _run.ReplyTo.Tell(new Status.Failure(ex), _self);
        }
        if (_runResults is not null)
        {
            _host?.GiveBack(_runResults);
        }
        _run = null;
        _runResults = null;
        if (_runQueue is { Count: > 0 })
        {
            _self.Tell(_resume, _self);
        }
    }

    /// <summary>The router's word that the exit a sequence waits on has every consequence in place.</summary>
    private sealed class ResumeRun
    {
    }

    /// <summary>
    /// What goes with a hosted core: what it has yet to hear of, and the sequence it asked to run. Its sequences
    /// allocate nothing once warm: the requests are kept per sequence of exits, and the results go to a buffer lent to
    /// the sequence until the core has heard them. The state itself is the router's word, sent back to the vAPIC actor,
    /// that the last exit of a sequence waiting for the router has every consequence in place.
    /// </summary>
    private sealed class HostedCoreState(IHostedCore core, int index, IActorRef self)
    {
        public IHostedCore Core { get; } = core;

        private readonly RunExits?[] _requests = new RunExits?[4];
        private int _requestNext;
        private AccessResult[]? _buffer;
        private bool _bufferLent;

        public bool Kick { get; set; }

        public RunExits? Run { get; set; }

        public AccessResult[]? DoneResults { get; set; }

        public int DoneCount { get; set; }

        public AccessResult[]? WaitingResults { get; set; }

        public int WaitingCount { get; set; }

        /// <summary>The request for a sequence: kept for the last few sequences, which a core repeats.</summary>
        public RunExits Request(ImmutableArray<Exit> exits)
        {
            foreach (var kept in _requests)
            {
                if (kept is not null && kept.Exits == exits)
                {
                    return kept;
                }
            }
            var request = new RunExits(index, exits, 0, self);
            _requests[_requestNext] = request;
            _requestNext = (_requestNext + 1) % _requests.Length;
            return request;
        }

        /// <summary>The results buffer of a sequence: the core's own unless a sequence still holds it.</summary>
        public AccessResult[] LendBuffer(int length)
        {
            if (_bufferLent)
            {
                return new AccessResult[length];
            }
            if (_buffer is null || _buffer.Length < length)
            {
                _buffer = new AccessResult[Math.Max(length, 8)];
            }
            _bufferLent = true;
            return _buffer;
        }

        /// <summary>A sequence's results are done with: the buffer can be lent again if they were in it.</summary>
        public void GiveBack(AccessResult[] results)
        {
            if (ReferenceEquals(results, _buffer))
            {
                _bufferLent = false;
            }
        }
    }

    /// <summary>Answers whoever waits on <paramref name="message"/> after its handler failed.</summary>
    private void AnswerAfterFault(object message, Exception ex)
    {
        switch (message)
        {
            case IVcpuRequest request:
                request.ReplyTo.Tell(new Status.Failure(ex), _self);
                break;
            case DeliverInterrupt { AckRound: not 0 } delivery:
                _router.Tell(new DeliveryApplied(delivery.AckRound, _index), _self);
                break;
            case BidRequest bid:
                Sender.Tell(new BidPlaced(bid.Round, new LowestPriorityBid(_index, _apicId, false, byte.MaxValue, false)), _self);
                break;
            case ExpireTimers:
                _reportedDue = null;
                _timerCheck = true;
                _vm.Tell(new TimersExpired(_index, null), _self);
                break;
        }
    }

    private void OnSubscribeInterrupts(SubscribeInterrupts m)
    {
        _interruptSubscribers ??= [];
        if (m.Subscribe && !_interruptSubscribers.Contains(m.Subscriber))
        {
            _interruptSubscribers.Add(m.Subscriber);
            Context.Watch(m.Subscriber);
        }
        else if (!m.Subscribe && _interruptSubscribers.Remove(m.Subscriber))
        {
            Context.Unwatch(m.Subscriber);
        }
        m.ReplyTo.Tell(Completed(m.CorrelationId, AccessResult.Done), _self);
    }

    private void OnAttachCore(AttachCore m)
    {
        _core = m.Core;
        _kick = m.Core is null ? null : new InterruptPending(_index);
        _latencyClock = m.Latency;
        if (m.Latency != LatencyClock.Off)
        {
            _toAcceptance ??= new LatencyRecorder();
            _toEoi ??= new LatencyRecorder();
            if (_sentAt is null)
            {
                _sentAt = new long[2 * 256];
                Array.Fill(_sentAt, -1);
            }
        }
        m.ReplyTo.Tell(Completed(m.CorrelationId, AccessResult.Done), _self);
        if (_kick is not null && _apic.PendingVector >= 0)
        {
            _core!.Tell(_kick, _self);
        }
    }

    private ApicCounters Counters() => new(
        _index,
        _apic.ApicId,
        ImmutableArray.Create(_fixedOutcomes),
        ImmutableArray.Create(_arbitratedOutcomes),
        ImmutableArray.Create(_otherOutcomes),
        ImmutableArray.Create(_localOutcomes),
        _acknowledged,
        _eoied,
        _fixedSent,
        _arbitratedSent,
        _otherSent,
        _lost,
        _toAcceptance?.Snapshot() ?? LatencyHistogram.Empty,
        _toEoi?.Snapshot() ?? LatencyHistogram.Empty);

    private void CountDelivery(DeliverInterrupt m, AcceptOutcome outcome)
    {
        var mode = m.Message.Mode;
        if (mode is DeliveryMode.Fixed or DeliveryMode.LowestPriority)
        {
            (m.Arbitrated ? _arbitratedOutcomes : _fixedOutcomes)[(int)outcome]++;
            if (m.SentAt >= 0 && _toAcceptance is not null && outcome is AcceptOutcome.Accepted or AcceptOutcome.Coalesced)
            {
                _toAcceptance.Record(LatencyNow() - m.SentAt);
                if (outcome == AcceptOutcome.Accepted)
                {
                    _sentAt![m.Message.Vector] = m.SentAt;
                }
            }
        }
        else
        {
            _otherOutcomes[(int)outcome]++;
        }
    }

    private void CountEoi(int vector)
    {
        _eoied++;
        if (_sentAt is not null && _sentAt[256 + vector] >= 0)
        {
            _toEoi!.Record(LatencyNow() - _sentAt[256 + vector]);
            _sentAt[256 + vector] = -1;
        }
    }

    private void CountSent(DeliveryMode mode)
    {
        switch (mode)
        {
            case DeliveryMode.Fixed:
                _fixedSent++;
                break;
            case DeliveryMode.LowestPriority:
                _arbitratedSent++;
                break;
            default:
                _otherSent++;
                break;
        }
    }

    /// <summary>This APIC's latency stamp for an interrupt it sends now, or -1 when it measures none.</summary>
    private long Stamp() => _latencyClock == LatencyClock.Off ? -1 : LatencyNow();

    private long LatencyNow() => _latencyClock == LatencyClock.Virtual
        ? _now
        : (long)(Stopwatch.GetTimestamp() * NanosecondsPerTick);

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>
    /// Fault injection (<see cref="LoseFixedIpis"/>): takes the next fixed IPIs out of the call's, tracing and counting
    /// each as sent, before they go anywhere, whether they would have gone directly or through the router.
    /// </summary>
    private void DropLostIpis()
    {
        var kept = 0;
        for (var i = 0; i < _sent.Count; i++)
        {
            var request = _sent[i];
            if (_toLose > 0 && request.Mode == DeliveryMode.Fixed)
            {
                _toLose--;
                _lost++;
                TraceSent(request);
                _fixedSent++;
                continue;
            }
            _sent[kept++] = request;
        }
        _sent.RemoveRange(kept, _sent.Count - kept);
    }

    /// <summary>
    /// Delivers the call's fixed IPIs to their targets through the published route table, tracing and counting
    /// each, and leaves the rest (other delivery modes, or everything while no table is published) for the router.
    /// Keeps the order of the IPIs: either all of them go directly or none does, and none does while the router has yet
    /// to carry out an identity change or IPI this APIC told it before (a message told the target directly would
    /// overtake that IPI, or be routed by a table older than this APIC's own new identity).
    /// </summary>
    private void DeliverDirectly()
    {
        // (The count first: the router counts a message after withdrawing the routes it made stale.)
        if (_routes.CarriedOut(_index) != _toldRouter)
        {
            return;
        }
        var routes = _routes.Current;
        if (routes is null)
        {
            return;
        }
        foreach (var request in _sent)
        {
            if (request.Mode != DeliveryMode.Fixed)
            {
                return;
            }
        }
        var targets = _targets ??= new List<int>(4);
        var source = _apic.ApicId;
        foreach (var request in _sent)
        {
            TraceSent(request);
            _fixedSent++;
            targets.Clear();
            routes.Table.Resolve(request, _index, targets);
            if (targets.Count == 0)
            {
                continue;
            }
            var stamp = Stamp();
            var sentSeq = _tracer.Enabled ? _tracer.LastSeq : 0;
            if (targets.Count == 1)
            {
                var target = targets[0];
                routes.Apics[target].Tell(new DeliverInterrupt(target, request.Message, source, 0, false, stamp, sentSeq, _now), _self);
                continue;
            }
            var shared = new DeliverInterrupt(-1, request.Message, source, 0, false, stamp, sentSeq, _now);
            foreach (var target in targets)
            {
                routes.Apics[target].Tell(shared, _self);
            }
        }
        _sent.Clear();
    }

    /// <summary>Builds vAPIC actors without reflection: a VM creates thousands of them.</summary>
    private sealed class Producer : IIndirectActorProducer
    {
        private readonly ApicConfig _config;
        private readonly IActorRef _vm;
        private readonly IActorRef _router;
        private readonly RouteSnapshot _routes;
        private readonly VmClock _clock;
        private readonly string _vmName;
        private readonly ITraceSink? _trace;

        public Producer(ApicConfig config, IActorRef vm, IActorRef router, RouteSnapshot routes, VmClock clock, string vmName, ITraceSink? trace)
        {
            _clock = clock;
            _config = config;
            _vm = vm;
            _router = router;
            _routes = routes;
            _vmName = vmName;
            _trace = trace;
        }

        public Type ActorType => typeof(VApicActor);

        public ActorBase Produce() => new VApicActor(_config, _vm, _router, _routes, _clock, _vmName, _trace);

        public void Release(ActorBase actor)
        {
        }
    }

    private void ClearEffects()
    {
        _anyEffect = false;
        _deliverable = false;
        _sent.Clear();
        _eoiBroadcasts.Clear();
        _localFires.Clear();
    }

    void IApicEffects.SendInterrupt(in InterruptRequest request)
    {
        _anyEffect = true;
        _sent.Add(request);
    }

    void IApicEffects.BroadcastEoi(byte vector)
    {
        _anyEffect = true;
        _eoiBroadcasts.Add(vector);
    }

    // The timer and the routing identity are read back from the model (TimerDue, Identity) and compared with
    // what was last reported, so their effects only mark that something may have changed.
    void IApicEffects.ArmTimer(long dueNs) => _timerCheck = true;

    void IApicEffects.CancelTimer() => _timerCheck = true;

    void IApicEffects.RoutingChanged(in ApicRoutingIdentity identity) => _identityCheck = true;

    // The attached core and the interrupt subscribers, if any, hear of it once the handler is done (see Finish).
    void IApicEffects.InterruptDeliverable(byte vector)
    {
        _anyEffect = true;
        _deliverable = true;
        _deliverableVector = vector;
    }

    void IApicEffects.LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome)
    {
        _anyEffect = true;
        _localOutcomes[(int)outcome]++;
        _localFires.Add(new LocalFire(source, vector, outcome));
    }

    private readonly record struct LocalFire(LvtSource Source, byte Vector, AcceptOutcome Outcome);
}
