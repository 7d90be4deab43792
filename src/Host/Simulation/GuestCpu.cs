using VApicActors.Actors;
using VApicActors.Registers;

namespace VApicActors.Host.Simulation;

/// <summary>
/// One vCPU as the guest kernel sees it: register accesses in its APIC mode (MMIO in xAPIC mode, MSRs in
/// x2APIC mode), IPIs through the ICR, the TSC and the deadline MSR. Any access that does not succeed is a
/// <see cref="SimulationException"/>.
/// </summary>
internal sealed class GuestCpu(VmHandle vm, int index, uint apicId, bool x2Apic)
{
    private const int RegisterBytes = 4;

    public int Index { get; } = index;

    public uint ApicId { get; } = apicId;

    public bool X2Apic { get; } = x2Apic;

    public async Task<uint> ReadAsync(uint offset)
    {
        var r = X2Apic
            ? await vm.ReadMsrAsync(Index, ApicOffsets.ToMsr(offset)).ConfigureAwait(false)
            : await vm.ReadMmioAsync(Index, LinuxApic.DefaultBase + offset, RegisterBytes).ConfigureAwait(false);
        return (uint)Check(r, "read", offset, 0).Value;
    }

    public async Task WriteAsync(uint offset, uint value)
    {
        var r = X2Apic
            ? await vm.WriteMsrAsync(Index, ApicOffsets.ToMsr(offset), value).ConfigureAwait(false)
            : await vm.WriteMmioAsync(Index, LinuxApic.DefaultBase + offset, RegisterBytes, value).ConfigureAwait(false);
        Check(r, "write", offset, value);
    }

    /// <summary>Sends an IPI: ICR high then ICR low in xAPIC mode, one 64-bit ICR write in x2APIC mode.</summary>
    public async Task SendIpiAsync(uint destination, uint low)
    {
        if (X2Apic)
        {
            var icr = ((ulong)destination << LinuxApic.X2ApicDestinationShift) | low;
            Check(await vm.WriteMsrAsync(Index, ApicMsrs.X2ApicIcr, icr).ConfigureAwait(false), "write", ApicOffsets.IcrLow, icr);
            return;
        }
        await WriteAsync(ApicOffsets.IcrHigh, destination << LinuxApic.IcrHighDestinationShift).ConfigureAwait(false);
        await WriteAsync(ApicOffsets.IcrLow, low).ConfigureAwait(false);
    }

    /// <summary>
    /// An IPI with a destination shorthand (__default_send_IPI_shortcut, x2apic's __x2apic_send_IPI_shorthand): the ICR
    /// low word only in xAPIC mode, the 64-bit ICR with destination 0 in x2APIC mode.
    /// </summary>
    public async Task SendShorthandIpiAsync(uint low)
    {
        if (X2Apic)
        {
            Check(await vm.WriteMsrAsync(Index, ApicMsrs.X2ApicIcr, low).ConfigureAwait(false), "write", ApicOffsets.IcrLow, low);
            return;
        }
        await WriteAsync(ApicOffsets.IcrLow, low).ConfigureAwait(false);
    }

    /// <summary>apic->send_IPI_self: the SELF IPI MSR in x2APIC mode, the "self" shorthand in xAPIC mode.</summary>
    public async Task SendSelfIpiAsync(int vector)
    {
        if (X2Apic)
        {
            Check(await vm.WriteMsrAsync(Index, ApicMsrs.X2ApicSelfIpi, (uint)vector).ConfigureAwait(false), "write", ApicOffsets.SelfIpi, (uint)vector);
            return;
        }
        await SendShorthandIpiAsync(LinuxApic.ShorthandSelf | (uint)vector).ConfigureAwait(false);
    }

    /// <summary>safe_apic_wait_icr_idle: polls the delivery-status bit in xAPIC mode, nothing in x2APIC mode.</summary>
    public async Task WaitIcrIdleAsync()
    {
        if (X2Apic)
        {
            return;
        }
        for (var i = 0; i < LinuxApic.PollLimit; i++)
        {
            if ((await ReadAsync(ApicOffsets.IcrLow).ConfigureAwait(false) & LinuxApic.IcrBusy) == 0)
            {
                return;
            }
        }
        throw new SimulationException($"vCPU {Index}: the ICR stayed busy");
    }

    public async Task<ulong> ReadApicBaseAsync()
    {
        var r = await vm.ReadMsrAsync(Index, ApicMsrs.ApicBase).ConfigureAwait(false);
        if (r.Status != AccessStatus.Ok)
        {
            throw new SimulationException($"vCPU {Index}: RDMSR IA32_APIC_BASE gave {r}");
        }
        return r.Value;
    }

    public async Task WriteApicBaseAsync(ulong value)
    {
        var r = await vm.WriteMsrAsync(Index, ApicMsrs.ApicBase, value).ConfigureAwait(false);
        if (r.Status != AccessStatus.Ok)
        {
            throw new SimulationException($"vCPU {Index}: WRMSR IA32_APIC_BASE = 0x{value:X} gave {r}");
        }
    }

    public async Task<ulong> ReadTscAsync()
    {
        var r = await vm.ReadTscAsync(Index).ConfigureAwait(false);
        if (r.Status != AccessStatus.Ok)
        {
            throw new SimulationException($"vCPU {Index}: RDTSC gave {r}");
        }
        return r.Value;
    }

    public async Task WriteTscDeadlineAsync(ulong deadline)
    {
        var r = await vm.WriteMsrAsync(Index, ApicMsrs.TscDeadline, deadline).ConfigureAwait(false);
        if (r.Status != AccessStatus.Ok)
        {
            throw new SimulationException($"vCPU {Index}: WRMSR IA32_TSC_DEADLINE gave {r}");
        }
    }

    /// <summary>apic_eoi: writes 0 to the EOI register (native_apic_mem_eoi at 0xB0, native_apic_msr_eoi to MSR 0x80B).</summary>
    public Task EoiAsync() => WriteAsync(ApicOffsets.Eoi, 0);

    private AccessResult Check(AccessResult r, string what, uint offset, ulong value)
    {
        if (r.Status == AccessStatus.Ok)
        {
            return r;
        }
        var register = ApicOffsets.Name(offset);
        var detail = what == "write" ? $"{what} {register} = 0x{value:X}" : $"{what} {register}";
        throw new SimulationException($"vCPU {Index} (APIC ID 0x{ApicId:X}): {detail} gave {r}");
    }
}
