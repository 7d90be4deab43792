namespace VApicActors.Host.Configuration;

/// <summary>How the BSP brings up the APs when only it runs at power-on (<see cref="BootSetting.Bsp"/>).</summary>
public enum BringUpSetting
{
    /// <summary>One AP at a time: wake it with INIT and SIPI, then let it set up its APIC, then the next.</summary>
    Serial,
    /// <summary>
    /// Linux's parallel bring-up (since 6.5, <c>cpuhp.parallel=1</c>): every AP is woken back to back first, then each,
    /// released in turn, sets up its APIC.
    /// </summary>
    Parallel,
}
