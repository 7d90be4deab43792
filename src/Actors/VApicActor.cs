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
/// Sequential observation: when a call sends an IPI or changes the APIC's routing identity, the reply goes
/// with it to the router, which answers only after the consequences are in place. Timer arming and EOI
/// broadcasts are told to the VM before the reply.
/// </remarks>
internal sealed class VApicActor : ReceiveActor, IApicEffects
{
    /// <summary>Expiries one <see cref="ExpireTimers"/> processes at most before letting others in.</summary>
    internal const int MaxExpiriesPerMessage = 4096;

    private readonly LocalApic _apic;
    private readonly int _index;
    private readonly uint _apicId;
    private readonly IActorRef _vm;
    private readonly IActorRef _router;
    private readonly ApicTracer _tracer;
    private readonly ILoggingAdapter _log;

    // Effects collected during one handler call.
    private readonly List<InterruptRequest> _sent = new(1);
    private readonly List<byte> _eoiBroadcasts = new(1);
    private readonly List<LocalFire> _localFires = new(1);

    /// <summary>The VM's virtual time as this APIC last heard it.</summary>
    private long _now;
    private long? _reportedDue;
    private ApicRoutingIdentity _reportedIdentity;

    public VApicActor(ApicConfig config, IActorRef vm, IActorRef router, string vmName, ITraceSink? trace)
    {
        _apic = new LocalApic(config);
        _index = config.Index;
        _apicId = config.InitialApicId;
        _vm = vm;
        _router = router;
        _tracer = new ApicTracer(trace, vmName, config.InitialApicId);
        _log = Context.GetLogger().WithContext("ApicId", config.InitialApicId);

        Receive<ReadMmio>(OnReadMmio);
        Receive<WriteMmio>(OnWriteMmio);
        Receive<ReadMsr>(OnReadMsr);
        Receive<WriteMsr>(OnWriteMsr);
        Receive<DeliverInterrupt>(OnDeliver);
        Receive<BidRequest>(m => Sender.Tell(new BidPlaced(m.Round, _apic.Bid(m.Vector))));
        Receive<Acknowledge>(OnAcknowledge);
        Receive<EndOfInterrupt>(OnEoi);
        Receive<SetLint>(OnSetLint);
        Receive<RaiseLocal>(OnRaiseLocal);
        Receive<ExpireTimers>(OnExpireTimers);
        Receive<ClockAdvanced>(m => _now = Math.Max(_now, m.NowNs));
        Receive<ReadTsc>(m => m.ReplyTo.Tell(new AccessCompleted(_index, m.CorrelationId, _apic.ReadTsc(_now))));
        Receive<GetPending>(m => m.ReplyTo.Tell(new PendingVector(_index, m.CorrelationId, _apic.PendingVector)));
        Receive<GetSnapshot>(m => m.ReplyTo.Tell(new SnapshotTaken(_index, m.CorrelationId, _apic.Snapshot(_now))));
        Receive<InjectFault>(m => throw new InvalidOperationException(m.Reason));
    }

    public static Props Props(ApicConfig config, IActorRef vm, IActorRef router, string vmName, ITraceSink? trace) =>
        Akka.Actor.Props.Create<VApicActor>(config, vm, router, vmName, trace!);

    protected override void PreStart()
    {
        _reportedIdentity = _apic.Identity;
        _reportedDue = _apic.TimerDue;
        _router.Tell(new ApicStarted(_reportedIdentity, Self));
        if (_reportedDue is long due)
        {
            _vm.Tell(new TimerArmed(_index, due));
        }
    }

    protected override void PostStop() => _apic.Dispose();

