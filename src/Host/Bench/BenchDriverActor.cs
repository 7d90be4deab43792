using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// One vCPU of the actor design: one exit at a time to its APIC actor, the workload's round (TPR read, TPR write,
/// and an ICR write, once its previous IPI was EOI'd), and every interrupt taken when its APIC kicks it. Tells its ring
/// predecessor when it has EOI'd that predecessor's IPI.
/// </summary>
internal sealed class BenchDriverActor : ReceiveActor
{
    private readonly int _index;
    private readonly int _vcpus;
    private readonly IActorRef _apic;
    private ApicProtocol.ReadMsr _readTpr;
    private IActorRef _previous = ActorRefs.Nobody;
    private int _step;
    private ulong _tpr;
    private bool _outstanding;
    private bool _kicked;
    private bool _handling;
    private bool _stopping;
    private bool _idle;
    private IActorRef? _stopRequester;
    private long _exits;
    private long _ipis;

    public BenchDriverActor(int index, int vcpus, IActorRef apic)
    {
        _index = index;
        _vcpus = vcpus;
        _apic = apic;
        _readTpr = new ApicProtocol.ReadMsr(index, BenchWorkload.TprMsr, 0, ActorRefs.Nobody);
        Receive<Start>(m =>
        {
            _previous = m.Previous;
            _readTpr = _readTpr with { ReplyTo = Self };
            Next();
        });
        Receive<ApicProtocol.AccessCompleted>(OnCompleted);
        Receive<ApicProtocol.InterruptPending>(_ =>
        {
            _kicked = true;
            if (_idle)
            {
                Next();
            }
        });
        Receive<IpiDone>(_ =>
        {
            _outstanding = false;
            if (_idle)
            {
                Next();
            }
        });
        Receive<Stop>(_ =>
        {
            _stopping = true;
            _stopRequester = Sender;
            if (_idle)
            {
                Next();
            }
        });
    }

    public static Props Props(int index, int vcpus, IActorRef apic) => Akka.Actor.Props.Create(() => new BenchDriverActor(index, vcpus, apic));

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
                _apic.Tell(new ApicProtocol.EndOfInterrupt(_index, 0, Self), Self);
                return;
            }
            _ipis++;
            _previous.Tell(IpiDone.Instance, Self);
            _step = 0;
            _apic.Tell(new ApicProtocol.Acknowledge(_index, 0, Self), Self);
            return;
        }
        switch (_step)
        {
            case 0:
                _tpr = m.Result.Value;
                _step = 1;
                _apic.Tell(new ApicProtocol.WriteMsr(_index, BenchWorkload.TprMsr, _tpr, 0, Self), Self);
                return;
            case 1:
                _outstanding = true;
                _step = 2;
                _apic.Tell(new ApicProtocol.WriteMsr(_index, ApicMsrs.X2ApicIcr, BenchWorkload.IcrFor(_index, _vcpus), 0, Self), Self);
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
            _stopRequester!.Tell(new Counts(_exits, _ipis));
            return;
        }
        _step = 0;
        if (_kicked)
        {
            _kicked = false;
            _handling = true;
            _apic.Tell(new ApicProtocol.Acknowledge(_index, 0, Self), Self);
            return;
        }
        if (_outstanding)
        {
            _idle = true;
            return;
        }
        _apic.Tell(_readTpr, Self);
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
