using Akka.Actor;
using Akka.Event;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using static VApicActors.Actors.Protocol.RouterProtocol;

namespace VApicActors.Actors;

/// <summary>
/// One VM's interrupt router: the map from destinations to vAPIC actors (an immutable
/// <see cref="ApicRouteTable"/>, rebuilt when an APIC reports a new identity) and the fan-out of IPIs and
/// MSIs. Holds no register logic: destinations come from the table, the lowest-priority choice from
/// <see cref="LowestPriorityArbiter"/> over the candidates' bids. Publishes its table (<see cref="RouteSnapshot"/>)
/// so that vAPICs deliver fixed IPIs themselves; withdraws it on an identity change until it has rebuilt it.
/// </summary>
/// <remarks>
/// A request that carries a reply is answered once its deliveries sit in the targets' mailboxes. Two kinds of
/// request wait for answers first, and everything else queues behind them in order: a lowest-priority
/// interrupt waits for every candidate's bid, and an INIT waits until each target has reset and reported
/// its new identity.
/// </remarks>
internal sealed class ApicRouterActor : ReceiveActor, IWithUnboundedStash
{
    private readonly IActorRef _vm;
    private readonly RouteSnapshot _routes;
    private readonly IActorRef[] _apics;
    private readonly ApicRoutingIdentity[] _identities;
    private readonly List<int> _targets = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ApicRouteTable? _table;
    private int _started;

    /// <summary>The APIC ID of the VM's previous lowest-priority winner.</summary>
    private uint? _previousWinner;

    // The round in progress: lowest-priority bids or INIT acknowledgements.
    private long _round;
    private int _awaiting;
    private LowestPriorityBid[] _bids = [];
    private int _bidCount;
    private InterruptRequest _roundRequest;
    private uint? _roundSource;
    private int _roundSourceIndex;
    private ReplyObligation? _roundThen;
    private long _roundSentAt;
    private long _roundSourceSeq;
    private long _roundVirtualNs = -1;
    private readonly VmClock _clock;
    private bool _routing;

    /// <summary>
    /// What arrived during a round, with its sender, in order: taken up where the round ends, before anything the
    /// mailbox holds. (Kept here rather than in the stash: unstashing puts every waiting message back through the
    /// mailbox, and a round would start again for the first only to stash the rest once more.)
    /// </summary>
    private readonly Queue<(object Message, IActorRef Sender)> _waiting = new();
    private bool _inRound;

