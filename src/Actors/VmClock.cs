namespace VApicActors.Actors;

/// <summary>
/// A VM's virtual time as its VM actor last published it, read by its vAPICs when they take a message. It replaces
/// a "clock advanced" message to every vAPIC per clock step: with the clock stepping as fast as it can, those
/// messages arrived faster than busy vAPICs took them, and their mailboxes grew without bound.
/// </summary>
/// <remarks>
/// Sequential observation holds: the VM actor publishes a step's time after every expiry up to it has been
/// handled and before it answers the step, so any request made after that answer sees the new time. A restore
/// publishes the restored time before it tells the vAPICs, so none of them reads the time from before it.
/// </remarks>
internal sealed class VmClock
{
    private long _now;

    /// <summary>The published virtual time in nanoseconds.</summary>
    public long Now => Volatile.Read(ref _now);

    public void Publish(long now) => Volatile.Write(ref _now, now);
}
