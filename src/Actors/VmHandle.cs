using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// The sequential way to drive one VM from outside the actor system (scripts, tests, the service):
/// each call completes with all of its consequences — every IPI it caused sits in its targets' IRRs —
/// before its task completes. vCPUs are named by index (creation order), not APIC ID.
/// </summary>
/// <remarks>
/// For concurrent drivers, <see cref="GetPort"/> hands out each vCPU's <see cref="VcpuPort"/>, which Tells
/// the vAPIC actor directly with a correlation id and no global barrier.
/// </remarks>
public sealed class VmHandle : IAsyncDisposable
{
    /// <summary>How long one request may take before its task fails, unless the creator says otherwise.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    private readonly VmProtocol.VmTopology _topology;
    private readonly TimeSpan _timeout;
    private int _disposed;

    private VmHandle(VmSpec spec, IActorRef vm, VmProtocol.VmTopology topology, TimeSpan timeout)
    {
        Spec = spec;
        Vm = vm;
        _topology = topology;
        _timeout = timeout;
    }

    /// <summary>Creates the VM's actors and completes once every APIC is at its power-on state and routable.</summary>
    /// <exception cref="ArgumentException">The spec describes no valid VM.</exception>
    public static Task<VmHandle> CreateAsync(IActorRefFactory system, VmSpec spec, ITraceSink? trace = null) =>
        CreateAsync(system, spec, trace, DefaultRequestTimeout);

