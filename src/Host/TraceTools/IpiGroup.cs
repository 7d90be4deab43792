namespace VApicActors.Host.TraceTools;

/// <summary>
/// The lines of one IPI as its sender's thread printed them: the ICR (or SELF IPI) write, the <c>kvm_apic_ipi</c>
/// line and the <c>kvm_apic_accept_irq</c> line of each destination. KVM prints them in different orders (for an
/// x2APIC ICR write the effects come before the write), so they are gathered first and replayed as one.
/// </summary>
internal sealed class IpiGroup(int sender)
{
    public int Sender { get; } = sender;
    public int? Write { get; set; }
    public int? Ipi { get; set; }
    public List<int> Accepts { get; } = [];

    public IEnumerable<int> Members =>
        new[] { Write, Ipi }.OfType<int>().Concat(Accepts).Order();
}
