using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// One vCPU of the actor design run by its own vAPIC actor (<see cref="ApicProtocol.HostCore"/>): the same vCPU as
/// <see cref="BenchDriverActor"/> with batched exits — the same sequences of exits, the same kicks, IPIs and "done"
/// to the ring predecessor — but the sequences, their answers and the kicks are calls inside the vAPIC actor
/// instead of messages. The IPI and the "done" still travel between actors as messages.
/// </summary>
internal sealed class BenchHostedCore : IHostedCore
{
    private readonly ImmutableArray<ApicProtocol.Exit> _round;
    private readonly ImmutableArray<ApicProtocol.Exit> _take;
    private readonly int _index;
    private readonly int _vcpus;
    private readonly ApicProtocol.ToCore _done;
    private IHostedCoreContext? _context;
    private IActorRef _previous = ActorRefs.Nobody;
    private bool _running;
    private bool _handling;
    private bool _outstanding;
    private bool _kicked;
    private bool _stopped;
    private long _exits;
    private long _ipis;

    public BenchHostedCore(int index, int vcpus)
    {
        _index = index;
        _vcpus = vcpus;
        _round = BenchDriverActor.RoundExits(index, vcpus);
        _take = BenchDriverActor.TakeExits;
        _done = new ApicProtocol.ToCore((index + vcpus - 1) % vcpus, IpiDone.Instance);
    }

    public void Attached(IHostedCoreContext context) => _context = context;

    public void InterruptPending()
    {
        _kicked = true;
        if (!_running)
        {
            Next();
        }
    }

    public void ExitsCompleted(ReadOnlySpan<AccessResult> results)
    {
        _running = false;
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
                _previous.Tell(_done, _context!.Apic);
            }
        }
        if (_handling && results.Length == _take.Length && results[^1].IsOk)
        {
            Run(_take);
            return;
        }
        _handling = false;
        Next();
    }

    public void Receive(object message)
    {
        switch (message)
        {
            case IpiDone:
                _outstanding = false;
                if (!_running)
                {
                    Next();
                }
                break;
            case Start m:
                _previous = m.PreviousApic;
                Next();
                break;
            case Stop m:
                _stopped = true;
                m.ReplyTo.Tell(new BenchDriverActor.Counts(_exits, _ipis), _context!.Apic);
                break;
        }
    }

    private void Next()
    {
        if (_stopped)
        {
            return;
        }
        if (_kicked)
        {
            _kicked = false;
            _handling = true;
            Run(_take);
            return;
        }
        if (_outstanding)
        {
            return;
        }
        // Marked before the round runs: the target may take and EOI the IPI before the round is answered.
        _outstanding = true;
        Run(_round);
    }

    private void Run(ImmutableArray<ApicProtocol.Exit> exits)
    {
        _running = true;
        _context!.RunExits(exits);
    }

    /// <summary>Starts the vCPU; <paramref name="PreviousApic"/> is the vAPIC actor of its ring predecessor.</summary>
    internal sealed record Start(IActorRef PreviousApic);

    /// <summary>Stops the vCPU; its counts go to <paramref name="ReplyTo"/>.</summary>
    internal sealed record Stop(IActorRef ReplyTo);

    internal sealed record IpiDone
    {
        public static readonly IpiDone Instance = new();
    }
}
