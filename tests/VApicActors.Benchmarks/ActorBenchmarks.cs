using Akka.Actor;
using Akka.Configuration;
using BenchmarkDotNet.Attributes;
using VApicActors.Actors;
using VApicActors.Registers;
using static VApicActors.Actors.Protocol.ApicProtocol;

namespace VApicActors.Benchmarks;

/// <summary>
/// The actor system's hot paths, each driven by an actor that sends the next request when the previous one is
/// answered (no Ask, no task per message): one exit round trip, and one fixed IPI from vCPU 0 to vCPU 1 until it is
/// pending there (then taken). <see cref="BroadcastActorBenchmarks"/> has the broadcast by vCPU count. An invocation
/// runs several operations and waits once for the driver; Allocated is per operation and counts every thread, so
/// dividing it by the messages of one operation gives the bytes per message.
/// </summary>
[MemoryDiagnoser]
public class ActorBenchmarks
{
    /// <summary>Round trips per invocation.</summary>
    public const int RoundTrips = 1000;

    /// <summary>IPIs per invocation.</summary>
    public const int Ipis = 200;

    /// <summary>Messages of one exit round trip: RDMSR request and its answer.</summary>
    public const int RoundTripMessages = 2;

    /// <summary>
    /// Messages of one IPI: the ICR write and its answer, the delivery, the notice that the vector is pending, then
    /// acknowledge and EOI at the target with their answers.
    /// </summary>
    public const int IpiMessages = 8;

    private ActorSystem _system = null!;
    private VmHandle _vm = null!;
    private DriverSignal _roundTripSignal = null!;
    private DriverSignal _ipiSignal = null!;
    private IActorRef _roundTripDriver = null!;
    private IActorRef _ipiDriver = null!;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorBench.CreateSystem();
        _vm = ActorBench.CreateEnabledVm(_system, 2);

        _roundTripSignal = new DriverSignal();
        _roundTripDriver = _system.ActorOf(Props.Create(() => new RoundTripDriver(_vm.GetPort(0), _roundTripSignal)).WithDispatcher(VcpuDispatcher.Id));

        _ipiSignal = new DriverSignal();
        _ipiDriver = _system.ActorOf(Props.Create(() => new IpiDriver(_vm.GetPort(0), _vm.GetPort(1), _ipiSignal)).WithDispatcher(VcpuDispatcher.Id));
        ActorBench.Subscribe(_vm, 1, _ipiDriver);

        // Measure what the names say: each driver completes a run and finds what it expects.
        ExitRoundTrip();
        IpiDelivery();
    }

    [GlobalCleanup]
    public void Cleanup() => ActorBench.Stop(_system, _vm);

    /// <summary>One exit: RDMSR of TPR (0x808) told to vCPU 0's APIC actor, until its answer is back at the driver.</summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void ExitRoundTrip() => _roundTripSignal.Run(_roundTripDriver);

    /// <summary>
    /// One fixed IPI: vCPU 0 writes its ICR (x2APIC, to APIC 1, vector 0x41); done when the write is answered and
    /// vCPU 1 has reported the vector pending, and vCPU 1 has then acknowledged and EOI'd it (8 messages).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Ipis)]
    public void IpiDelivery() => _ipiSignal.Run(_ipiDriver);

}

/// <summary>
/// One broadcast IPI to every vCPU of a VM of <see cref="Vcpus"/> x2APIC vCPUs (the sender included), driven as
/// <see cref="ActorBenchmarks"/> drives its cases: vCPU 0 writes its ICR with destination 0xFFFFFFFF; an operation is
/// done when the write is answered and every vCPU has reported the vector pending, acknowledged and EOI'd it.
/// </summary>
[MemoryDiagnoser]
public class BroadcastActorBenchmarks
{
    /// <summary>Broadcasts per invocation.</summary>
    public const int Broadcasts = 16;

    private ActorSystem _system = null!;
    private VmHandle _vm = null!;
    private DriverSignal _signal = null!;
    private IActorRef _driver = null!;

    [Params(16, 256, 4096)]
    public int Vcpus { get; set; }

