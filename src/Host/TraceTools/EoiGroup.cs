namespace VApicActors.Host.TraceTools;

/// <summary>A <c>kvm_eoi</c> line and, when the trace has it, the EOI register write that caused it.</summary>
internal sealed class EoiGroup(int eoi)
{
    public int Eoi { get; } = eoi;
    public int? Write { get; set; }

    public IEnumerable<int> Members => new[] { Eoi, Write ?? -1 }.Where(i => i >= 0);
}