    /// <summary>
    /// Runs one handler. A handler that throws (a bug: the model never throws on guest input) leaves the
    /// APIC as it is; the failure goes to the VM's supervisor, which logs it with this message and resumes.
    /// Whoever waits for an answer to the message gets one, so nothing hangs on the fault.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        ClearEffects();
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception ex)
        {
            ClearEffects();
            AnswerAfterFault(message, ex);
            throw new ApicHandlerException(_index, _apicId, message, ex);
        }
    }

    private void OnReadMmio(ReadMmio m)
    {
        var result = _apic.ReadMmio(m.Address, m.Size, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MmioRead", _now, ApicTracer.MmioRegister(_apic.ApicBase, m.Address), result.Value,
                detail: "addr=0x" + m.Address.ToString("X") + " size=" + m.Size + " result=" + result);
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnWriteMmio(WriteMmio m)
    {
        var register = _tracer.Enabled ? ApicTracer.MmioRegister(_apic.ApicBase, m.Address) : null;
        var result = _apic.WriteMmio(m.Address, m.Size, m.Value, _now, this);
        if (register is not null)
        {
            _tracer.Write("MmioWrite", _now, register, m.Value,
                detail: "addr=0x" + m.Address.ToString("X") + " size=" + m.Size + " result=" + result);
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnReadMsr(ReadMsr m)
    {
        var result = _apic.ReadMsr(m.Msr, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MsrRead", _now, ApicTracer.MsrRegister(m.Msr), result.Value,
                detail: "msr=0x" + m.Msr.ToString("X") + " result=" + result);
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnWriteMsr(WriteMsr m)
    {
        var result = _apic.WriteMsr(m.Msr, m.Value, _now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("MsrWrite", _now, ApicTracer.MsrRegister(m.Msr), m.Value,
                detail: "msr=0x" + m.Msr.ToString("X") + " result=" + result);
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnAcknowledge(Acknowledge m)
    {
        var result = _apic.Acknowledge(_now, this);
        if (_tracer.Enabled)
        {
            _tracer.Write("Acknowledged", _now, vector: result.IsOk ? (int)result.Value : null, detail: result.ToString());
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnEoi(EndOfInterrupt m)
    {
        var result = _apic.Eoi(_now, this);
        _tracer.Write("Eoi", _now, detail: _tracer.Enabled ? result.ToString() : null);
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, result));
    }

    private void OnSetLint(SetLint m)
    {
        _apic.SetLint(m.Pin, m.Level, _now, this);
        _tracer.Write("Lint", _now, m.Pin == 0 ? "LINT0" : "LINT1", m.Level ? 1UL : 0UL);
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, AccessResult.Done));
    }

    private void OnRaiseLocal(RaiseLocal m)
    {
        var outcome = _apic.RaiseLocal(m.Source, _now, this);
        if (_localFires.Count == 0)
        {
            // A hardware-disabled APIC reports nothing of its own: trace the drop here.
            _tracer.Write(ApicTracer.OutcomeEvent(outcome), _now, ApicTracer.LvtRegister(m.Source), detail: outcome.ToString());
        }
        Finish(m.ReplyTo, new AccessCompleted(_index, m.CorrelationId, AccessResult.Done));
    }

    private void OnDeliver(DeliverInterrupt m)
    {
        var outcome = _apic.Accept(m.Message, _now, this);
        if (_tracer.Enabled)
        {
            var name = m.SourceApicId is null ? "Msi" : ApicTracer.DeliveryEvent(m.Message, outcome);
            _tracer.Write(name, _now, value: ApicTracer.Pack(m.Message), vector: m.Message.Vector,
                source: m.SourceApicId, detail: outcome.ToString());
        }
        if (outcome == AcceptOutcome.DroppedIllegalVector && _log.IsWarningEnabled)
        {
            _log.Warning("vCPU {Vcpu} received illegal vector {Vector:X2}", _index, m.Message.Vector);
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
    /// the next one (the answer replaces a separate timer report).
    /// </summary>
    private void OnExpireTimers(ExpireTimers m)
    {
        var processed = 0;
        while (_apic.TimerDue is long due && due <= m.LimitNs && processed < MaxExpiriesPerMessage)
        {
            _now = Math.Max(_now, due);
            var fired = _apic.ExpireTimer(_now, this);
            processed++;
            TraceTimerFired(due, fired);
            if (!fired && _apic.TimerDue == due)
            {
                // The model neither fired nor moved its deadline: drop the expiry instead of spinning on it.
                _log.Error("vCPU {Vcpu} timer due at {Due} ns did not expire at {Now} ns; its expiry is dropped", _index, due, _now);
                _reportedDue = null;
                Finish(_vm, new TimersExpired(_index, null), reportTimer: false);
                return;
            }
        }
        _reportedDue = _apic.TimerDue;
        Finish(_vm, new TimersExpired(_index, _reportedDue), reportTimer: false);
    }

    private void TraceTimerFired(long due, bool fired)
    {
        string detail = fired ? "fired" : "not-due";
        int? vector = null;
        for (var i = _localFires.Count - 1; i >= 0; i--)
        {
            if (_localFires[i].Source == LvtSource.Timer)
            {
                detail = _localFires[i].Outcome.ToString();
                vector = _localFires[i].Vector;
                _localFires.RemoveAt(i);
                break;
            }
        }
        _tracer.Write("TimerFired", _now, "LVTT", (ulong)due, vector, detail: detail);
    }

    /// <summary>
    /// Carries out the collected effects, then sends <paramref name="reply"/> to <paramref name="replyTo"/>:
    /// directly, or through the router when the call produced work for it, so that the reply leaves only
    /// after that work is done.
    /// </summary>
    private void Finish(IActorRef? replyTo, object? reply, bool reportTimer = true)
    {
        if (reportTimer)
        {
            ReportTimer();
        }
        foreach (var vector in _eoiBroadcasts)
        {
            _vm.Tell(new EoiBroadcast(_index, vector));
            _tracer.Write("EoiBroadcast", _now, vector: vector);
        }
        TraceLocalFires();

        var identity = _apic.Identity;
        var identityChanged = identity != _reportedIdentity;
        var routerMessages = (identityChanged ? 1 : 0) + _sent.Count;
        if (routerMessages == 0 || replyTo is null || reply is null || replyTo.Equals(_router))
        {
            SendToRouter(identityChanged, identity, null);
            replyTo?.Tell(reply);
        }
        else
        {
            SendToRouter(identityChanged, identity, new ReplyObligation(replyTo, reply));
        }
        ClearEffects();
    }

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
            _router.Tell(new IdentityChanged(identity, _sent.Count == 0 ? then : null));
        }
        for (var i = 0; i < _sent.Count; i++)
        {
            var request = _sent[i];
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
            _router.Tell(new RouteInterrupt(_index, request, i == _sent.Count - 1 ? then : null));
        }
    }

    private void ReportTimer()
    {
        var due = _apic.TimerDue;
        if (due == _reportedDue)
        {
            return;
        }
        _reportedDue = due;
        if (due is long at)
        {
            _vm.Tell(new TimerArmed(_index, at));
            _tracer.Write("TimerArmed", _now, "LVTT", (ulong)at);
        }
        else
        {
            _vm.Tell(new TimerCancelled(_index));
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

    /// <summary>Answers whoever waits on <paramref name="message"/> after its handler failed.</summary>
    private void AnswerAfterFault(object message, Exception ex)
    {
        switch (message)
        {
            case IVcpuRequest request:
                request.ReplyTo.Tell(new Status.Failure(ex));
                break;
            case DeliverInterrupt { AckRound: not 0 } delivery:
                _router.Tell(new DeliveryApplied(delivery.AckRound, _index));
                break;
            case BidRequest bid:
                Sender.Tell(new BidPlaced(bid.Round, new LowestPriorityBid(_index, _apicId, false, byte.MaxValue, false)));
                break;
            case ExpireTimers:
                _reportedDue = null;
                _vm.Tell(new TimersExpired(_index, null));
                break;
        }
    }

    private void ClearEffects()
    {
        _sent.Clear();
        _eoiBroadcasts.Clear();
        _localFires.Clear();
    }

    void IApicEffects.SendInterrupt(in InterruptRequest request) => _sent.Add(request);

    void IApicEffects.BroadcastEoi(byte vector) => _eoiBroadcasts.Add(vector);

    // The timer and the routing identity are read back from the model after each call (TimerDue, Identity),
    // so their effects only mark that something changed.
    void IApicEffects.ArmTimer(long dueNs)
    {
    }

    void IApicEffects.CancelTimer()
    {
    }

    void IApicEffects.RoutingChanged(in ApicRoutingIdentity identity)
    {
    }

    // The core is driven from outside (acknowledge), so there is no vCPU to kick.
    void IApicEffects.InterruptDeliverable(byte vector)
    {
    }

    void IApicEffects.LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome) =>
        _localFires.Add(new LocalFire(source, vector, outcome));

    private readonly record struct LocalFire(LvtSource Source, byte Vector, AcceptOutcome Outcome);
}
