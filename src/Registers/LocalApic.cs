namespace VApicActors.Registers;

/// <summary>
/// One virtual local APIC: its register page and every rule of the reference profile.
/// Not thread-safe: exactly one owner calls it. Virtual time arrives as an argument.
/// </summary>
public sealed partial class LocalApic : IDisposable
{
    public LocalApic(ApicConfig config) => throw new NotImplementedException();
    public ApicConfig Config => throw new NotImplementedException();
    public int Index => Config.Index;
    public uint InitialApicId => Config.InitialApicId;
    public ApicMode Mode => throw new NotImplementedException();
    public VcpuRunState RunState => throw new NotImplementedException();
    public ulong ApicBase => throw new NotImplementedException();
    public bool SoftwareEnabled => throw new NotImplementedException();
    public ApicRoutingIdentity Identity => throw new NotImplementedException();
    public int NmiCount => throw new NotImplementedException();
    public int SmiCount => throw new NotImplementedException();
    public int SipiVector => throw new NotImplementedException();
    public long? TimerDue => throw new NotImplementedException();
    public VectorSet Irr => throw new NotImplementedException();
    public VectorSet Isr => throw new NotImplementedException();
    public VectorSet Tmr => throw new NotImplementedException();
    public int PendingVector => throw new NotImplementedException();
    public byte Ppr => throw new NotImplementedException();
    public ApicPage Page => throw new NotImplementedException();
    public AccessResult ReadMmio(ulong address, int size, long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult WriteMmio(ulong address, int size, ulong value, long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult ReadMsr(uint msr, long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult WriteMsr(uint msr, ulong value, long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult Acknowledge(long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult Eoi(long now, IApicEffects effects) => throw new NotImplementedException();
    public AccessResult ReadTsc(long now) => throw new NotImplementedException();
    public AcceptOutcome Accept(in InterruptMessage message, long now, IApicEffects effects) => throw new NotImplementedException();
    public LowestPriorityBid Bid(byte vector) => throw new NotImplementedException();
    public void SetLint(int pin, bool level, long now, IApicEffects effects) => throw new NotImplementedException();
    public AcceptOutcome RaiseLocal(LvtSource source, long now, IApicEffects effects) => throw new NotImplementedException();
    public bool ExpireTimer(long now, IApicEffects effects) => throw new NotImplementedException();
    public ApicSnapshot Snapshot(long now) => throw new NotImplementedException();
    public void Dispose() => throw new NotImplementedException();
}
