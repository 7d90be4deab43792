using Akka.Actor;
using VApicActors.Actors;

namespace VApicActors.Host.Stress;

/// <summary>One VM of a stress run: its handle, its world, its guest CPUs and (concurrent runs) their drivers.</summary>
internal sealed class StressVm
{
    public StressVm(int number, VmHandle handle, StressWorld world, StressCpu[] cpus)
    {
        Number = number;
        Handle = handle;
        World = world;
        Cpus = cpus;
    }

    public int Number { get; }

    public string Name => NameOf(Number);

    public VmHandle Handle { get; }

    public StressWorld World { get; }

    public StressCpu[] Cpus { get; }

    public IActorRef[] Drivers { get; set; } = [];

    public IActorRef? Clock { get; set; }

    public static string NameOf(int number) => "stress-" + number;
}
