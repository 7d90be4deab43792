namespace VApicActors.Host.TraceTools;

/// <summary>Where a trace line came from.</summary>
/// <param name="LineNumber">1-based line number in the input.</param>
/// <param name="Task">The task name (<c>CPU 1/KVM</c>, <c>&lt;...&gt;</c>), or null when the line had no task prefix.</param>
/// <param name="Pid">The task's thread id, or null without a task prefix.</param>
/// <param name="Timestamp">The timestamp as printed, or null when the line had none.</param>
internal sealed record TraceOrigin(int LineNumber, string? Task, int? Pid, string? Timestamp)
{
    public bool HasTask => Task is not null;
}

/// <summary>One recognised KVM tracepoint line.</summary>
internal abstract record KvmTraceEvent(TraceOrigin Origin)
{
    public int LineNumber => Origin.LineNumber;

    /// <summary>The event as a short phrase for comments: <c>line 12: kvm_eoi apicid 1 vector 253</c>.</summary>
    public abstract string Describe();
}

/// <summary><c>kvm_apic</c>: a guest access to the register at xAPIC offset <paramref name="Offset"/>; the value is 32 bits.</summary>
internal sealed record ApicAccessEvent(TraceOrigin Origin, bool IsWrite, uint Offset, uint Value) : KvmTraceEvent(Origin)
{
    public override string Describe() =>
        $"line {LineNumber}: apic_{(IsWrite ? "write" : "read")} {KvmApicRegisterNames.Name(Offset)} = {Hex.Of(Value)}";
}

/// <summary><c>kvm_msr</c>: RDMSR or WRMSR of <paramref name="Msr"/>; <paramref name="Faulted"/> when the line ends in <c>(#GP)</c>.</summary>
internal sealed record MsrAccessEvent(TraceOrigin Origin, bool IsWrite, uint Msr, ulong Value, bool Faulted) : KvmTraceEvent(Origin)
{
    public override string Describe() =>
        $"line {LineNumber}: msr_{(IsWrite ? "write" : "read")} {Msr:x} = {Hex.Of(Value)}{(Faulted ? " (#GP)" : string.Empty)}";
}

/// <summary><c>kvm_apic_ipi</c>: the sender's IPI, with the ICR low bits rebuilt from the printed fields.</summary>
internal sealed record IpiEvent(TraceOrigin Origin, uint IcrLow, uint Destination) : KvmTraceEvent(Origin)
{
    public byte Vector => (byte)(IcrLow & IcrFields.VectorMask);
    public uint DeliveryMode => (IcrLow >> IcrFields.DeliveryModeShift) & IcrFields.DeliveryModeMask;
    public uint Shorthand => (IcrLow >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask;
    public bool IsLevelDeassert =>
        (IcrLow & IcrFields.TriggerLevel) != 0 && (IcrLow & IcrFields.LevelAssert) == 0;

    public override string Describe() =>
        $"line {LineNumber}: kvm_apic_ipi dst {Destination:x} vec {Vector} ({IcrFields.DeliveryModeName(DeliveryMode)})";
}

/// <summary><c>kvm_apic_accept_irq</c>: the APIC of vCPU <paramref name="ApicId"/> received an interrupt message.</summary>
internal sealed record AcceptEvent(TraceOrigin Origin, uint ApicId, byte Vector, uint DeliveryMode, bool Level) : KvmTraceEvent(Origin)
{
    public override string Describe() =>
        $"line {LineNumber}: kvm_apic_accept_irq apicid {ApicId:x} vec {Vector} ({IcrFields.DeliveryModeName(DeliveryMode)}|{(Level ? "level" : "edge")})";
}

/// <summary><c>kvm_eoi</c>: vCPU <paramref name="ApicId"/> ended the interrupt <paramref name="Vector"/> (-1: nothing was in service).</summary>
internal sealed record EoiEvent(TraceOrigin Origin, uint ApicId, int Vector) : KvmTraceEvent(Origin)
{
    public override string Describe() => $"line {LineNumber}: kvm_eoi apicid {ApicId:x} vector {Vector}";
}
