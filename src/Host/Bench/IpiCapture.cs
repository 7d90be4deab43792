using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>Captures the IPI one ICR write produces, without allocating.</summary>
internal sealed class IpiCapture : IApicEffects
{
    public bool HasRequest;
    public InterruptRequest Request;

    public void SendInterrupt(in InterruptRequest request)
    {
        HasRequest = true;
        Request = request;
    }

    public void BroadcastEoi(byte vector)
    {
    }

    public void ArmTimer(long dueNs)
    {
    }

    public void CancelTimer()
    {
    }

    public void InterruptDeliverable(byte vector)
    {
    }

    public void RoutingChanged(in ApicRoutingIdentity identity)
    {
    }

    public void LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome)
    {
    }
}
