using System.Globalization;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// Writes one APIC's trace events: numbers them (<c>Seq</c> from 1), stamps them with the VM, the APIC and
/// the virtual time, and names registers the way the trace contract does. Owned by one vAPIC actor.
/// </summary>
internal sealed class ApicTracer
{
    /// <summary>Bits 51:12 of IA32_APIC_BASE: the page's guest-physical base.</summary>
    private const ulong ApicBaseAddressMask = 0x000F_FFFF_FFFF_F000;
    private const int DataDeliveryModeShift = 8;
    private const int DataAssertBit = 14;
    private const int DataTriggerBit = 15;

    /// <summary>The first event of every APIC: its configuration (<c>Value</c> the initial APIC ID, <c>Detail</c> the rest).</summary>
    public const string ApicCreated = "ApicCreated";

    /// <summary>A local source (thermal, performance counter, CMCI, …) raises its interrupt; <c>Register</c> names its LVT.</summary>
    public const string LocalRaised = "LocalRaised";

    /// <summary>The APIC's state was replaced by a saved one (<c>Value</c> the restored IA32_APIC_BASE).</summary>
    public const string Restored = "Restored";

    private readonly ITraceSink? _sink;
    private readonly string _vm;
    private readonly uint _apicId;
    private long _seq;

    public ApicTracer(ITraceSink? sink, string vm, uint apicId)
    {
        _sink = sink;
        _vm = vm;
        _apicId = apicId;
    }

    public bool Enabled => _sink is { Enabled: true };

    /// <summary>The <c>Seq</c> of the last event written (0 before the first).</summary>
    public long LastSeq => _seq;

    public void Write(
        string eventName,
        long now,
        string? register = null,
        ulong? value = null,
        int? vector = null,
        uint? source = null,
        string? destination = null,
        string? detail = null,
        long? sourceSeq = null)
    {
        if (_sink is not { Enabled: true } sink)
        {
            return;
        }
        _seq++;
        sink.Write(new TraceEvent(_vm, _apicId, _seq, eventName, now, register, value, vector, source, destination, detail, sourceSeq));
    }

    /// <summary>
    /// An APIC's configuration as <c>KEY=VALUE</c> pairs: <c>index=1 bsp=false x2apic=false running=true
    /// timer-hz=1000000000 tsc-hz=1000000000</c>.
    /// </summary>
    public static string ConfigDetail(ApicConfig config) =>
        "index=" + config.Index.ToString(CultureInfo.InvariantCulture)
        + " bsp=" + (config.IsBsp ? "true" : "false")
        + " x2apic=" + (config.StartInX2Apic ? "true" : "false")
        + " running=" + (config.StartRunning ? "true" : "false")
        + " timer-hz=" + config.TimerHz.ToString(CultureInfo.InvariantCulture)
        + " tsc-hz=" + config.TscHz.ToString(CultureInfo.InvariantCulture);

    /// <summary>The register an MMIO address names on a page based at IA32_APIC_BASE, or the address itself.</summary>
    public static string MmioRegister(ulong apicBase, ulong address)
    {
        var pageBase = apicBase & ApicBaseAddressMask;
        if (address < pageBase || address - pageBase >= ApicOffsets.PageSize)
        {
            return "0x" + address.ToString("X");
        }
        var offset = (uint)(address - pageBase);
        var register = ApicOffsets.Name(offset & ~(ApicOffsets.Stride - 1));
        return offset % ApicOffsets.Stride == 0 ? register : register + "+" + (offset % ApicOffsets.Stride);
    }

    /// <summary>The register an MSR names.</summary>
    public static string MsrRegister(uint msr) => msr switch
    {
        ApicMsrs.ApicBase => "APIC_BASE",
        ApicMsrs.TscDeadline => "TSC_DEADLINE",
        >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast => ApicOffsets.Name(ApicOffsets.FromMsr(msr)),
        _ => "MSR_0x" + msr.ToString("X"),
    };

    /// <summary>The LVT register of a local source.</summary>
    public static string LvtRegister(LvtSource source) => ApicOffsets.Name(ApicOffsets.OfLvt(source));

    /// <summary>An interrupt message packed as an MSI data word: vector 7:0, delivery mode 10:8, level 14, trigger 15.</summary>
    public static ulong Pack(in InterruptMessage message) =>
        message.Vector
        | ((ulong)message.Mode << DataDeliveryModeShift)
        | ((message.Assert ? 1UL : 0UL) << DataAssertBit)
        | ((ulong)message.Trigger << DataTriggerBit);

    /// <summary>The event name for what became of an interrupt message.</summary>
    public static string OutcomeEvent(AcceptOutcome outcome) => outcome switch
    {
        AcceptOutcome.Accepted => "Accepted",
        AcceptOutcome.Coalesced => "Coalesced",
        AcceptOutcome.NmiDelivered => "Nmi",
        AcceptOutcome.SmiDelivered => "Smi",
        AcceptOutcome.InitReset => "Init",
        AcceptOutcome.Started => "Sipi",
        _ => "Dropped",
    };

    /// <summary>The event name for a delivered message: the mode for NMI, SMI, INIT and SIPI, else its outcome.</summary>
    public static string DeliveryEvent(in InterruptMessage message, AcceptOutcome outcome) => message.Mode switch
    {
        DeliveryMode.Nmi => "Nmi",
        DeliveryMode.Smi => "Smi",
        DeliveryMode.Init => "Init",
        DeliveryMode.StartUp => "Sipi",
        _ => OutcomeEvent(outcome),
    };

    /// <summary>An IPI's destination as text: the shorthand, or the mode and the destination field.</summary>
    public static string Destination(in InterruptRequest request) => request.Shorthand switch
    {
        DestinationShorthand.Self => "self",
        DestinationShorthand.AllIncludingSelf => "all",
        DestinationShorthand.AllExcludingSelf => "all-but-self",
        _ => (request.Logical ? "logical 0x" : "physical 0x") + request.Destination.ToString("X"),
    };
}
