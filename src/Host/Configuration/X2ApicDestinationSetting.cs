namespace VApicActors.Host.Configuration;

/// <summary>How the default simulation's guest addresses an IPI to one CPU in x2APIC mode: Linux's two x2APIC drivers.</summary>
public enum X2ApicDestinationSetting
{
    /// <summary><c>x2apic_cluster</c>: logical, to the target's cluster and bit, as each CPU reads them from its LDR.</summary>
    Cluster,
    /// <summary><c>x2apic_phys</c>: physical, to the target's full 32-bit APIC ID; the LDR is not read.</summary>
    Physical,
}
