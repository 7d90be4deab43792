namespace VApicActors.Actors;

/// <summary>Which clock a vAPIC stamps its interrupts with to measure their latency.</summary>
public enum LatencyClock : byte
{
    /// <summary>No latency is measured (the default: nothing is stamped).</summary>
    Off = 0,

    /// <summary>The host's monotonic clock, in nanoseconds: how long the simulator took.</summary>
    Wall = 1,

    /// <summary>The VM's virtual clock: how much virtual time passed (deterministic).</summary>
    Virtual = 2,
}
