using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>
/// Runs a stress workload on an actor system: creates the VMs, sets every APIC up as a guest would, runs one
/// guest-CPU driver per vCPU (concurrently, or one operation at a time), drains every interrupt, reads the
/// counters and checks the invariants.
/// </summary>
public sealed class StressEngine
{
    private const uint SvrEnabled = 0x1FF;
    private const uint DfrFlat = 0xFFFF_FFFF;
    private const uint LvtPeriodic = 1u << 17;
    private const uint LvtTscDeadline = 2u << 17;
    private const uint DivideByOne = 0xB;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);

    private readonly ActorSystem _system;
    private readonly StressSettings _settings;
    private readonly ITraceSink? _trace;
    private readonly StressProgress _progress = new();
    private readonly List<VmState> _finalStates = [];
    private readonly ConcurrentDictionary<string, bool> _owned = new(StringComparer.Ordinal);
    private int _phase;
    private long _runStarted;
    private long _runEnded;

    /// <param name="system">The actor system the VMs run in.</param>
    /// <param name="settings">The run.</param>
    /// <param name="trace">Where the message trace goes, if anywhere (besides what the checker keeps).</param>
    public StressEngine(ActorSystem system, StressSettings settings, ITraceSink? trace = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _system = system;
        _settings = settings;
        _trace = trace;
    }

    /// <summary>Each VM's complete APIC state after the final drain of the last run (for replay and save).</summary>
    public IReadOnlyList<VmState> FinalStates => _finalStates;

    /// <summary>
    /// Count only the dead letters and errors of this run's own actors (and of the actor system itself), not those of
    /// other work in the same actor system — for runs that share a cluster node with other runs.
    /// </summary>
    public bool ScopeSystemEvents { get; init; }

    /// <summary>
    /// The latency histograms of the last run over every vCPU (to acceptance, to EOI): what the report's percentiles
    /// were computed from, for merging with other runs' histograms.
    /// </summary>
    public (LatencyHistogram ToAcceptance, LatencyHistogram ToEoi)? Latencies { get; private set; }

    /// <summary>What the run is doing now (for a progress display).</summary>
    public StressPhase Phase => (StressPhase)Volatile.Read(ref _phase);

    /// <summary>
    /// How long the run has gone on since its first operation: zero while the VMs are made, then through the drain and
    /// the checks, to the report.
    /// </summary>
    public TimeSpan Running => Volatile.Read(ref _runStarted) is var started and > 0
        ? Stopwatch.GetElapsedTime(started, Volatile.Read(ref _runEnded) is var ended and > 0 ? ended : Stopwatch.GetTimestamp())
        : TimeSpan.Zero;

    /// <summary>Operations and exits so far (for a progress display; updated in batches).</summary>
    public (long Operations, long Exits) Progress => (_progress.Operations, _progress.Exits);

    /// <summary>Total operations a run will do, or 0 when it runs for a time.</summary>
    public long PlannedOperations => _settings.Sequential
        ? (_settings.Operations > 0 ? _settings.Operations : _settings.SequentialOperations)
        : _settings.Operations;

    public async Task<StressReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var wall = Stopwatch.StartNew();
        Volatile.Write(ref _phase, (int)StressPhase.Creating);
        Volatile.Write(ref _runStarted, 0);
        Volatile.Write(ref _runEnded, 0);
        _owned.Clear();
        var (counter, events) = SystemEventCounts.Start(_system, ScopeSystemEvents ? _owned : null);
        var vms = new List<StressVm>();
        StressTraceRecorder? recorder = null;
        try
        {
            if (_settings.TraceCheck)
            {
                var ids = Enumerable.Range(0, _settings.Vcpus).Select(_settings.ApicIdOf).ToArray();
                recorder = new StressTraceRecorder(
                    Enumerable.Range(0, _settings.Vms).Select(v => (StressVm.NameOf(v), (IReadOnlyList<uint>)ids)).ToList(),
                    _settings.TraceCheckCapacity);
            }
            var creation = Stopwatch.StartNew();
            var handles = new List<VmHandle>();
            for (var v = 0; v < _settings.Vms; v++)
            {
                // Interrupted before its first operation, the run has nothing to report: it stops here.
                cancellationToken.ThrowIfCancellationRequested();
                var spec = new VmSpec(StressVm.NameOf(v), _settings.Vcpus, _settings.X2Apic,
                    Enumerable.Range(0, _settings.Vcpus).Select(_settings.ApicIdOf).ToArray());
                var handle = await VmHandle.CreateAsync(_system, spec, TraceSinks.Combine(recorder, _trace), AskTimeout).ConfigureAwait(false);
                Own(handle.Vm);
                handles.Add(handle);
            }
            creation.Stop();
            var total = PlannedOperations;
            var vcpusInAll = (long)_settings.Vms * _settings.Vcpus;
            for (var v = 0; v < handles.Count; v++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var world = await SetUpAsync(v, handles[v]).ConfigureAwait(false);
                var cpus = new StressCpu[_settings.Vcpus];
                for (var i = 0; i < cpus.Length; i++)
                {
                    var slot = (long)v * _settings.Vcpus + i;
                    var budget = total == 0 ? 0 : total / vcpusInAll + (slot < total % vcpusInAll ? 1 : 0);
                    cpus[i] = new StressCpu(world, i, total == 0 ? 0 : Math.Max(budget, 0));
                    if (total > 0 && budget == 0)
                    {
                        cpus[i].Stop();
                    }
                }
                vms.Add(new StressVm(v, handles[v], world, cpus));
            }
            // (Fault injection is armed by the fault vCPU itself, before its first fixed IPI that reaches an APIC.)

            double elapsedSeconds;
            Volatile.Write(ref _runStarted, Stopwatch.GetTimestamp());
            Volatile.Write(ref _phase, (int)StressPhase.Running);
            if (_settings.Sequential)
            {
                elapsedSeconds = await RunSequentialAsync(vms, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                elapsedSeconds = await RunConcurrentAsync(vms, cancellationToken).ConfigureAwait(false);
            }
            // (Asked before the checks: an interrupt that comes while they run does not cut the run short.)
            var interrupted = cancellationToken.IsCancellationRequested;

            Volatile.Write(ref _phase, (int)StressPhase.Checking);
            var counters = new List<ApicCounters[]>();
            var snapshots = new List<ApicSnapshot[]>();
            foreach (var vm in vms)
            {
                var c = new ApicCounters[_settings.Vcpus];
                var s = new ApicSnapshot[_settings.Vcpus];
                for (var i = 0; i < _settings.Vcpus; i++)
                {
                    // (Not cancelled: an interrupted run stops issuing operations, then reports what ran.)
                    c[i] = (await vm.Handle.GetApicRef(i).Ask<ApicProtocol.CountersRead>(
                        r => new ApicProtocol.GetCounters(i, 0, r), AskTimeout, CancellationToken.None).ConfigureAwait(false)).Counters;
                    s[i] = await vm.Handle.SnapshotAsync(i).ConfigureAwait(false);
                }
                counters.Add(c);
                snapshots.Add(s);
            }
            _finalStates.Clear();
            foreach (var vm in vms)
            {
                _finalStates.Add(await vm.Handle.SaveAsync().ConfigureAwait(false));
            }
            var checker = new StressChecker(vms, counters, snapshots, events, recorder);
            var invariants = checker.Check();
            var all = counters.SelectMany(c => c).ToList();
            Latencies = (LatencyHistogram.Merge(all.Select(c => c.ToAcceptance)), LatencyHistogram.Merge(all.Select(c => c.ToEoi)));
            wall.Stop();
            Volatile.Write(ref _runEnded, Stopwatch.GetTimestamp());
            Volatile.Write(ref _phase, (int)StressPhase.Done);
            return StressReportBuilder.Build(_settings, vms, counters, invariants, elapsedSeconds,
                _settings.Sequential ? null : creation.Elapsed.TotalSeconds, _settings.Sequential ? null : wall.Elapsed.TotalSeconds) with
            {
                FaultInjection = checker.FaultInjection(),
                Interrupted = interrupted,
            };
        }
        finally
        {
            foreach (var vm in vms)
            {
                foreach (var d in vm.Drivers)
                {
                    // (A run interrupted while its drivers were being attached has made only some of them.)
                    if (d is not null)
                    {
                        _system.Stop(d);
                    }
                }
                if (vm.Clock is { } clock)
                {
                    _system.Stop(clock);
                }
                await vm.Handle.DisposeAsync().ConfigureAwait(false);
            }
            _system.EventStream.Unsubscribe(counter);
            _system.Stop(counter);
        }
    }

    /// <summary>Notes a top-level actor of this run, whose events count when <see cref="ScopeSystemEvents"/> is on.</summary>
    private IActorRef Own(IActorRef actor)
    {
        _owned[actor.Path.Name] = true;
        return actor;
    }

    /// <summary>Software-enables every APIC, gives xAPICs flat logical IDs, programs the timers; returns the VM's routes.</summary>
    private async Task<StressWorld> SetUpAsync(int number, VmHandle vm)
    {
        var x2 = _settings.X2Apic;
        Task<AccessResult> Write(int cpu, uint offset, ulong value) => x2
            ? vm.WriteMsrAsync(cpu, ApicOffsets.ToMsr(offset), value)
            : vm.WriteMmioAsync(cpu, StressWorld.ApicPage + offset, 4, value);
        var identities = new ApicRoutingIdentity[_settings.Vcpus];
        for (var i = 0; i < _settings.Vcpus; i++)
        {
            await Check(Write(i, ApicOffsets.Svr, SvrEnabled)).ConfigureAwait(false);
            if (!x2)
            {
                await Check(Write(i, ApicOffsets.Dfr, DfrFlat)).ConfigureAwait(false);
                await Check(Write(i, ApicOffsets.Ldr, StressWorld.XApicLdrOf(i))).ConfigureAwait(false);
            }
            if (i % 2 == 0)
            {
                await Check(Write(i, ApicOffsets.TimerDivide, DivideByOne)).ConfigureAwait(false);
                await Check(Write(i, ApicOffsets.LvtTimer, LvtPeriodic | StressWorld.TimerVector)).ConfigureAwait(false);
                await Check(Write(i, ApicOffsets.TimerInitialCount, (ulong)_settings.TimerPeriodNs)).ConfigureAwait(false);
            }
            else
            {
                await Check(Write(i, ApicOffsets.LvtTimer, LvtTscDeadline | StressWorld.TimerVector)).ConfigureAwait(false);
            }
            var s = await vm.SnapshotAsync(i).ConfigureAwait(false);
            identities[i] = new ApicRoutingIdentity(i, s.ApicId, s.Mode, (s.Svr & 0x100) != 0, s.Ldr, (byte)(s.Dfr >> 28));
        }
        return new StressWorld(number, _settings, new ApicRouteTable(identities));
    }

    private static async Task Check(Task<AccessResult> access)
    {
        var result = await access.ConfigureAwait(false);
        if (result.Status != AccessStatus.Ok)
        {
            throw new InvalidOperationException("setting up an APIC failed: " + result);
        }
    }

    private async Task<double> RunConcurrentAsync(List<StressVm> vms, CancellationToken cancellationToken)
    {
        // The guest CPUs and the clocks talk to their VM's actors all the time: they share their dispatcher.
        var dispatcher = VcpuDispatcher.Use(_system);
        foreach (var vm in vms)
        {
            vm.Drivers = new IActorRef[vm.Cpus.Length];
            for (var i = 0; i < vm.Cpus.Length; i++)
            {
                vm.Drivers[i] = Own(_system.ActorOf(StressDriverActor.Props(vm.Cpus[i], vm.Handle.GetApicRef(i), vm.Handle.Router, _progress).WithDispatcher(dispatcher)));
                await vm.Handle.GetApicRef(i).Ask<ApicProtocol.AccessCompleted>(
                    r => new ApicProtocol.AttachCore(i, vm.Drivers[i], LatencyClock.Wall, 0, r), AskTimeout, cancellationToken).ConfigureAwait(false);
            }
            vm.Clock = Own(_system.ActorOf(ClockDriverActor.Props(vm.Handle.Vm, _settings.ClockStepNs).WithDispatcher(dispatcher)));
        }
        var watch = Stopwatch.StartNew();
        foreach (var vm in vms)
        {
            vm.Clock!.Tell(StressDriverActor.Go.Instance);
            foreach (var d in vm.Drivers)
            {
                d.Tell(StressDriverActor.Go.Instance);
            }
        }
        var byTime = _settings.Operations == 0;
        if (byTime)
        {
            try
            {
                // A timer may fire a little before its time (it counts in coarser ticks than the stopwatch): wait out
                // the rest, so that a run by time lasts at least the time asked for.
                for (var left = _settings.Duration; left > TimeSpan.Zero; left = _settings.Duration - watch.Elapsed)
                {
                    await Task.Delay(left, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Interrupted: stop now and report what ran.
            }
        }
        var stop = new StressDriverActor.Stop(Now: byTime || cancellationToken.IsCancellationRequested);
        var finishing = vms.SelectMany(vm => vm.Drivers).Select(d => d.Ask<StressDriverActor.Finished>(stop, TimeSpan.FromMinutes(30))).ToList();
        await Task.WhenAll(finishing).ConfigureAwait(false);
        watch.Stop();
        foreach (var vm in vms)
        {
            await vm.Clock!.Ask<ClockDriverActor.Stopped>(stop, AskTimeout).ConfigureAwait(false);
        }
        var draining = vms.SelectMany(vm => vm.Drivers).Select(d => d.Ask<StressDriverActor.Finished>(StressDriverActor.Drain.Instance, AskTimeout)).ToList();
        await Task.WhenAll(draining).ConfigureAwait(false);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// One operation at a time: the vCPUs take turns (VM by VM, vCPU by vCPU); at its turn a vCPU first takes
    /// every deliverable interrupt, then runs one operation, each access awaited; then its VM's clock moves on by
    /// the operation time. Returns the virtual seconds the longest-running VM advanced.
    /// </summary>
    private async Task<double> RunSequentialAsync(List<StressVm> vms, CancellationToken cancellationToken)
    {
        foreach (var vm in vms)
        {
            for (var i = 0; i < vm.Cpus.Length; i++)
            {
                await vm.Handle.GetApicRef(i).Ask<ApicProtocol.AccessCompleted>(
                    r => new ApicProtocol.AttachCore(i, null, LatencyClock.Virtual, 0, r), AskTimeout, cancellationToken).ConfigureAwait(false);
            }
        }
        var start = new long[vms.Count];
        for (var v = 0; v < vms.Count; v++)
        {
            start[v] = await vms[v].Handle.ClockAsync().ConfigureAwait(false);
        }
        var more = true;
        while (more && !cancellationToken.IsCancellationRequested)
        {
            more = false;
            foreach (var vm in vms)
            {
                foreach (var cpu in vm.Cpus)
                {
                    cpu.Kick();
                    cpu.AllowOperations(1);
                    var before = cpu.Operations;
                    var exitsBefore = cpu.Exits;
                    await RunAccessesAsync(vm, cpu).ConfigureAwait(false);
                    // (A turn without an operation may still take interrupts: its exits count too.)
                    _progress.Add(cpu.Operations - before, cpu.Exits - exitsBefore);
                    if (cpu.Operations != before)
                    {
                        more = true;
                        await vm.Handle.StepClockAsync(_settings.SequentialOperationNs).ConfigureAwait(false);
                    }
                }
            }
        }
        foreach (var vm in vms)
        {
            foreach (var cpu in vm.Cpus)
            {
                cpu.BeginDrain();
                await RunAccessesAsync(vm, cpu).ConfigureAwait(false);
            }
        }
        long longest = 0;
        for (var v = 0; v < vms.Count; v++)
        {
            longest = Math.Max(longest, await vms[v].Handle.ClockAsync().ConfigureAwait(false) - start[v]);
        }
        return longest / 1e9;
    }

    private static async Task RunAccessesAsync(StressVm vm, StressCpu cpu)
    {
        var apic = vm.Handle.GetApicRef(cpu.Index);
        while (cpu.TryNext(out var access))
        {
            var a = access;
            var target = GuestMessages.Target(a, apic, vm.Handle.Router);
            try
            {
                var done = await target.Ask<ApicProtocol.AccessCompleted>(r => GuestMessages.Build(a, cpu.Index, 0, r), AskTimeout, CancellationToken.None).ConfigureAwait(false);
                cpu.Complete(done.Result);
            }
            catch (Exception ex) when (ex is not AskTimeoutException)
            {
                // The handler failed and answered with a failure: the checker reports it.
                cpu.Complete(AccessResult.Fault, failed: true);
            }
        }
    }
}

/// <summary>What a stress run is doing: making its VMs, running operations (and draining), checking the invariants, done.</summary>
public enum StressPhase
{
    Creating,
    Running,
    Checking,
    Done,
}
