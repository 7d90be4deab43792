using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Large VMs: sparse x2APIC IDs above 255, broadcasts to every vCPU, and 4096 vCPUs.</summary>
public sealed class ScaleSpecs : VmSpecBase
{
    public ScaleSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task X2ApicBroadcast_Reaches256VcpusWithSparseIds()
    {
        var ids = Enumerable.Range(0, 256).Select(i => (uint)(0x1000 + 37 * i)).ToArray();
        await StartVm(256, x2Apic: true, apicIds: ids);
        await EnableAll();

        await Wrmsr(17, ApicMsrs.X2ApicIcr, Icr.X2(0xFFFF_FFFF, Icr.Assert | 0xF0));
        await Wrmsr(17, ApicMsrs.X2ApicIcr, Icr.X2(0, Icr.Assert | Icr.AllExcludingSelf | 0xE0));

        for (var cpu = 0; cpu < 256; cpu++)
        {
            var s = await Vm.SnapshotAsync(cpu);
            Assert.Equal(ids[cpu], s.ApicId);
            Assert.True(s.Irr.Contains(0xF0));
            Assert.Equal(cpu != 17, s.Irr.Contains(0xE0));
        }
        Assert.Equal(256, (await Deliveries(0xF0)).Count);
    }

    [Fact]
    public async Task VmWith4096Vcpus_StartsAndRoutesToItsLastApic()
    {
        var ids = Enumerable.Range(0, 4096).Select(i => (uint)(2 * i)).ToArray();
        await StartVm(4096, x2Apic: true, apicIds: ids, bootAll: false);
        Assert.Equal(4096, Vm.VcpuCount);

        var last = await Vm.SnapshotAsync(4095);
        Assert.Equal(8190u, last.ApicId);
        Assert.Equal(ApicMode.X2Apic, last.Mode);
        Assert.Equal(VcpuRunState.WaitForSipi, last.RunState);

        await Wrmsr(0, ToMsr(Svr), Values.SvrEnabled);
        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(0, Icr.Assert | Icr.AllExcludingSelf | Icr.Init));
        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(8190, Icr.Assert | Icr.StartUp | 0x10));

        Assert.Equal(VcpuRunState.Running, (await Vm.SnapshotAsync(4095)).RunState);
        Assert.Equal(VcpuRunState.WaitForSipi, (await Vm.SnapshotAsync(4094)).RunState);
        await Wrmsr(4095, ToMsr(Svr), Values.SvrEnabled);
        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(DestinationMatcher.X2ApicLdr(8190), Icr.Assert | Icr.Logical | 0x44));
        Assert.True((await Irr(4095)).Contains(0x44));
    }
}
