using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Actors.Protocol;

namespace VApicActors.Host.Service;

/// <summary>
/// Fans one VM's interrupt notifications out to the sessions watching its vCPUs. It subscribes to every
/// vAPIC of the VM (<see cref="ApicProtocol.SubscribeInterrupts"/>): each vAPIC tells it the vector that
/// became the one it presents, and it hands that to the sessions watching the vCPU.
/// </summary>
internal sealed class InterruptWatchActor : ReceiveActor
{
    private readonly Dictionary<int, List<IInterruptWatcher>> _watchers = [];

    public InterruptWatchActor()
    {
        Receive<Watch>(OnWatch);
        Receive<Unwatch>(OnUnwatch);
        Receive<ApicProtocol.InterruptDeliverable>(m =>
        {
            if (_watchers.TryGetValue(m.Vcpu, out var list))
            {
                foreach (var watcher in list)
                {
                    watcher.OnInterrupt(m.Vcpu, m.Vector);
                }
            }
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new InterruptWatchActor());

    private void OnWatch(Watch m)
    {
        foreach (var vcpu in m.Vcpus)
        {
            if (!_watchers.TryGetValue(vcpu, out var list))
            {
                list = [];
                _watchers.Add(vcpu, list);
            }
            if (!list.Contains(m.Watcher))
            {
                list.Add(m.Watcher);
            }
        }
        Sender.Tell(Watching.Instance);
    }

    private void OnUnwatch(Unwatch m)
    {
        foreach (var (vcpu, list) in _watchers.ToArray())
        {
            list.Remove(m.Watcher);
            if (list.Count == 0)
            {
                _watchers.Remove(vcpu);
            }
        }
        Sender.Tell(Watching.Instance);
    }

    /// <summary>Adds <paramref name="Watcher"/> to the watchers of <paramref name="Vcpus"/>. Answered with <see cref="Watching"/>.</summary>
    internal sealed record Watch(IInterruptWatcher Watcher, ImmutableArray<int> Vcpus);

    /// <summary>Removes <paramref name="Watcher"/> from every vCPU. Answered with <see cref="Watching"/>.</summary>
    internal sealed record Unwatch(IInterruptWatcher Watcher);

    /// <summary>The watch list has been changed.</summary>
    internal sealed record Watching
    {
        public static readonly Watching Instance = new();

        private Watching()
        {
        }
    }
}
