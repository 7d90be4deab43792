using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

/// <summary>
/// One local APIC under test with a recording effect sink and a virtual clock: short guest-style
/// accessors (<c>R</c>/<c>W</c> for 32-bit MMIO, <c>Rdmsr</c>/<c>Wrmsr</c>) over the public API.
/// </summary>
internal sealed class ApicHarness : IDisposable
{
    private ApicHarness(ApicConfig config)
    {
        Apic = new LocalApic(config);
    }

    public LocalApic Apic { get; }

    public RecordingEffects Fx { get; } = new();

    /// <summary>Virtual time in ns passed to every operation.</summary>
    public long Now { get; set; }

    /// <summary>The guest-physical base of the xAPIC page as IA32_APIC_BASE places it now.</summary>
    public ulong PageBase => Apic.ApicBase & ~(ulong)(ApicOffsets.PageSize - 1) & Consts.ApicBaseAddressMask;

    /// <summary>A power-on APIC (software-disabled, SVR = 0xFF).</summary>
    public static ApicHarness PowerOn(
        uint id = 0,
        bool bsp = true,
        bool x2Apic = false,
        bool running = true,
        long timerHz = ApicConfig.DefaultHz,
        long tscHz = ApicConfig.DefaultHz,
        int index = 0)
    {
        return new ApicHarness(new ApicConfig(index, id, bsp, x2Apic, running, timerHz, tscHz));
    }

    /// <summary>An xAPIC, software-enabled with SVR = 0x1FF, effects cleared.</summary>
    public static ApicHarness XApic(uint id = 0, bool bsp = true, long timerHz = ApicConfig.DefaultHz, long tscHz = ApicConfig.DefaultHz)
    {
        var h = PowerOn(id, bsp, timerHz: timerHz, tscHz: tscHz);
        h.W(ApicOffsets.Svr, Consts.SvrEnabled);
        h.Fx.Clear();
        return h;
    }

    /// <summary>An x2APIC (started in x2APIC mode), software-enabled with SVR = 0x1FF, effects cleared.</summary>
    public static ApicHarness X2Apic(uint id = 0, bool bsp = true, long timerHz = ApicConfig.DefaultHz, long tscHz = ApicConfig.DefaultHz)
    {
        var h = PowerOn(id, bsp, x2Apic: true, timerHz: timerHz, tscHz: tscHz);
        h.WrmsrOk(Msr(ApicOffsets.Svr), Consts.SvrEnabled);
        h.Fx.Clear();
        return h;
    }

    /// <summary>The x2APIC MSR of a register offset.</summary>
    public static uint Msr(uint offset) => ApicOffsets.ToMsr(offset);

    // ------------------------------------------------------------ MMIO

    public AccessResult Read(uint offset, int size = 4) => Apic.ReadMmio(PageBase + offset, size, Now, Fx);

    public AccessResult Write(uint offset, ulong value, int size = 4) => Apic.WriteMmio(PageBase + offset, size, value, Now, Fx);

    /// <summary>32-bit MMIO read that must succeed.</summary>
    public uint R(uint offset)
    {
        var result = Read(offset);
        Assert.Equal(AccessStatus.Ok, result.Status);
        return (uint)result.Value;
    }

    /// <summary>32-bit MMIO write that must succeed.</summary>
    public void W(uint offset, uint value)
    {
        var result = Write(offset, value);
        Assert.Equal(AccessStatus.Ok, result.Status);
    }

    /// <summary>The 32-bit word of IRR, ISR or TMR that holds <paramref name="vector"/>.</summary>
    public uint VectorWord(uint baseOffset, int vector) => R(baseOffset + (uint)(vector >> 5) * ApicOffsets.Stride);

    // ------------------------------------------------------------ MSRs

    public AccessResult Rdmsr(uint msr) => Apic.ReadMsr(msr, Now, Fx);

    public AccessResult Wrmsr(uint msr, ulong value) => Apic.WriteMsr(msr, value, Now, Fx);

    public ulong RdmsrOk(uint msr)
    {
        var result = Rdmsr(msr);
        Assert.True(result.IsOk, $"RDMSR 0x{msr:X} gave {result}");
        return result.Value;
    }

    public void WrmsrOk(uint msr, ulong value)
    {
        var result = Wrmsr(msr, value);
        Assert.True(result.IsOk, $"WRMSR 0x{msr:X} 0x{value:X} gave {result}");
    }

    // ------------------------------------------------------------ registers by mode

    /// <summary>A register read through the access path of the current mode.</summary>
    public ulong Reg(uint offset) => Apic.Mode == ApicMode.X2Apic ? RdmsrOk(Msr(offset)) : R(offset);

    /// <summary>A register write through the access path of the current mode.</summary>
    public void SetReg(uint offset, uint value)
    {
        if (Apic.Mode == ApicMode.X2Apic) WrmsrOk(Msr(offset), value);
        else W(offset, value);
    }

    /// <summary>The ESR protocol: write (latch), then read.</summary>
    public uint LatchEsr()
    {
        SetReg(ApicOffsets.Esr, 0);
        return (uint)Reg(ApicOffsets.Esr);
    }

    // ------------------------------------------------------------ interrupts

    public AcceptOutcome Accept(in InterruptMessage message) => Apic.Accept(message, Now, Fx);

    public AcceptOutcome Inject(int vector, TriggerMode trigger = TriggerMode.Edge) =>
        Apic.Accept(InterruptMessage.Fixed((byte)vector, trigger), Now, Fx);

    /// <summary>Acknowledge: the vector taken, or -1 when nothing was deliverable.</summary>
    public int Ack()
    {
        var result = Apic.Acknowledge(Now, Fx);
        if (result.Status == AccessStatus.None) return -1;
        Assert.Equal(AccessStatus.Ok, result.Status);
        return (int)result.Value;
    }

    public void Eoi() => Assert.Equal(AccessStatus.Ok, Apic.Eoi(Now, Fx).Status);

    /// <summary>Injects and acknowledges a vector, leaving it in service.</summary>
    public void PutInService(int vector, TriggerMode trigger = TriggerMode.Edge)
    {
        Assert.Equal(AcceptOutcome.Accepted, Inject(vector, trigger));
        Assert.Equal(vector, Ack());
    }

    /// <summary>
    /// Plays the router for IPIs addressed to this APIC: every recorded request whose destinations
    /// include it is accepted here. Returns the outcomes.
    /// </summary>
    public List<AcceptOutcome> Loopback()
    {
        var table = new ApicRouteTable([Apic.Identity]);
        var outcomes = new List<AcceptOutcome>();
        var requests = Fx.Sent.ToArray();
        Fx.Sent.Clear();
        foreach (var request in requests)
        {
            var targets = new List<int>();
            table.Resolve(request, Apic.Index, targets);
            if (targets.Count > 0) outcomes.Add(Accept(request.Message));
        }
        return outcomes;
    }

    /// <summary>Moves time to the armed expiry and delivers it.</summary>
    public bool ExpireDue()
    {
        var due = Apic.TimerDue;
        Assert.NotNull(due);
        Now = due.Value;
        return Apic.ExpireTimer(Now, Fx);
    }

    public void Dispose() => Apic.Dispose();
}
