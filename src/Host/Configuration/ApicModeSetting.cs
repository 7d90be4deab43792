namespace VApicActors.Host.Configuration;

/// <summary>The APIC mode every APIC of a VM starts in.</summary>
public enum ApicModeSetting
{
    XApic,
    X2Apic,
}