    /// <summary>
    /// Messages of one broadcast: the ICR write and its answer, one delivery and one pending notice per vCPU, and each
    /// vCPU's acknowledge and EOI with their answers.
    /// </summary>
    public int BroadcastMessages => 2 + 6 * Vcpus;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorBench.CreateSystem();
        _vm = ActorBench.CreateEnabledVm(_system, Vcpus);
        _signal = new DriverSignal();
        var ports = Enumerable.Range(0, Vcpus).Select(_vm.GetPort).ToArray();
        _driver = _system.ActorOf(Props.Create(() => new BroadcastDriver(ports, _signal)).WithDispatcher(VcpuDispatcher.Id));
        for (var i = 0; i < Vcpus; i++)
        {
            ActorBench.Subscribe(_vm, i, _driver);
        }
        BroadcastFanOut();
    }

    [GlobalCleanup]
    public void Cleanup() => ActorBench.Stop(_system, _vm);

    /// <summary>One broadcast to every vCPU, until each has taken it (2 + 6 × vCPUs messages).</summary>
    [Benchmark(OperationsPerInvoke = Broadcasts)]
    public void BroadcastFanOut() => _signal.Run(_driver);
}

/// <summary>The actor system, VMs and subscriptions the actor benchmarks share.</summary>
internal static class ActorBench
{
    public const byte Vector = 0x41;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const uint SvrEnabled = 0x1FF;

