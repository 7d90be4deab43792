namespace VApicActors.Host.Configuration;

/// <summary>Which vCPUs run at power-on.</summary>
public enum BootSetting
{
    /// <summary>Every vCPU runs.</summary>
    All,
    /// <summary>Only vCPU 0 runs; the others wait for INIT and SIPI.</summary>
    Bsp,
}
