using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>Captures the IPI one ICR write produces, without allocating.</summary>
internal sealed class IpiCapture : ApicEffectsBase
{
    public bool HasRequest;
    public InterruptRequest Request;

    public override void SendInterrupt(in InterruptRequest request)
    {
        HasRequest = true;
        Request = request;
    }
}
