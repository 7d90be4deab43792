using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Each APIC's mode as a trace shows it: from its <c>ApicCreated</c> event (xAPIC or x2APIC) and every <c>ModeChanged</c>
/// since. Pass it every event, in order.
/// </summary>
internal sealed class TracedModes
{
    private readonly Dictionary<(string Vm, uint ApicId), ApicMode> _modes = new();

    /// <summary>Notes the mode <paramref name="e"/> sets; true when it is an <c>ApicCreated</c> or <c>ModeChanged</c> event that set one.</summary>
    public bool Note(TraceRecord e)
    {
        switch (e.Event)
        {
            case "ApicCreated":
                _modes[(e.Vm, e.ApicId)] = TraceDetail.Get(e.Detail, "x2apic") == "true" ? ApicMode.X2Apic : ApicMode.XApic;
                return true;
            case "ModeChanged" when Enum.TryParse<ApicMode>(TraceDetail.Get(e.Detail, "mode"), out var mode):
                _modes[(e.Vm, e.ApicId)] = mode;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The APIC's mode, or null when the trace has shown none.</summary>
    public ApicMode? Find(string vm, uint apicId) => _modes.TryGetValue((vm, apicId), out var mode) ? mode : null;

    /// <summary>The APIC's mode, xAPIC (whose registers MMIO reaches) when the trace has shown none.</summary>
    public ApicMode Of(string vm, uint apicId) => Find(vm, apicId) ?? ApicMode.XApic;
}
