using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>
/// One guest CPU of a stress run, as a state machine of exits: it hands out the next access, takes its result,
/// and decides what follows. The concurrent driver (an actor) and the sequential runner both drive it, so both run
/// the same seeded workload. A kick (a deliverable interrupt) makes it take every interrupt before its next
/// operation: acknowledge, handle (the call-function handler runs the vCPU's whole queue), EOI, until none is left.
/// </summary>
internal sealed class StressCpu
{
    private const uint IcrAssert = 1u << 14;
    private const uint IcrLogical = 1u << 11;
    private const int IcrModeShift = 8;
    private const int IcrShorthandShift = 18;
    private const uint TimerInitialCountMsr = 0x838;

    private readonly StressWorld _world;
    private readonly SplitMix64 _random;
    private readonly GuestAccess[] _plan = new GuestAccess[4];
    private readonly List<int> _targets = new(4);
    private readonly long[] _operationsByKind = new long[Enum.GetValues<OperationKind>().Length];
    private int _planLength;
    private int _planPosition;
    private bool _handling;
    private bool _kicked;
    private bool _stopped;
    private long _budget;
    private int _allowance = int.MaxValue;
    private long _tscDelta;
    private bool _drainTpr;
    private bool _draining;

    // Fault injection: armed on the fault vCPU until it sends a fixed IPI that reaches an APIC, which it then has its
    // APIC lose (the planned operation starts with a LoseNextFixedIpi access).
    private bool _loseNext;
    private bool _loseThis;

    public StressCpu(StressWorld world, int index, long operationBudget)
    {
        _world = world;
        Index = index;
        _budget = operationBudget <= 0 ? long.MaxValue : operationBudget;
        _random = new SplitMix64(world.Settings.Seed, world.Vm * StressSettings.MaxVcpus + index);
        _tscDelta = world.Settings.TimerPeriodNs;
        _loseNext = world.Settings.LoseOneIpi && world.Vm == 0 && index == world.Settings.FaultVcpu;
    }

    public int Index { get; }

    /// <summary>Operations started.</summary>
    public long Operations { get; private set; }

    /// <summary>Guest accesses, acknowledges and EOIs completed (device MSIs are not exits).</summary>
    public long Exits { get; private set; }

    /// <summary>Interrupts taken (acknowledged), and of those the call-function ones.</summary>
    public long InterruptsTaken { get; private set; }

    /// <summary>Accesses that failed (a handler fault answered them).</summary>
    public long Failures { get; private set; }

    public IReadOnlyList<long> OperationsByKind => _operationsByKind;

    /// <summary>True while the current operation or interrupt handling has accesses left (handed out or not).</summary>
    public bool Busy => _planPosition < _planLength;

    /// <summary>A vector became deliverable: take interrupts before the next operation.</summary>
    public void Kick() => _kicked = true;

    /// <summary>No more operations (interrupts are still taken when kicked).</summary>
    public void Stop() => _stopped = true;

    /// <summary>True once the budget is spent or <see cref="Stop"/> was called, and nothing is in flight.</summary>
    /// <summary>
    /// Nothing more to do until the drain: the budget is spent (or the run stopped) and nothing is half done. A vCPU
    /// stopped by time leaves the interrupts that keep arriving (timers go on until every vCPU has stopped) to the
    /// drain, instead of taking them one after another for as long as they come.
    /// </summary>
    public bool Finished => (_stopped || _budget == 0) && !Busy && (!_kicked || StoppedBeforeDrain) && !_drainTpr;

    private bool StoppedBeforeDrain => _stopped && !_draining;

    /// <summary>Sequential runs: at most <paramref name="operations"/> new operations until the next call.</summary>
    public void AllowOperations(int operations) => _allowance = operations;

    /// <summary>The final drain: TPR to 0 so that nothing is masked, then take every interrupt.</summary>
    public void BeginDrain()
    {
        _draining = true;
        _stopped = true;
        _kicked = true;
        _drainTpr = true;
    }