    /// <summary>
    /// As <see cref="CreateAsync(IActorRefFactory, VmSpec, ITraceSink?)"/>, with the timeout of each request. The VM
    /// actor is a child of <paramref name="system"/>: an actor system, or an actor's context (the VM then stops with it).
    /// </summary>
    public static async Task<VmHandle> CreateAsync(IActorRefFactory system, VmSpec spec, ITraceSink? trace, TimeSpan requestTimeout)
    {
        ArgumentNullException.ThrowIfNull(system);
        VmSpecs.Validate(spec);
        if (requestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(requestTimeout), requestTimeout, "must be positive");
        }
        var name = "vm-" + (ActorPath.IsValidPathElement(spec.Name) ? spec.Name + "-" : "") + Guid.NewGuid().ToString("N");
        var props = VmActor.Props(spec, trace);
        if ((system as ActorSystem ?? (system as IActorContext)?.System) is { } actorSystem)
        {
            props = props.WithDispatcher(VcpuDispatcher.Use(actorSystem));
        }
        var vm = system.ActorOf(props, name);
        try
        {
            var topology = await vm.Ask<VmProtocol.VmTopology>(VmProtocol.GetTopology.Instance, requestTimeout).ConfigureAwait(false);
            return new VmHandle(spec, vm, topology, requestTimeout);
        }
        catch
        {
            vm.Tell(PoisonPill.Instance);
            throw;
        }
    }

    public VmSpec Spec { get; }

    /// <summary>The VM actor (clock, EOI broadcasts, topology).</summary>
    public IActorRef Vm { get; }

    /// <summary>The VM's interrupt router (MSIs, exits by APIC ID).</summary>
    public IActorRef Router => _topology.Router;

    public int VcpuCount => _topology.Apics.Length;

    /// <summary>The APIC actor of vCPU <paramref name="vcpu"/>, for drivers that Tell it <see cref="ApicProtocol"/> requests.</summary>
    public IActorRef GetApicRef(int vcpu) => _topology.Apics[CheckVcpu(vcpu)];

    /// <summary>The concurrent port of vCPU <paramref name="vcpu"/>.</summary>
    public VcpuPort GetPort(int vcpu) => new(vcpu, GetApicRef(vcpu));

    public Task<AccessResult> ReadMmioAsync(int vcpu, ulong address, int size) =>
        AccessAsync(vcpu, r => new ApicProtocol.ReadMmio(vcpu, address, size, 0, r));

    public Task<AccessResult> WriteMmioAsync(int vcpu, ulong address, int size, ulong value) =>
        AccessAsync(vcpu, r => new ApicProtocol.WriteMmio(vcpu, address, size, value, 0, r));

    public Task<AccessResult> ReadMsrAsync(int vcpu, uint msr) =>
        AccessAsync(vcpu, r => new ApicProtocol.ReadMsr(vcpu, msr, 0, r));

    public Task<AccessResult> WriteMsrAsync(int vcpu, uint msr, ulong value) =>
        AccessAsync(vcpu, r => new ApicProtocol.WriteMsr(vcpu, msr, value, 0, r));

    /// <summary>A device writes an MSI; completes once the interrupt sits at its destination (or was not one).</summary>
    public Task SendMsiAsync(ulong address, uint data) =>
        Router.Ask<ApicProtocol.AccessCompleted>(r => new RouterProtocol.RouteMsi(address, data, 0, r), _timeout, CancellationToken.None);

    /// <summary>Drives LINT0 (pin 0) or LINT1 (pin 1) of vCPU <paramref name="vcpu"/>.</summary>
    public Task SetLintAsync(int vcpu, int pin, bool level)
    {
        if (pin is not (0 or 1))
        {
            throw new ArgumentOutOfRangeException(nameof(pin), pin, "LINT0 is pin 0, LINT1 is pin 1");
        }
        return AccessAsync(vcpu, r => new ApicProtocol.SetLint(vcpu, pin, level, 0, r));
    }

    /// <summary>A local source of vCPU <paramref name="vcpu"/> (thermal, performance counter, CMCI, …) raises its interrupt through its LVT.</summary>
    public Task RaiseLocalAsync(int vcpu, LvtSource source) =>
        AccessAsync(vcpu, r => new ApicProtocol.RaiseLocal(vcpu, source, 0, r));

    /// <summary>The vector vCPU <paramref name="vcpu"/>'s APIC would present to its core now, or -1.</summary>
    public async Task<int> PendingAsync(int vcpu)
    {
        var reply = await GetApicRef(vcpu).Ask<ApicProtocol.PendingVector>(
            r => new ApicProtocol.GetPending(vcpu, 0, r), _timeout, CancellationToken.None).ConfigureAwait(false);
        return reply.Vector;
    }

    public Task<AccessResult> AcknowledgeAsync(int vcpu) =>
        AccessAsync(vcpu, r => new ApicProtocol.Acknowledge(vcpu, 0, r));

    public Task<AccessResult> EoiAsync(int vcpu) =>
        AccessAsync(vcpu, r => new ApicProtocol.EndOfInterrupt(vcpu, 0, r));

    public Task<AccessResult> ReadTscAsync(int vcpu) =>
        AccessAsync(vcpu, r => new ApicProtocol.ReadTsc(vcpu, 0, r));

    public async Task<ApicSnapshot> SnapshotAsync(int vcpu)
    {
        var reply = await GetApicRef(vcpu).Ask<ApicProtocol.SnapshotTaken>(
            r => new ApicProtocol.GetSnapshot(vcpu, 0, r), _timeout, CancellationToken.None).ConfigureAwait(false);
        return reply.Snapshot;
    }

    /// <summary>The EOI-broadcast vectors sent since the previous call, in order.</summary>
    public async Task<IReadOnlyList<byte>> TakeEoiBroadcastsAsync()
    {
        var reply = await Vm.Ask<VmProtocol.EoiBroadcasts>(VmProtocol.TakeEoiBroadcasts.Instance, _timeout).ConfigureAwait(false);
        return reply.Vectors;
    }

    /// <summary>Advances virtual time by <paramref name="nanoseconds"/> (or to the next expiry when null); returns the new time.</summary>
    public async Task<long> StepClockAsync(long? nanoseconds)
    {
        if (nanoseconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(nanoseconds), nanoseconds, "must not be negative");
        }
        var reply = await Vm.Ask<VmProtocol.ClockTime>(new VmProtocol.StepClock(nanoseconds), _timeout).ConfigureAwait(false);
        return reply.Nanoseconds;
    }

    /// <summary>Advances virtual time to <paramref name="nanoseconds"/>; a time in the past leaves it unchanged. Returns the new time.</summary>
    public async Task<long> SetClockAsync(long nanoseconds)
    {
        var reply = await Vm.Ask<VmProtocol.ClockTime>(new VmProtocol.SetClock(nanoseconds), _timeout).ConfigureAwait(false);
        return reply.Nanoseconds;
    }

    public async Task<long> ClockAsync()
    {
        var reply = await Vm.Ask<VmProtocol.ClockTime>(VmProtocol.GetClock.Instance, _timeout).ConfigureAwait(false);
        return reply.Nanoseconds;
    }

    /// <summary>
    /// Saves every vCPU's APIC state, the virtual time and the EOI broadcasts not yet taken. Completes after every
    /// request made before it; requests made after it see the VM unchanged.
    /// </summary>
    public async Task<VmState> SaveAsync()
    {
        var reply = await Vm.Ask<VmProtocol.VmStateSaved>(VmProtocol.SaveVm.Instance, _timeout).ConfigureAwait(false);
        return reply.State;
    }

    /// <summary>
    /// Puts this VM where <paramref name="state"/> was taken: its virtual time, pending EOI broadcasts and every
    /// APIC (page, IA32_APIC_BASE, timers relative to the time, run state, pins, counts); routing and timers follow.
    /// The VM must have the same vCPUs, APIC IDs and clocks as the one the state was taken from.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not fit this VM.</exception>
    public async Task RestoreAsync(VmState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.CheckRestorableInto(Spec);
        await Vm.Ask<VmProtocol.VmRestored>(new VmProtocol.RestoreVm(state), _timeout).ConfigureAwait(false);
    }

    /// <summary>Stops the VM's actors; each APIC releases its page.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await Vm.GracefulStop(_timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TaskCanceledException or AskTimeoutException)
        {
            // Already stopped, or the actor system is shutting down: nothing is left to release.
        }
    }

    private async Task<AccessResult> AccessAsync(int vcpu, Func<IActorRef, object> request)
    {
        var reply = await GetApicRef(vcpu).Ask<ApicProtocol.AccessCompleted>(request, _timeout, CancellationToken.None).ConfigureAwait(false);
        return reply.Result;
    }

    private int CheckVcpu(int vcpu)
    {
        if ((uint)vcpu >= (uint)_topology.Apics.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(vcpu), vcpu, "the VM has " + _topology.Apics.Length + " vCPUs");
        }
        return vcpu;
    }
}
