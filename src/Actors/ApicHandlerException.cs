namespace VApicActors.Actors;

/// <summary>A vAPIC handler failed: the vCPU, its APIC and the message that caused it, around the original exception.</summary>
internal sealed class ApicHandlerException : Exception
{
    public ApicHandlerException(int vcpu, uint apicId, object failedMessage, Exception inner)
        : base("vAPIC handler failed on " + failedMessage.GetType().Name, inner)
    {
        Vcpu = vcpu;
        ApicId = apicId;
        FailedMessage = failedMessage;
    }

    public int Vcpu { get; }

    public uint ApicId { get; }

    public object FailedMessage { get; }
}