    /// <summary>The next access to make, or false when there is nothing to do now.</summary>
    public bool TryNext(out GuestAccess access)
    {
        if (!Busy)
        {
            // The drain starts once the operation or handling in progress is over, never in its middle.
            if (_drainTpr)
            {
                _drainTpr = false;
                SetPlan(Write(ApicOffsets.Tpr, 0));
            }
            else if (_kicked && !StoppedBeforeDrain)
            {
                _kicked = false;
                _handling = true;
                SetPlan(new GuestAccess(AccessKind.Acknowledge, false, 0, 0));
            }
            else if (!_stopped && _budget > 0 && _allowance > 0)
            {
                _budget--;
                _allowance--;
                PlanOperation();
            }
        }
        if (Busy)
        {
            access = _plan[_planPosition];
            return true;
        }
        access = default;
        return false;
    }

    /// <summary>The result of the access <see cref="TryNext"/> handed out.</summary>
    public void Complete(AccessResult result, bool failed = false)
    {
        var done = _plan[_planPosition++];
        if (failed)
        {
            Failures++;
        }
        if (done.Kind is not (AccessKind.Msi or AccessKind.LoseNextFixedIpi))
        {
            Exits++;
        }
        switch (done.Kind)
        {
            case AccessKind.Acknowledge when _handling:
                if (result.IsOk)
                {
                    InterruptsTaken++;
                    Handle((byte)result.Value);
                    SetPlan(new GuestAccess(AccessKind.Eoi, false, 0, 0));
                }
                else
                {
                    _handling = false;
                }
                return;
            case AccessKind.Eoi when _handling:
                if (StoppedBeforeDrain)
                {
                    // Stopped: what is still pending waits for the drain.
                    _handling = false;
                    return;
                }
                SetPlan(new GuestAccess(AccessKind.Acknowledge, false, 0, 0));
                return;
            case AccessKind.ReadTsc when Busy && result.IsOk:
                var next = _plan[_planPosition];
                _plan[_planPosition] = next with { Value = result.Value + (ulong)_tscDelta };
                return;
        }
    }

    private void Handle(byte vector)
    {
        if (vector != StressWorld.CallFunctionVector)
        {
            return;
        }
        var queue = _world.Ledger.Queues[Index];
        while (queue.TryDequeue(out _))
        {
            _world.Ledger.Ran[Index]++;
        }
    }

