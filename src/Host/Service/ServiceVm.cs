using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;

namespace VApicActors.Host.Service;

/// <summary>
/// A VM the service runs: the VM itself, the sessions that drive it, and (once a session watches it) the
/// actor that fans its interrupt notifications out. A VM lives while a session drives it; a named VM
/// created with <c>keep=yes</c> lives until the service stops.
/// </summary>
public sealed class ServiceVm
{
    private readonly SemaphoreSlim _watchGate = new(1, 1);
    private IActorRef? _watch;
    private int _sessions;

    internal ServiceVm(VmHandle handle, string? name, bool keep)
    {
        Handle = handle;
        Name = name;
        Keep = keep;
    }

    public VmHandle Handle { get; }

    /// <summary>The name given with <c>vm name=NAME</c>, or null for a session's own VM.</summary>
    public string? Name { get; }

    /// <summary>The VM outlives its sessions.</summary>
    public bool Keep { get; }

    public int VcpuCount => Handle.VcpuCount;

    /// <summary>Sessions driving the VM now.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    internal int Join() => Interlocked.Increment(ref _sessions);

    internal int Leave() => Interlocked.Decrement(ref _sessions);

    /// <summary>
    /// The VM's interrupt fan-out actor, created (and subscribed to every vAPIC) by the first caller. Completes
    /// once every vAPIC has taken the subscription.
    /// </summary>
    internal async Task<IActorRef> WatchActorAsync(ActorSystem system, TimeSpan timeout)
    {
        if (Volatile.Read(ref _watch) is { } ready)
        {
            return ready;
        }
        await _watchGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_watch is not null)
            {
                return _watch;
            }
            var watch = await CreateWatchActorAsync(system, Handle, timeout).ConfigureAwait(false);
            Volatile.Write(ref _watch, watch);
            return watch;
        }
        finally
        {
            _watchGate.Release();
        }
    }

    /// <summary>
    /// Creates an interrupt fan-out actor under <paramref name="factory"/> and subscribes it to every vAPIC of
    /// <paramref name="vm"/>; completes once each has taken the subscription.
    /// </summary>
    internal static async Task<IActorRef> CreateWatchActorAsync(IActorRefFactory factory, VmHandle vm, TimeSpan timeout)
    {
        var watch = factory.ActorOf(InterruptWatchActor.Props(), "irq-watch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var attached = new Task[vm.VcpuCount];
            for (var vcpu = 0; vcpu < attached.Length; vcpu++)
            {
                var index = vcpu;
                attached[vcpu] = vm.GetApicRef(vcpu).Ask<ApicProtocol.AccessCompleted>(
                    r => new ApicProtocol.SubscribeInterrupts(index, watch, true, 0, r), timeout, CancellationToken.None);
            }
            await Task.WhenAll(attached).ConfigureAwait(false);
            return watch;
        }
        catch
        {
            watch.Tell(PoisonPill.Instance);
            throw;
        }
    }

    /// <summary>Stops the fan-out actor and the VM (each APIC releases its page).</summary>
    internal async Task StopAsync(ActorSystem system)
    {
        var watch = Interlocked.Exchange(ref _watch, null);
        if (watch is not null)
        {
            system.Stop(watch);
        }
        await Handle.DisposeAsync().ConfigureAwait(false);
    }
}
