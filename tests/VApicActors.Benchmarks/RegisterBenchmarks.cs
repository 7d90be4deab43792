using BenchmarkDotNet.Attributes;
using VApicActors.Registers;

namespace VApicActors.Benchmarks;

/// <summary>
/// The register model's hot path on one thread: a register read, a TPR write, an ICR write that is
/// decoded into an IPI, and one accept → acknowledge → EOI cycle. Effects go to a sink that does nothing.
/// </summary>
[MemoryDiagnoser]
public class RegisterBenchmarks
{
    private const ulong PageBase = 0xFEE0_0000;
    private const uint SvrEnabled = 0x1FF;
    private const uint X2ApicEnabledBsp = 0xFEE0_0D00;
    private const uint DestinationApic1 = 0x0100_0000;
    private const uint IcrFixedAssertVector41 = 0x0000_4041;
    private const ulong X2ApicIcrToApic1 = 0x0000_0001_0000_4041;
    private const uint TprValue = 0x20;
    private const byte Vector = 0x41;
    private const long Now = 1_000;

    private readonly IApicEffects _sink = NullApicEffects.Instance;
    private LocalApic _xApic = null!;
    private LocalApic _x2Apic = null!;

    [GlobalSetup]
    public void Setup()
    {
        _xApic = new LocalApic(new ApicConfig(0, 0, IsBsp: true));
        _xApic.WriteMmio(PageBase + ApicOffsets.Svr, sizeof(uint), SvrEnabled, 0, _sink);
        _xApic.WriteMmio(PageBase + ApicOffsets.IcrHigh, sizeof(uint), DestinationApic1, 0, _sink);

        _x2Apic = new LocalApic(new ApicConfig(0, 0, IsBsp: true));
        _x2Apic.WriteMsr(ApicMsrs.ApicBase, X2ApicEnabledBsp, 0, _sink);
        _x2Apic.WriteMsr(ApicOffsets.ToMsr(ApicOffsets.Svr), SvrEnabled, 0, _sink);

        // Measure what the names say: each cycle really takes the vector and leaves ISR empty.
        if (AcceptAcknowledgeEoi() != Vector || X2ApicAcceptAcknowledgeEoi() != Vector || !_xApic.Isr.IsEmpty || !_x2Apic.Isr.IsEmpty)
        {
            throw new InvalidOperationException("the accept → acknowledge → EOI cycle does not deliver the vector");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _xApic.Dispose();
        _x2Apic.Dispose();
    }

    /// <summary>xAPIC MMIO read of TPR (32 bits at 0xFEE00080).</summary>
    [Benchmark(Baseline = true)]
    public ulong MmioReadTpr() => _xApic.ReadMmio(PageBase + ApicOffsets.Tpr, sizeof(uint), Now, _sink).Value;

    /// <summary>xAPIC MMIO write of TPR (PPR recomputed, deliverability checked).</summary>
    [Benchmark]
    public AccessStatus MmioWriteTpr() => _xApic.WriteMmio(PageBase + ApicOffsets.Tpr, sizeof(uint), TprValue, Now, _sink).Status;

    /// <summary>xAPIC ICR low write: checked, decoded and reported as one SendInterrupt effect.</summary>
    [Benchmark]
    public AccessStatus MmioWriteIcrDecode() => _xApic.WriteMmio(PageBase + ApicOffsets.IcrLow, sizeof(uint), IcrFixedAssertVector41, Now, _sink).Status;

    /// <summary>A fixed interrupt accepted into IRR, acknowledged into ISR, then EOI'd through the guest's MMIO path.</summary>
    [Benchmark]
    public ulong AcceptAcknowledgeEoi()
    {
        _xApic.Accept(InterruptMessage.Fixed(Vector), Now, _sink);
        var taken = _xApic.Acknowledge(Now, _sink).Value;
        _xApic.Eoi(Now, _sink);
        return taken;
    }

    /// <summary>x2APIC RDMSR of TPR (MSR 0x808).</summary>
    [Benchmark]
    public ulong MsrReadTpr() => _x2Apic.ReadMsr(ApicOffsets.ToMsr(ApicOffsets.Tpr), Now, _sink).Value;

    /// <summary>x2APIC WRMSR of the 64-bit ICR (MSR 0x830): checked, decoded and reported.</summary>
    [Benchmark]
    public AccessStatus MsrWriteIcrDecode() => _x2Apic.WriteMsr(ApicMsrs.X2ApicIcr, X2ApicIcrToApic1, Now, _sink).Status;

    /// <summary>The accept → acknowledge → EOI cycle in x2APIC mode (EOI by WRMSR 0x80B).</summary>
    [Benchmark]
    public ulong X2ApicAcceptAcknowledgeEoi()
    {
        _x2Apic.Accept(InterruptMessage.Fixed(Vector), Now, _sink);
        var taken = _x2Apic.Acknowledge(Now, _sink).Value;
        _x2Apic.Eoi(Now, _sink);
        return taken;
    }
}
