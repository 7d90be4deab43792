using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// One vCPU of the actor design: the workload's round (TPR read, TPR write, and an ICR write, once its previous IPI
/// was EOI'd), and every interrupt taken when its APIC kicks it (acknowledge and EOI until an acknowledge finds
/// nothing). Tells its ring predecessor when it has EOI'd that predecessor's IPI.
/// </summary>
/// <remarks>
/// With <c>batched</c> (the default of <c>vapic bench</c>) the vCPU sends each of the two as one
/// <see cref="ApicProtocol.RunExits"/>, as a vCPU runs from one VM entry to the next: the round as TPR read, TPR write
/// of the value read, ICR write; the taking as acknowledge, EOI, acknowledge, EOI, which its APIC stops at the first
/// acknowledge that finds nothing (and which is sent again if all four complete). Otherwise it sends one request per
/// exit and waits for each answer. The exits, and the APIC's handling of each, are the same either way.
/// </remarks>
internal sealed class BenchDriverActor : UntypedActor
{
    private readonly IActorRef _apic;
    private readonly IActorRef _self;

    // The requests of a round are immutable and the same every time (but for the TPR value written back), so they
    // are built once.
    private readonly ApicProtocol.ReadMsr _readTpr;
    private readonly ApicProtocol.WriteMsr _writeIcr;
    private readonly ApicProtocol.Acknowledge _acknowledge;
    private readonly ApicProtocol.EndOfInterrupt _eoi;
    private readonly bool _batched;
    private readonly ApicProtocol.RunExits _round;
    private readonly ApicProtocol.RunExits _take;
    private ApicProtocol.WriteMsr _writeTpr;
    private IActorRef _previous = ActorRefs.Nobody;
    private int _step;
    private bool _outstanding;
    private bool _kicked;
    private bool _handling;
    private bool _stopping;
    private bool _idle;
    private IActorRef? _stopRequester;
    private long _exits;
    private long _ipis;

    public BenchDriverActor(int index, int vcpus, IActorRef apic, bool batched)
    {
        _batched = batched;
        _apic = apic;
        _self = Self;
        _readTpr = new ApicProtocol.ReadMsr(index, BenchWorkload.TprMsr, 0, _self);
        _writeTpr = new ApicProtocol.WriteMsr(index, BenchWorkload.TprMsr, 0, 0, _self);
        _writeIcr = new ApicProtocol.WriteMsr(index, ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(index, vcpus), 0, _self);
        _acknowledge = new ApicProtocol.Acknowledge(index, 0, _self);
        _eoi = new ApicProtocol.EndOfInterrupt(index, 0, _self);
        _round = new ApicProtocol.RunExits(index, RoundExits(index, vcpus), 0, _self);
        _take = new ApicProtocol.RunExits(index, TakeExits, 0, _self);
    }

    /// <summary>A round as one sequence: TPR read, TPR write of the value read, ICR write.</summary>
    internal static ImmutableArray<ApicProtocol.Exit> RoundExits(int index, int vcpus) =>
    [
        ApicProtocol.Exit.ReadMsrOf(BenchWorkload.TprMsr),
        ApicProtocol.Exit.WriteMsrFrom(BenchWorkload.TprMsr, 0),
        ApicProtocol.Exit.WriteMsrOf(ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(index, vcpus)),
    ];

    /// <summary>Taking interrupts as one sequence: acknowledge, EOI, twice, stopped by an acknowledge that finds nothing.</summary>
    internal static readonly ImmutableArray<ApicProtocol.Exit> TakeExits =
    [
        ApicProtocol.Exit.AcknowledgeOne,
        ApicProtocol.Exit.EndOfInterruptOne,
        ApicProtocol.Exit.AcknowledgeOne,
        ApicProtocol.Exit.EndOfInterruptOne,
    ];

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ApicProtocol.ExitsCompleted m:
                OnExitsCompleted(m);
                break;
            case ApicProtocol.AccessCompleted m:
                OnCompleted(m);
                break;
            case ApicProtocol.InterruptPending:
                _kicked = true;
                if (_idle)
                {
                    Next();
                }
                break;
            case IpiDone:
                _outstanding = false;
                if (_idle)
                {
                    Next();
                }
                break;
            case Start m:
                _previous = m.Previous;
                Next();
                break;
            case Stop:
                _stopping = true;
                _stopRequester = Sender;
                if (_idle)
                {
                    Next();
                }
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(int index, int vcpus, IActorRef apic, bool batched) =>
        Akka.Actor.Props.Create(() => new BenchDriverActor(index, vcpus, apic, batched));

    private void OnExitsCompleted(ApicProtocol.ExitsCompleted m)
    {
        var results = m.Results;
        for (var i = 0; i < results.Length; i++)
        {
            if (!results[i].IsOk)
            {
                continue;
            }
            _exits++;
            if (_handling && i % 2 == 1)
            {
                // An EOI that followed an acknowledge which took a vector: the predecessor's IPI is done.
                _ipis++;
                _previous.Tell(IpiDone.Instance, _self);
            }
        }
        if (_handling && results.Length == _take.Exits.Length && results[^1].IsOk)
        {
            // Everything taken: there may be more.
            _apic.Tell(_take, _self);
            return;
        }
        _handling = false;
        Next();
    }

    private void OnCompleted(ApicProtocol.AccessCompleted m)
    {
        if (m.Result.IsOk)
        {
            _exits++;
        }
        if (_handling)
        {
            if (_step == 0)
            {
                if (!m.Result.IsOk)
                {
                    _handling = false;
                    Next();
                    return;
                }
                _step = 1;
                _apic.Tell(_eoi, _self);
                return;
            }
            _ipis++;
            _previous.Tell(IpiDone.Instance, _self);
            _step = 0;
            _apic.Tell(_acknowledge, _self);
            return;
        }
        switch (_step)
        {
            case 0:
                var tpr = m.Result.Value;
                if (_writeTpr.Value != tpr)
                {
                    _writeTpr = _writeTpr with { Value = tpr };
                }
                _step = 1;
                _apic.Tell(_writeTpr, _self);
                return;
            case 1:
                _outstanding = true;
                _step = 2;
                _apic.Tell(_writeIcr, _self);
                return;
            default:
                Next();
                return;
        }
    }

    /// <summary>Starts the next round: first every pending interrupt, then (when its IPI was EOI'd) the TPR read.</summary>
    private void Next()
    {
        _idle = false;
        if (_stopping)
        {
            _stopRequester!.Tell(new Counts(_exits, _ipis), _self);
            return;
        }
        _step = 0;
        if (_kicked)
        {
            _kicked = false;
            _handling = true;
            _apic.Tell(_batched ? _take : _acknowledge, _self);
            return;
        }
        if (_outstanding)
        {
            _idle = true;
            return;
        }
        if (_batched)
        {
            // Marked before the round is sent: the target may take and EOI the IPI before the round is answered.
            _outstanding = true;
            _apic.Tell(_round, _self);
            return;
        }
        _apic.Tell(_readTpr, _self);
    }

    internal sealed record Start(IActorRef Previous);

    internal sealed record Stop
    {
        public static readonly Stop Instance = new();
    }

    internal sealed record IpiDone
    {
        public static readonly IpiDone Instance = new();
    }

    internal sealed record Counts(long Exits, long Ipis);
}
