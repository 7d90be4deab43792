using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>A value a read must give, compared only in the bits of <paramref name="Mask"/>.</summary>
internal readonly record struct PredictedRead(ulong Value, ulong Mask)
{
    public bool Agrees(ulong observed) => (observed & Mask) == (Value & Mask);
}

/// <summary>
/// Which register reads the importer may turn into expectations, and what the reference profile says they read.
/// A read is predictable only when its value follows from the excerpt alone: the APIC ID and what derives from it,
/// the version byte, the delivery-status bit of the ICR, and registers the excerpt itself wrote on that vCPU, in
/// the bits the profile keeps from a write. Everything else (IRR, ISR, TMR, PPR, APR, ESR, the timer count, the
/// TSC deadline) depends on state from before the excerpt or on timing, and is not predicted.
/// </summary>
internal static class ReadbackRules
{
    private const ulong Low32 = 0xFFFF_FFFF;
    private const uint VersionByte = 0x14;
    private const uint VersionMask = 0xFF;
    private const uint TprMask = 0xFF;
    private const uint XApicLdrMask = 0xFF00_0000;
    private const uint DfrAlwaysOnes = 0x0FFF_FFFF;
    /// <summary>SVR bits KVM and the profile both keep: vector, APIC enable, focus disable.</summary>
    private const uint SvrCommon = 0x3FF;
    private const uint DcrKept = 0xB;
    private const uint LvtTimerKept = 0x0007_00FF;
    private const uint LvtLocalKept = 0x0001_07FF;
    private const uint LvtLintKept = 0x0001_A7FF;
    private const uint LvtErrorKept = 0x0001_00FF;
    private const int XApicIdShift = 24;
    private const int ClusterShift = 4;
    private const int ClusterFieldShift = 16;
    private const uint ClusterMemberMask = 0xF;
    private const int X2ApicDestinationShift = 32;

    public static PredictedRead? Predict(TrackedVcpu vcpu, uint offset)
    {
        var id = (uint)vcpu.Index;
        var written = vcpu.Written(offset);
        switch (offset)
        {
            case ApicOffsets.Id:
                return Full(vcpu.IsX2Apic ? id : id << XApicIdShift);
            case ApicOffsets.Version:
                return new PredictedRead(VersionByte, VersionMask);
            case ApicOffsets.Tpr:
                return written is { } tpr ? Full(tpr & TprMask) : null;
            case ApicOffsets.Ldr:
                if (vcpu.IsX2Apic)
                {
                    return Full(((id >> ClusterShift) << ClusterFieldShift) | (1u << (int)(id & ClusterMemberMask)));
                }
                return written is { } ldr ? Full(ldr & XApicLdrMask) : null;
            case ApicOffsets.Dfr:
                return written is { } dfr && !vcpu.IsX2Apic ? Full((dfr | DfrAlwaysOnes) & Low32) : null;
            case ApicOffsets.Svr:
                return written is { } svr ? new PredictedRead(svr & SvrCommon, SvrCommon) : null;
            case ApicOffsets.IcrLow:
            {
                var destinationBits = vcpu.IsX2Apic ? Low32 << X2ApicDestinationShift : 0;
                return written is { } icr
                    ? new PredictedRead(icr & (IcrFields.Kept | destinationBits), IcrFields.Kept | IcrFields.DeliveryStatus | destinationBits)
                    : new PredictedRead(0, IcrFields.DeliveryStatus);
            }
            case ApicOffsets.IcrHigh:
                return written is { } high && !vcpu.IsX2Apic ? new PredictedRead(high & IcrFields.XApicDestinationMask, IcrFields.XApicDestinationMask) : null;
            case ApicOffsets.TimerDivide:
                return written is { } dcr ? Full(dcr & DcrKept) : null;
            case ApicOffsets.LvtTimer:
                return Lvt(written, LvtTimerKept);
            case ApicOffsets.LvtCmci or ApicOffsets.LvtThermal or ApicOffsets.LvtPmc:
                return Lvt(written, LvtLocalKept);
            case ApicOffsets.LvtLint0 or ApicOffsets.LvtLint1:
                return Lvt(written, LvtLintKept);
            case ApicOffsets.LvtError:
                return Lvt(written, LvtErrorKept);
            default:
                return null;
        }
    }

    /// <summary>IA32_APIC_BASE: base, enable, x2APIC and (vCPU 0 only) BSP, as the excerpt left them.</summary>
    public static PredictedRead PredictApicBase(TrackedVcpu vcpu) => new(vcpu.ApicBase, ulong.MaxValue);

    private static PredictedRead? Lvt(ulong? written, uint kept) => written is { } w ? new PredictedRead(w & kept, kept) : null;

    private static PredictedRead Full(ulong value) => new(value, Low32);
}