    public static ActorSystem CreateSystem() => ActorSystem.Create("actor-benchmarks", ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.log-dead-letters = off
        """));

    /// <summary>A VM of <paramref name="vcpus"/> x2APIC vCPUs, every APIC software-enabled (SVR 0x1FF).</summary>
    public static VmHandle CreateEnabledVm(ActorSystem system, int vcpus)
    {
        var vm = VmHandle.CreateAsync(system, new VmSpec("bench-" + vcpus, vcpus, X2Apic: true)).GetAwaiter().GetResult();
        var svr = ApicOffsets.ToMsr(ApicOffsets.Svr);
        var results = Task.WhenAll(Enumerable.Range(0, vcpus).Select(i => vm.WriteMsrAsync(i, svr, SvrEnabled))).GetAwaiter().GetResult();
        if (results.Any(r => !r.IsOk))
        {
            throw new InvalidOperationException("a vCPU's APIC could not be software-enabled");
        }
        return vm;
    }

    /// <summary>Has vCPU <paramref name="vcpu"/>'s APIC tell <paramref name="subscriber"/> whenever a vector becomes pending.</summary>
    public static void Subscribe(VmHandle vm, int vcpu, IActorRef subscriber)
    {
        vm.GetApicRef(vcpu).Ask<AccessCompleted>(r => new SubscribeInterrupts(vcpu, subscriber, true, 0, r), Timeout, CancellationToken.None)
            .GetAwaiter().GetResult();
    }

    public static void Stop(ActorSystem system, VmHandle vm)
    {
        vm.DisposeAsync().AsTask().GetAwaiter().GetResult();
        system.Terminate().GetAwaiter().GetResult();
    }
}

/// <summary>How a benchmark starts its driver and waits for it: no allocation per invocation.</summary>
internal sealed class DriverSignal
{
    private readonly ManualResetEventSlim _done = new(false, spinCount: 0);

    public string? Failure { get; private set; }

    public void Run(IActorRef driver)
    {
        _done.Reset();
        driver.Tell(Start.Instance);
        if (!_done.Wait(ActorBench.Timeout))
        {
            throw new TimeoutException("the driver did not finish within " + ActorBench.Timeout);
        }
        if (Failure is not null)
        {
            throw new InvalidOperationException(Failure);
        }
    }

    public void Complete() => _done.Set();

    public void Fail(string failure)
    {
        Failure = failure;
        _done.Set();
    }
}

internal sealed class Start
{
    public static readonly Start Instance = new();
}

/// <summary>A benchmark driver that runs a number of rounds per <see cref="Start"/>, each begun by <see cref="Send"/>.</summary>
internal abstract class RoundsDriver : UntypedActor
{
    private int _left;

    protected RoundsDriver(DriverSignal signal) => Signal = signal;

    protected DriverSignal Signal { get; }

    /// <summary>Begins the first of <paramref name="rounds"/> rounds.</summary>
    protected void Begin(int rounds)
    {
        _left = rounds;
        Send();
    }

    /// <summary>A round is over: begins the next, or signals that all are done.</summary>
    protected void RoundDone()
    {
        if (--_left > 0)
        {
            Send();
        }
        else
        {
            Signal.Complete();
        }
    }

    protected abstract void Send();
}

/// <summary>Sends RDMSR of TPR to one vAPIC, the next when the previous is answered, <see cref="ActorBenchmarks.RoundTrips"/> times per start.</summary>
internal sealed class RoundTripDriver : RoundsDriver
{
    private static readonly uint Tpr = ApicOffsets.ToMsr(ApicOffsets.Tpr);
    private readonly VcpuPort _port;
    private long _correlation;

    public RoundTripDriver(VcpuPort port, DriverSignal signal)
        : base(signal)
    {
        _port = port;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start:
                Begin(ActorBenchmarks.RoundTrips);
                break;
            case AccessCompleted done when !done.Result.IsOk:
                Signal.Fail("RDMSR of TPR answered " + done.Result);
                break;
            case AccessCompleted:
                RoundDone();
                break;
        }
    }

    protected override void Send() => _port.ReadMsr(Tpr, ++_correlation, Self);
}

/// <summary>Has vCPU 0 send a fixed IPI to vCPU 1; once it is pending there, takes it at vCPU 1; <see cref="ActorBenchmarks.Ipis"/> times per start.</summary>
internal sealed class IpiDriver : RoundsDriver
{
    private const long Icr = 1;
    private const long Ack = 2;
    private const long Eoi = 3;
    private const ulong IcrToApic1 = 0x0000_0001_0000_4000UL | ActorBench.Vector;
    private readonly VcpuPort _sender;
    private readonly VcpuPort _target;
    private int _awaiting;

    public IpiDriver(VcpuPort sender, VcpuPort target, DriverSignal signal)
        : base(signal)
    {
        _sender = sender;
        _target = target;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start:
                Begin(ActorBenchmarks.Ipis);
                break;
            case InterruptDeliverable pending when pending.Vector == ActorBench.Vector:
                Arrived();
                break;
            case AccessCompleted { CorrelationId: Icr } done when done.Result.IsOk:
                Arrived();
                break;
            case AccessCompleted { CorrelationId: Ack } done when done.Result.IsOk && done.Result.Value == ActorBench.Vector:
                break;
            case AccessCompleted { CorrelationId: Eoi } done when done.Result.IsOk:
                RoundDone();
                break;
            default:
                Signal.Fail("unexpected " + message);
                break;
        }
    }

    protected override void Send()
    {
        _awaiting = 2;
        _sender.WriteMsr(ApicMsrs.X2ApicIcr, IcrToApic1, Icr, Self);
    }

    private void Arrived()
    {
        if (--_awaiting == 0)
        {
            _target.Acknowledge(Ack, Self);
            _target.Eoi(Eoi, Self);
        }
    }
}

/// <summary>
/// Has vCPU 0 broadcast a fixed IPI to every vCPU; each vCPU that reports it pending acknowledges and EOIs it;
/// <see cref="BroadcastActorBenchmarks.Broadcasts"/> times per start.
/// </summary>
internal sealed class BroadcastDriver : RoundsDriver
{
    private const long Icr = -1;
    private const ulong IcrToAll = 0xFFFF_FFFF_0000_4000UL | ActorBench.Vector;
    private readonly VcpuPort[] _ports;
    private int _awaiting;

    public BroadcastDriver(VcpuPort[] ports, DriverSignal signal)
        : base(signal)
    {
        _ports = ports;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start:
                Begin(BroadcastActorBenchmarks.Broadcasts);
                break;
            case InterruptDeliverable pending when pending.Vector == ActorBench.Vector:
                var port = _ports[pending.Vcpu];
                port.Acknowledge(0, Self);
                port.Eoi(1, Self);
                break;
            case AccessCompleted { CorrelationId: 0 } done when done.Result.IsOk && done.Result.Value == ActorBench.Vector:
                break;
            case AccessCompleted done when done.Result.IsOk:
                // The ICR write's answer, or one vCPU's EOI.
                if (--_awaiting > 0)
                {
                    break;
                }
                RoundDone();
                break;
            default:
                Signal.Fail("unexpected " + message);
                break;
        }
    }

    protected override void Send()
    {
        _awaiting = 1 + _ports.Length;
        _ports[0].WriteMsr(ApicMsrs.X2ApicIcr, IcrToAll, Icr, Self);
    }
}
