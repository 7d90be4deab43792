using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// The core's priority rule applied to an APIC's TPR and ISR as a trace shows them, for the tools that say why an
/// interrupt was not taken (<c>trace view</c>'s notes, <c>trace ipis</c>).
/// </summary>
internal static class TracedPriority
{
    /// <summary>
    /// The TPR a guest write set (its low byte): WRMSR 0x808 that did not fault, or a 4-byte MMIO write while the APIC's
    /// <paramref name="mode"/> is xAPIC; null for any other event.
    /// </summary>
    public static uint? TprWritten(TraceRecord e, ApicMode mode) =>
        e.Event is "MmioWrite" or "MsrWrite" && e.Register == "TPR" && e.Value is ulong tpr
        && TraceDetail.Get(e.Detail, "result")?.StartsWith("0x", StringComparison.Ordinal) == true
        && (e.Event == "MsrWrite" || (mode == ApicMode.XApic && TraceDetail.Get(e.Detail, "size") == "4"))
            ? (uint)tpr & 0xFF
            : null;

    /// <summary>
    /// Why <paramref name="vector"/> is held back by priority (<c>blocked by TPR 0x50: its priority class 4 is not above
    /// PPR 0x50</c>), or null when its class is above PPR's. PPR is TPR when TPR's class is at least that of
    /// <paramref name="isrv"/>, the highest vector in service (0 for none), else that vector's class.
    /// </summary>
    public static string? Blocked(uint tpr, uint isrv, int vector, out uint ppr)
    {
        var byTpr = (tpr & 0xF0) >= (isrv & 0xF0);
        ppr = byTpr ? tpr : isrv & 0xF0;
        var cls = (uint)vector >> 4;
        if (cls > ppr >> 4)
        {
            return null;
        }
        var blocker = byTpr ? "TPR " + Hex.Of(tpr) : Hex.Of(isrv) + " in service, not EOI'd";
        return FormattableString.Invariant($"blocked by {blocker}: its priority class {cls:x} is not above PPR {Hex.Of(ppr)}");
    }
}
