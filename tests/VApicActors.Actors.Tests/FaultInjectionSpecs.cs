using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;

namespace VApicActors.Actors.Tests;

/// <summary>
/// <see cref="ApicProtocol.LoseFixedIpis"/>: the next fixed IPIs an APIC sends are traced and counted as sent and reach
/// nobody, whichever way they would have gone — through the router while it has withdrawn its route table after an
/// identity change, or directly once it has published it again.
/// </summary>
public sealed class FaultInjectionSpecs : VmSpecBase
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public FaultInjectionSpecs(ITestOutputHelper output) : base(output)
    {
    }

    private Task Lose(int cpu, int count) =>
        Vm.GetApicRef(cpu).Ask<ApicProtocol.AccessCompleted>(r => new ApicProtocol.LoseFixedIpis(cpu, count, 0, r), Timeout, CancellationToken.None);

    private async Task<ApicCounters> Counters(int cpu) =>
        (await Vm.GetApicRef(cpu).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(cpu, 0, r), Timeout, CancellationToken.None)).Counters;

    [Fact]
    public async Task LoseFixedIpis_FirstIpiAfterAnIdentityChange_IsLostToo()
    {
        await StartVm(2);
        // Software enabling changes every APIC's routing identity: the router withdraws its table until it next routes.
        await EnableAll();
        await Lose(0, 1);

        await Ipi(0, 1, Icr.Assert | 0x51);
        await Settle();

        Assert.True((await Irr(1)).IsEmpty);
        Assert.Equal(1, (await Counters(0)).IpisLost);
        Assert.Equal(1, (await Counters(0)).FixedIpisSent);
        Assert.Equal(0, (await Counters(1)).FixedArrived);
        Assert.Single(Trace.Events, e => e.Event == "IpiSent" && e.ApicId == 0 && e.Vector == 0x51);
        Assert.False((await Deliveries(0x51)).ContainsKey(1));

        await Ipi(0, 1, Icr.Assert | 0x52);
        Assert.Equal(new[] { 1 }, await Drain(0x52));
    }

    [Fact]
    public async Task LoseFixedIpis_WithTheRouteTablePublished_LosesTheNextIpiOnly()
    {
        await StartVm(2);
        await EnableAll();
        await Ipi(0, 1, Icr.Assert | 0x51);
        Assert.Equal(new[] { 1 }, await Drain(0x51));
        await Lose(0, 1);

        await Ipi(0, 1, Icr.Assert | 0x52);
        await Ipi(0, 1, Icr.Assert | 0x53);
        await Settle();

        Assert.Equal(new[] { 1 }, await Drain(0x53));
        Assert.False((await Deliveries(0x52)).ContainsKey(1));
        Assert.Equal(1, (await Counters(0)).IpisLost);
        Assert.Equal(3, (await Counters(0)).FixedIpisSent);
    }
}