    public ApicRouterActor(int vcpuCount, IActorRef vm, RouteSnapshot routes, VmClock clock)
    {
        _clock = clock;
        _vm = vm;
        _routes = routes;
        _apics = new IActorRef[vcpuCount];
        _identities = new ApicRoutingIdentity[vcpuCount];
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(int vcpuCount, IActorRef vm, RouteSnapshot routes, VmClock clock) =>
        Akka.Actor.Props.Create<ApicRouterActor>(vcpuCount, vm, routes, clock);

    private ApicRouteTable Table
    {
        get
        {
            if (_table is null)
            {
                _table = new ApicRouteTable(_identities);
                if (_routing)
                {
                    _routes.Publish(_table, _apics);
                }
            }
            return _table;
        }
    }

    /// <summary>
    /// The VM stopped (or the router with it): whoever waits for an answer the router holds (the round's, and those of the
    /// requests that waited behind it) hears that the VM stopped, instead of nothing until its own timeout. Answers owed
    /// to the VM's own actors are left: they stop too, and answer their own requesters.
    /// </summary>
    protected override void PostStop()
    {
        var stopped = new Status.Failure(new InvalidOperationException("the VM stopped before its router carried the request out"));
        Fail(_roundThen, stopped);
        _roundThen = null;
        while (_waiting.TryDequeue(out var waiting))
        {
            switch (waiting.Message)
            {
                case RouteInterrupt m:
                    Fail(m.Then, stopped);
                    break;
                case RouteMsi m:
                    m.ReplyTo.Tell(stopped);
                    break;
                case DispatchToApic m:
                    m.Request.ReplyTo.Tell(stopped);
                    break;
            }
        }
        base.PostStop();
    }

    private void Fail(ReplyObligation? then, Status.Failure failure)
    {
        if (then is { } reply && !reply.To.Equals(_vm) && Array.IndexOf(_apics, reply.To) < 0)
        {
            reply.To.Tell(failure);
        }
    }

    private void Starting()
    {
        Receive<ApicStarted>(m =>
        {
            var index = m.Identity.Index;
            if (_apics[index] is null)
            {
                _started++;
            }
            _apics[index] = m.Apic;
            _identities[index] = m.Identity;
            _table = null;
            if (_started == _apics.Length)
            {
                _routing = true;
                _table = null;
                _ = Table;
                _vm.Tell(VmProtocol.RoutesReady.Instance);
                Stash.UnstashAll();
                Become(Routing);
            }
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Routing()
    {
        Receive<IdentityChanged>(OnIdentityChanged);
        Receive<RouteInterrupt>(OnRouteInterrupt);
        Receive<RouteMsi>(OnMsi);
        Receive<DispatchToApic>(m => OnDispatch(m, Sender));
        Receive<SaveRoundRobin>(OnSaveRoundRobin);
        Receive<RestoreRoundRobin>(OnRestoreRoundRobin);
    }

    // The round robin's position is part of the VM's state: a restored VM goes on after the saved VM's previous winner.
    private void OnSaveRoundRobin(SaveRoundRobin m) => m.ReplyTo.Tell(new RoundRobinSaved(_previousWinner));

    private void OnRestoreRoundRobin(RestoreRoundRobin m)
    {
        _previousWinner = m.PreviousWinner;
        m.ReplyTo.Tell(RoundRobinRestored.Instance);
    }

    /// <summary>Waiting for the answers of a round: only identities and those answers are taken; the rest waits in order.</summary>
    private void InRound()
    {
        Receive<IdentityChanged>(OnIdentityChanged);
        Receive<BidPlaced>(OnBid);
        Receive<DeliveryApplied>(OnDeliveryApplied);
        ReceiveAny(m => _waiting.Enqueue((m, Sender)));
    }

    private void OnRouteInterrupt(RouteInterrupt m) => Route(m.SourceIndex, m.Request, m.Then, m.SentAt, m.SourceSeq, m.VirtualNs);

    /// <summary>Takes up what waited during the round just ended, in order, until it is all done or another round starts.</summary>
    private void TakeUpWaiting()
    {
        while (!_inRound && _waiting.TryDequeue(out var waiting))
        {
            switch (waiting.Message)
            {
                case RouteInterrupt m:
                    OnRouteInterrupt(m);
                    break;
                case RouteMsi m:
                    OnMsi(m);
                    break;
                case DispatchToApic m:
                    OnDispatch(m, waiting.Sender);
                    break;
                case SaveRoundRobin m:
                    OnSaveRoundRobin(m);
                    break;
                case RestoreRoundRobin m:
                    OnRestoreRoundRobin(m);
                    break;
                default:
                    Unhandled(waiting.Message);
                    break;
            }
        }
    }

    private void OnIdentityChanged(IdentityChanged m)
    {
        var identity = m.Identity;
        if (_identities[identity.Index] != identity)
        {
            _identities[identity.Index] = identity;
            _table = null;
            _routes.Withdraw();
            if (_log.IsDebugEnabled)
            {
                _log.Debug("vCPU {Vcpu} routes as {ApicId:X} {Mode} enabled {SoftwareEnabled} LDR {Ldr:X8} DFR {Dfr:X}",
                    identity.Index, identity.ApicId, identity.Mode, identity.SoftwareEnabled, identity.Ldr, identity.DfrModel);
            }
        }
        _routes.CarryOut(identity.Index);
        Complete(m.Then);
    }

    private void OnMsi(RouteMsi m)
    {
        var then = new ReplyObligation(m.ReplyTo, new ApicProtocol.AccessCompleted(-1, m.CorrelationId, AccessResult.Done));
        if (!Msi.TryDecode(m.Address, m.Data, out var request))
        {
            if (_log.IsDebugEnabled)
            {
                _log.Debug("MSI {Address:X} {Data:X8} carries no interrupt", m.Address, m.Data);
            }
            Complete(then);
            return;
        }
        // A device's write: it reaches its destinations at the VM's time now, whenever they take it.
        Route(-1, request, then, virtualNs: _clock.Now);
    }

    private void OnDispatch(DispatchToApic m, IActorRef sender)
    {
        var index = Table.IndexOf(m.ApicId);
        if (index < 0)
        {
            m.Request.ReplyTo.Tell(new Status.Failure(new ArgumentException("no APIC has ID 0x" + m.ApicId.ToString("X"), nameof(m.ApicId))));
            return;
        }
        _apics[index].Tell(m.Request, sender);
    }

    private void Route(int sourceIndex, in InterruptRequest request, ReplyObligation? then, long sentAt = -1, long sourceSeq = 0, long virtualNs = -1)
    {
        _targets.Clear();
        Table.Resolve(request, sourceIndex, _targets);
        uint? source = sourceIndex >= 0 ? _identities[sourceIndex].ApicId : null;
        if (_targets.Count == 0)
        {
            CarriedOut(sourceIndex);
            Complete(then);
            return;
        }
        switch (request.Mode)
        {
            case DeliveryMode.LowestPriority:
                StartRound(request, sourceIndex, source, then);
                _roundSentAt = sentAt;
                _roundVirtualNs = virtualNs;
                _roundSourceSeq = sourceSeq;
                if (_bids.Length < _targets.Count)
                {
                    _bids = new LowestPriorityBid[Math.Max(_targets.Count, _bids.Length * 2)];
                }
                _bidCount = 0;
                foreach (var index in _targets)
                {
                    _apics[index].Tell(new BidRequest(index, _round, request.Vector));
                }
                break;
            case DeliveryMode.Init:
                StartRound(request, sourceIndex, source, then);
                var message = request.Message;
                foreach (var index in _targets)
                {
                    _apics[index].Tell(new DeliverInterrupt(index, message, source, _round, SourceSeq: sourceSeq, VirtualNs: virtualNs));
                }
                break;
            default:
                Deliver(request.Message, source, sentAt, sourceSeq, virtualNs);
                CarriedOut(sourceIndex);
                Complete(then);
                break;
        }
    }

    private void StartRound(in InterruptRequest request, int sourceIndex, uint? source, ReplyObligation? then)
    {
        _round++;
        _awaiting = _targets.Count;
        _roundRequest = request;
        _roundSourceIndex = sourceIndex;
        _roundSource = source;
        _roundThen = then;
        _inRound = true;
        Become(InRound);
    }

    private void Deliver(in InterruptMessage message, uint? source, long sentAt, long sourceSeq, long virtualNs)
    {
        if (_targets.Count == 1)
        {
            _apics[_targets[0]].Tell(new DeliverInterrupt(_targets[0], message, source, 0, false, sentAt, sourceSeq, virtualNs));
            return;
        }
        var shared = new DeliverInterrupt(-1, message, source, 0, false, sentAt, sourceSeq, virtualNs);
        foreach (var index in _targets)
        {
            _apics[index].Tell(shared);
        }
    }

    private void OnBid(BidPlaced m)
    {
        if (m.Round != _round || _roundRequest.Mode != DeliveryMode.LowestPriority)
        {
            return;
        }
        _bids[_bidCount++] = m.Bid;
        if (--_awaiting > 0)
        {
            return;
        }
        var winner = LowestPriorityArbiter.Choose(_bids.AsSpan(0, _bidCount), _previousWinner);
        if (winner >= 0)
        {
            var bid = _bids[winner];
            _previousWinner = bid.ApicId;
            _apics[bid.Index].Tell(new DeliverInterrupt(bid.Index, _roundRequest.Message, _roundSource, 0, true, _roundSentAt, _roundSourceSeq, _roundVirtualNs));
            if (_log.IsDebugEnabled)
            {
                _log.Debug("Lowest-priority vector {Vector:X2} won by vCPU {Vcpu} (APIC {ApicId:X}) among {Candidates}",
                    _roundRequest.Vector, bid.Index, bid.ApicId, _bidCount);
            }
        }
        EndRound();
    }

    private void OnDeliveryApplied(DeliveryApplied m)
    {
        if (m.Round != _round || _roundRequest.Mode != DeliveryMode.Init)
        {
            return;
        }
        if (--_awaiting == 0)
        {
            EndRound();
        }
    }

    private void EndRound()
    {
        var then = _roundThen;
        _roundThen = null;
        _roundRequest = default;
        CarriedOut(_roundSourceIndex);
        Complete(then);
        _inRound = false;
        Become(Routing);
        TakeUpWaiting();
    }

    /// <summary>
    /// Counts an IPI of vCPU <paramref name="sourceIndex"/> (-1: an MSI) as carried out, once its deliveries are told:
    /// from then on that vAPIC may deliver its next fixed IPIs itself without overtaking this one.
    /// </summary>
    private void CarriedOut(int sourceIndex)
    {
        if (sourceIndex >= 0)
        {
            _routes.CarryOut(sourceIndex);
        }
    }

    private static void Complete(ReplyObligation? then)
    {
        if (then is { } reply)
        {
            reply.To.Tell(reply.Message);
        }
    }
}