    private void PlanOperation()
    {
        var kind = _world.Settings.Mix.Pick(_random.Next(_world.Settings.Mix.Total));
        Operations++;
        _operationsByKind[(int)kind]++;
        switch (kind)
        {
            case OperationKind.Fixed:
                SendFixed(Other(), StressWorld.RescheduleVector);
                break;
            case OperationKind.Callfn:
                var target = Other();
                _world.Ledger.Queue(target, new CallFunctionItem(Index, Operations));
                SendFixed(target, StressWorld.CallFunctionVector);
                break;
            case OperationKind.Logical:
                SendIpi(DeliveryMode.Fixed, StressWorld.CallFunctionSingleVector, logical: true, DestinationShorthand.None, LogicalDestination(single: true));
                break;
            case OperationKind.Shorthand:
                SendIpi(DeliveryMode.Fixed, StressWorld.IrqWorkVector, logical: false, DestinationShorthand.AllExcludingSelf, 0);
                break;
            case OperationKind.Broadcast:
                SendIpi(DeliveryMode.Fixed, StressWorld.BroadcastVector, logical: false, DestinationShorthand.None,
                    _world.X2Apic ? ApicId.X2ApicBroadcast : ApicId.XApicBroadcast);
                break;
            case OperationKind.Lowest:
                SendIpi(DeliveryMode.LowestPriority, StressWorld.LowestPriorityVector, logical: true, DestinationShorthand.None, LogicalDestination(single: false));
                break;
            case OperationKind.Nmi:
                SendIpi(DeliveryMode.Nmi, 0, logical: false, DestinationShorthand.None, _world.Table[Other()].ApicId);
                break;
            case OperationKind.Self:
                if (_world.X2Apic)
                {
                    Resolve(DeliveryMode.Fixed, StressWorld.SelfVector, false, DestinationShorthand.Self, 0);
                    SetPlan(WriteMsr(ApicMsrs.X2ApicSelfIpi, StressWorld.SelfVector));
                }
                else
                {
                    SendIpi(DeliveryMode.Fixed, StressWorld.SelfVector, logical: false, DestinationShorthand.Self, 0);
                }
                break;
            case OperationKind.Msi when _world.MsiTargets.Length > 0:
                SendMsi(_world.MsiTargets[_random.Next(_world.MsiTargets.Length)]);
                break;
            case OperationKind.Tpr:
                var tpr = (ulong)_random.Next(3) << 4;
                SetPlan(Read(ApicOffsets.Tpr), Write(ApicOffsets.Tpr, tpr));
                break;
            case OperationKind.Timer:
                if (Index % 2 == 0)
                {
                    SetPlan(_world.X2Apic
                        ? WriteMsr(TimerInitialCountMsr, (ulong)_world.Settings.TimerPeriodNs)
                        : Write(ApicOffsets.TimerInitialCount, (ulong)_world.Settings.TimerPeriodNs));
                }
                else
                {
                    SetPlan(new GuestAccess(AccessKind.ReadTsc, false, 0, 0), WriteMsr(ApicMsrs.TscDeadline, 0));
                }
                break;
            default:
                var offsets = ReadableOffsets;
                SetPlan(Read(offsets[_random.Next(offsets.Length)]));
                break;
        }
        if (_loseThis)
        {
            // The APIC is told to lose its next fixed IPI just before the write that sends it.
            _loseThis = false;
            for (var i = _planLength; i > 0; i--)
            {
                _plan[i] = _plan[i - 1];
            }
            _plan[0] = new GuestAccess(AccessKind.LoseNextFixedIpi, false, 0, 0);
            _planLength++;
        }
    }

    private static readonly uint[] ReadableOffsets = [ApicOffsets.Id, ApicOffsets.Version, ApicOffsets.Ppr, ApicOffsets.Isr0 + 7 * ApicOffsets.Stride, ApicOffsets.Irr0 + 7 * ApicOffsets.Stride];

    /// <summary>A random vCPU other than this one (this one in a VM of one).</summary>
    private int Other()
    {
        var n = _world.Vcpus;
        if (n == 1)
        {
            return Index;
        }
        var pick = _random.Next(n - 1);
        return pick >= Index ? pick + 1 : pick;
    }

    /// <summary>
    /// A logical destination: x2APIC cluster (one member, or the whole cluster), or xAPIC flat (one bit, or all in use).
    /// </summary>
    private uint LogicalDestination(bool single)
    {
        if (_world.X2Apic)
        {
            var ldr = _world.Table[_random.Next(_world.Vcpus)].Ldr;
            return single ? ldr : (ldr & 0xFFFF_0000) | 0xFFFF;
        }
        var mask = _world.XApicLogicalMask;
        if (!single)
        {
            return mask;
        }
        var bits = System.Numerics.BitOperations.PopCount(mask);
        var pick = _random.Next(bits);
        for (var bit = 0; bit < 8; bit++)
        {
            if ((mask & (1 << bit)) != 0 && pick-- == 0)
            {
                return 1u << bit;
            }
        }
        return mask;
    }

    private void SendFixed(int target, byte vector) =>
        SendIpi(DeliveryMode.Fixed, vector, logical: false, DestinationShorthand.None, _world.Table[target].ApicId);

