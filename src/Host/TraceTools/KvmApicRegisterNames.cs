using System.Globalization;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// The register names <c>kvm_apic</c> prints (KVM's <c>kvm_trace_symbol_apic</c> table). Offsets without a name
/// (the IRR, ISR and TMR words after the first, the CMCI LVT) print as hexadecimal numbers.
/// </summary>
internal static class KvmApicRegisterNames
{
    /// <summary>AMD's extended APIC feature and control registers: outside this project's register map.</summary>
    public const uint ExtendedFeature = 0x400;
    public const uint ExtendedControl = 0x410;

    private static readonly Dictionary<string, uint> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ID"] = ApicOffsets.Id,
        ["LVR"] = ApicOffsets.Version,
        ["TASKPRI"] = ApicOffsets.Tpr,
        ["ARBPRI"] = ApicOffsets.Apr,
        ["PROCPRI"] = ApicOffsets.Ppr,
        ["EOI"] = ApicOffsets.Eoi,
        ["RRR"] = ApicOffsets.Rrd,
        ["LDR"] = ApicOffsets.Ldr,
        ["DFR"] = ApicOffsets.Dfr,
        ["SPIV"] = ApicOffsets.Svr,
        ["ISR"] = ApicOffsets.Isr0,
        ["TMR"] = ApicOffsets.Tmr0,
        ["IRR"] = ApicOffsets.Irr0,
        ["ESR"] = ApicOffsets.Esr,
        ["ICR"] = ApicOffsets.IcrLow,
        ["ICR2"] = ApicOffsets.IcrHigh,
        ["LVTT"] = ApicOffsets.LvtTimer,
        ["LVTTHMR"] = ApicOffsets.LvtThermal,
        ["LVTPC"] = ApicOffsets.LvtPmc,
        ["LVT0"] = ApicOffsets.LvtLint0,
        ["LVT1"] = ApicOffsets.LvtLint1,
        ["LVTERR"] = ApicOffsets.LvtError,
        ["TMICT"] = ApicOffsets.TimerInitialCount,
        ["TMCCT"] = ApicOffsets.TimerCurrentCount,
        ["TDCR"] = ApicOffsets.TimerDivide,
        ["SELF_IPI"] = ApicOffsets.SelfIpi,
        ["EFEAT"] = ExtendedFeature,
        ["ECTRL"] = ExtendedControl,
    };

    private const string Prefix = "APIC_";

    /// <summary>Reads <c>APIC_ICR</c>, <c>ICR</c> or <c>0x210</c> into an offset.</summary>
    public static bool TryParse(string token, out uint offset)
    {
        if (token.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return uint.TryParse(token.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out offset)
                && offset % ApicOffsets.Stride == 0 && offset < ApicOffsets.PageSize;
        }
        var name = token.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? token[Prefix.Length..] : token;
        return ByName.TryGetValue(name, out offset);
    }

    /// <summary>The name KVM prints for an offset.</summary>
    public static string Name(uint offset)
    {
        foreach (var (name, value) in ByName)
        {
            if (value == offset)
            {
                return Prefix + name;
            }
        }
        return Hex.Of(offset);
    }
}
