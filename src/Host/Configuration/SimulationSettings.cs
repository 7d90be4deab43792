namespace VApicActors.Host.Configuration;

/// <summary>The default simulation: its VM and its workload (<c>vapic.simulation</c>).</summary>
/// <param name="Vcpus">Number of vCPUs.</param>
/// <param name="Mode">APIC mode at power-on.</param>
/// <param name="ApicIds">Initial APIC ID of each vCPU; empty means 0..Vcpus-1.</param>
/// <param name="Boot">Who runs at power-on.</param>
/// <param name="TimerHz">APIC timer input clock.</param>
/// <param name="TscHz">TSC frequency.</param>
/// <param name="DurationNs">Virtual time of the workload after bring-up.</param>
/// <param name="TickPeriodNs">TSC-deadline tick period.</param>
/// <param name="IpiRateHz">IPIs per virtual second over the whole VM.</param>
/// <param name="Seed">Seed of the workload's pseudo-random choices.</param>
/// <param name="InitDelayNs">The BSP's wait between INIT assert and INIT de-assert when it wakes an AP (Linux's
/// init_udelay: 0 on the CPUs it knows, 10 ms otherwise).</param>
/// <param name="X2ApicDestinations">In x2APIC mode, how the guest addresses an IPI to one CPU (Linux's x2apic_cluster or
/// x2apic_phys).</param>
/// <param name="BringUp">With <see cref="BootSetting.Bsp"/>: whether the BSP wakes the APs one at a time or all of them
/// first (Linux's parallel bring-up).</param>
public sealed record SimulationSettings(
    int Vcpus,
    ApicModeSetting Mode,
    IReadOnlyList<uint> ApicIds,
    BootSetting Boot,
    long TimerHz,
    long TscHz,
    long DurationNs,
    long TickPeriodNs,
    int IpiRateHz,
    int Seed,
    long InitDelayNs = 0,
    X2ApicDestinationSetting X2ApicDestinations = X2ApicDestinationSetting.Cluster,
    BringUpSetting BringUp = BringUpSetting.Serial)
{
    /// <summary>Each vCPU's initial APIC ID, with the default filled in.</summary>
    public IReadOnlyList<uint> EffectiveApicIds =>
        ApicIds.Count > 0 ? ApicIds : Enumerable.Range(0, Vcpus).Select(i => (uint)i).ToArray();
}