    /// <summary>Counts what the IPI must do in the ledger, then plans the ICR write(s).</summary>
    private void SendIpi(DeliveryMode mode, byte vector, bool logical, DestinationShorthand shorthand, uint destination)
    {
        Resolve(mode, vector, logical, shorthand, destination);
        var low = vector | ((uint)mode << IcrModeShift) | (logical ? IcrLogical : 0) | ((uint)shorthand << IcrShorthandShift)
            | (mode == DeliveryMode.Nmi ? IcrAssert : 0);
        if (_world.X2Apic)
        {
            SetPlan(WriteMsr(ApicMsrs.X2ApicIcr, ((ulong)destination << 32) | low));
        }
        else
        {
            SetPlan(Write(ApicOffsets.IcrHigh, (ulong)(destination & 0xFF) << 24), Write(ApicOffsets.IcrLow, low));
        }
    }

    private void Resolve(DeliveryMode mode, byte vector, bool logical, DestinationShorthand shorthand, uint destination)
    {
        var request = new InterruptRequest(mode, vector, TriggerMode.Edge, mode == DeliveryMode.Nmi, logical, shorthand,
            _world.X2Apic ? destination : destination & 0xFF, _world.X2Apic);
        _targets.Clear();
        _world.Table.Resolve(request, Index, _targets);
        switch (mode)
        {
            case DeliveryMode.Fixed:
                _world.Ledger.ExpectFixed(_targets, msi: false);
                if (_loseNext && _targets.Count > 0)
                {
                    // An IPI to no APIC (all-but-self in a VM of one vCPU) would be lost without anything missing.
                    _loseNext = false;
                    _loseThis = true;
                    _world.Ledger.Lose(new LostIpi(Index, Operations, vector, Destination(request), [.. _targets]));
                }
                break;
            case DeliveryMode.LowestPriority when _targets.Count > 0:
                _world.Ledger.LowestPriority();
                break;
            case DeliveryMode.Nmi:
                _world.Ledger.ExpectNmi(_targets);
                break;
        }
    }

    /// <summary>An IPI's destination as the trace writes it: the shorthand, or the mode and the destination field.</summary>
    private static string Destination(in InterruptRequest request) => request.Shorthand switch
    {
        DestinationShorthand.Self => "self",
        DestinationShorthand.AllIncludingSelf => "all",
        DestinationShorthand.AllExcludingSelf => "all-but-self",
        _ => (request.Logical ? "logical 0x" : "physical 0x") + request.Destination.ToString("X", System.Globalization.CultureInfo.InvariantCulture),
    };

    private void SendMsi(int target)
    {
        var address = StressWorld.ApicPage | ((ulong)_world.Table[target].ApicId << 12);
        var data = (uint)StressWorld.MsiVector;
        if (Msi.TryDecode(address, data, out var request))
        {
            _targets.Clear();
            _world.Table.Resolve(request, -1, _targets);
            _world.Ledger.ExpectFixed(_targets, msi: true);
        }
        SetPlan(new GuestAccess(AccessKind.Msi, false, address, data));
    }

    private GuestAccess Read(uint offset) => _world.X2Apic
        ? new GuestAccess(AccessKind.Read, true, ApicOffsets.ToMsr(offset), 0)
        : new GuestAccess(AccessKind.Read, false, StressWorld.ApicPage + offset, 0);

    private GuestAccess Write(uint offset, ulong value) => _world.X2Apic
        ? new GuestAccess(AccessKind.Write, true, ApicOffsets.ToMsr(offset), value)
        : new GuestAccess(AccessKind.Write, false, StressWorld.ApicPage + offset, value);

    private static GuestAccess WriteMsr(uint msr, ulong value) => new(AccessKind.Write, true, msr, value);

    private void SetPlan(GuestAccess a)
    {
        _plan[0] = a;
        _planLength = 1;
        _planPosition = 0;
    }

    private void SetPlan(GuestAccess a, GuestAccess b)
    {
        _plan[0] = a;
        _plan[1] = b;
        _planLength = 2;
        _planPosition = 0;
    }
}
