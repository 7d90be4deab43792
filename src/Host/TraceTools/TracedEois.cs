using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Which trace events end the highest interrupt in service: an <c>Eoi</c> (a core's end-of-interrupt request) that
/// succeeded, and a guest's write to the EOI register that reached it — WRMSR 0x80B that did not fault (x2APIC mode),
/// or a 4-byte MMIO write at offset 0xB0 of the page while the APIC is in xAPIC mode (in x2APIC mode, or disabled, the
/// page does not answer and the write does nothing). For that it follows each APIC's mode through <c>ApicCreated</c>
/// and <c>ModeChanged</c>; pass it every event of the trace, in order.
/// </summary>
internal sealed class TracedEois
{
    private readonly TracedModes _modes = new();

    /// <summary>Whether <paramref name="e"/> ends the highest interrupt in service at its APIC; notes the APIC's mode.</summary>
    public bool IsEoi(TraceRecord e)
    {
        if (_modes.Note(e))
        {
            return false;
        }
        switch (e.Event)
        {
            case "Eoi":
                return e.Detail is null || e.Detail.StartsWith("0x", StringComparison.Ordinal);
            case "MsrWrite" when e.Register == "EOI":
                return Succeeded(e);
            case "MmioWrite" when e.Register == "EOI":
                // A trace without the APIC's mode (written before ApicCreated existed) is taken as xAPIC: MMIO is xAPIC's.
                return Succeeded(e) && TraceDetail.Get(e.Detail, "size") == "4"
                    && _modes.Of(e.Vm, e.ApicId) == ApicMode.XApic;
            default:
                return false;
        }
    }

    /// <summary>The access's recorded result is a value (not <c>#GP</c>, not <c>not-running</c>).</summary>
    private static bool Succeeded(TraceRecord e) => TraceDetail.Get(e.Detail, "result")?.StartsWith("0x", StringComparison.Ordinal) == true;
}
