namespace VApicActors.Host.Stress;

/// <summary>What a guest-CPU driver asks of its APIC (or, for an MSI, of the VM's router) in one message.</summary>
internal enum AccessKind : byte
{
    Read,
    Write,
    Acknowledge,
    Eoi,
    ReadTsc,
    Msi,

    /// <summary>
    /// Fault injection, not an exit: the APIC is to lose the next fixed IPI it sends, which the guest CPU knows to be
    /// the one it sends next, and one that reaches an APIC.
    /// </summary>
    LoseNextFixedIpi,
}

/// <summary>One exit (or device MSI): an MMIO address or an MSR number, and the value written.</summary>
internal readonly record struct GuestAccess(AccessKind Kind, bool Msr, ulong Address, ulong Value);
