using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Survey cases H7–H9 through the actors: illegal vectors, ESR latching and the Error LVT.</summary>
public sealed class IpiErrorSpecs : VmSpecBase
{
    public IpiErrorSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Theory]
    [InlineData(Icr.Assert | 0x05)]
    [InlineData(Icr.Assert | Icr.Self | 0x05)]
    [InlineData(Icr.Assert | Icr.LowestPriority | 0x0F)]
    public async Task H7_SendingAnIllegalVector_SendsNothing_AndLatchesSendIllegalOnTheSender(uint low)
    {
        await StartVm(2);
        await EnableAll();
        await W(0, Esr, 0);
        Assert.Equal(0u, await R(0, Esr));

        await Ipi(0, 1, low);

        Assert.Equal(0u, await R(0, Esr));
        await W(0, Esr, 0);
        Assert.Equal(Values.EsrSendIllegal, await R(0, Esr));
        Assert.True((await Irr(0)).IsEmpty);
        Assert.True((await Irr(1)).IsEmpty);
        Assert.Equal(0u, (await Vm.SnapshotAsync(1)).Esr);
        Assert.Empty(Trace.Named("IpiSent"));
    }

    [Fact]
    public async Task H7_X2ApicSelfIpiWithAnIllegalVector_LatchesSendIllegal()
    {
        await StartVm(1, x2Apic: true);
        await EnableAll();

        await Wrmsr(0, ApicMsrs.X2ApicSelfIpi, 5);
        await Wrmsr(0, ToMsr(Esr), 0);

        Assert.Equal(Values.EsrSendIllegal, await Rdmsr(0, ToMsr(Esr)));
        Assert.True((await Irr(0)).IsEmpty);
    }

    [Fact]
    public async Task H8_ReceivingAnIllegalVector_SetsNoIrrBit_AndLatchesReceiveIllegalOnTheReceiver()
    {
        await StartVm(2);
        await EnableAll();

        await Vm.SendMsiAsync(Values.MsiAddress(1), 0x0E);

        Assert.True((await Irr(1)).IsEmpty);
        await W(1, Esr, 0);
        Assert.Equal(Values.EsrReceiveIllegal, await R(1, Esr));
        await W(0, Esr, 0);
        Assert.Equal(0u, await R(0, Esr));
        Assert.Equal(AcceptOutcome.DroppedIllegalVector.ToString(), Assert.Single(Trace.Named("Msi")).Detail);
    }

    [Fact]
    public async Task H9_ErrorLvt_FiresOnTheError_AndEsrIsWriteThenRead()
    {
        await StartVm(2);
        await EnableAll();
        await W(0, LvtError, 0xFE);

        await Ipi(0, 1, Icr.Assert | 0x05);

        Assert.Equal(0x4000_0000u, await R(0, Irr0 + 7 * Stride));
        Assert.Equal(0u, await R(0, Esr));
        await W(0, Esr, 0x1234_5678);
        Assert.Equal(Values.EsrSendIllegal, await R(0, Esr));
        await W(0, Esr, 0);
        Assert.Equal(0u, await R(0, Esr));
        Assert.Equal(new[] { 0 }, await Drain(0xFE));

        // Masked Error LVT: the bit still latches, nothing is delivered.
        await W(0, LvtError, Values.LvtMasked | 0xFE);
        await Ipi(0, 1, Icr.Assert | 0x05);
        await W(0, Esr, 0);
        Assert.Equal(Values.EsrSendIllegal, await R(0, Esr));
        Assert.True((await Irr(0)).IsEmpty);
    }

    [Fact]
    public async Task H9_X2ApicEsrWrite_LatchesWithZero_AndFaultsOtherwise()
    {
        await StartVm(1, x2Apic: true);
        await EnableAll();
        await Wrmsr(0, ApicMsrs.X2ApicSelfIpi, 5);

        Assert.Equal(AccessStatus.GeneralProtection, (await Vm.WriteMsrAsync(0, ToMsr(Esr), 1)).Status);
        await Wrmsr(0, ToMsr(Esr), 0);
        Assert.Equal(Values.EsrSendIllegal, await Rdmsr(0, ToMsr(Esr)));
    }
}
