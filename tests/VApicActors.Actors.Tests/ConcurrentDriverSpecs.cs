using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>The concurrent driver (ports Told directly, correlation ids) and exits dispatched by APIC ID.</summary>
public sealed class ConcurrentDriverSpecs : VmSpecBase
{
    public ConcurrentDriverSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task Ports_AnswerEveryRequestWithItsCorrelationId()
    {
        const int vcpus = 8;
        const int perVcpu = 50;
        await StartVm(vcpus);
        var probe = CreateTestProbe();

        for (var i = 0; i < perVcpu; i++)
        {
            for (var cpu = 0; cpu < vcpus; cpu++)
            {
                Vm.GetPort(cpu).ReadMmio(Values.DefaultBase + Id, 4, cpu * 1000 + i, probe.Ref);
            }
        }

        var replies = new List<ApicProtocol.AccessCompleted>();
        for (var n = 0; n < vcpus * perVcpu; n++)
        {
            replies.Add(await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>());
        }
        Assert.Equal(vcpus * perVcpu, replies.Select(r => r.CorrelationId).Distinct().Count());
        Assert.All(replies, r =>
        {
            Assert.Equal(r.CorrelationId / 1000, r.Vcpu);
            Assert.Equal(AccessResult.Of(Icr.Destination((uint)r.Vcpu)), r.Result);
        });
        foreach (var cpu in Enumerable.Range(0, vcpus))
        {
            var fromCpu = replies.Where(r => r.Vcpu == cpu).Select(r => r.CorrelationId % 1000);
            Assert.Equal(Enumerable.Range(0, perVcpu).Select(i => (long)i), fromCpu);
        }
    }

    [Fact]
    public async Task Ports_SendingIpisAtOnce_LoseNone()
    {
        const int vcpus = 16;
        await StartVm(vcpus, x2Apic: true);
        await EnableAll();
        var probe = CreateTestProbe();

        for (var cpu = 0; cpu < vcpus; cpu++)
        {
            var target = (uint)((cpu + 1) % vcpus);
            Vm.GetPort(cpu).WriteMsr(ApicMsrs.X2ApicIcr, Icr.X2(target, Icr.Assert | (uint)(0x40 + cpu)), cpu, probe.Ref);
        }
        for (var n = 0; n < vcpus; n++)
        {
            Assert.Equal(AccessStatus.Ok, (await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>()).Result.Status);
        }

        for (var cpu = 0; cpu < vcpus; cpu++)
        {
            var sender = (cpu + vcpus - 1) % vcpus;
            Assert.Equal(VectorSet.Of(0x40 + sender), await Irr(cpu));
        }
    }

    /// <summary>
    /// Two of vCPU 0's MMIO writes sent through its port back to back, without waiting for the first answer: one to
    /// <paramref name="first"/>, then an ICR-low write that sends; returns once both are answered and the VM is quiet.
    /// </summary>
    private async Task BackToBackFromVcpu0Async(uint first, uint firstValue, uint icrLow)
    {
        var probe = CreateTestProbe();
        var port = Vm.GetPort(0);
        port.WriteMmio(Values.DefaultBase + first, 4, firstValue, 1, probe.Ref);
        port.WriteMmio(Values.DefaultBase + IcrLow, 4, icrLow, 2, probe.Ref);
        await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>();
        await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>();
        await Settle();
    }

    [Fact]
    public async Task Ports_ALowestPriorityIpiAndTheNextFixedIpi_ArriveAtTheTargetInTheOrderSent()
    {
        await StartVm(2);
        await EnableAll();
        await PublishRoutes();
        await W(0, IcrHigh, Icr.Destination(1));
        // Sent back to back: the first goes through the router's lowest-priority round, the second straight to vCPU 1.
        await BackToBackFromVcpu0Async(IcrLow, Icr.LowestPriority | 0x50, Icr.Fixed | 0x51);

        var arrived = Trace.Events.Where(e => e.ApicId == 1 && e.Event == "Accepted").Select(e => e.Vector).ToArray();
        Assert.Equal([0x50, 0x51], arrived);
    }

    [Fact]
    public async Task Ports_AnInitAndTheNextFixedIpi_ArriveAtTheTargetInTheOrderSent()
    {
        await StartVm(2);
        await EnableAll();
        await PublishRoutes();
        await W(0, IcrHigh, Icr.Destination(1));
        // INIT leaves vCPU 1 software-disabled, so the fixed IPI behind it is discarded, not left in IRR.
        await BackToBackFromVcpu0Async(IcrLow, Icr.Init | Icr.Assert, Icr.Fixed | 0x51);

        Assert.Equal(VectorSet.Empty, await Irr(1));
        Assert.Equal(1, (await Vm.GetApicRef(1).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(1, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None)).Counters.FixedOutcomes[(int)AcceptOutcome.DroppedSoftwareDisabled]);
    }

    [Fact]
    public async Task Ports_AnLdrWriteAndTheNextLogicalIpiToItself_UseTheNewLdr()
    {
        await StartVm(2);
        await EnableAll();
        await W(0, Dfr, Values.DfrFlat);
        await PublishRoutes();
        await W(0, IcrHigh, Icr.Destination(0x01));
        // The IPI is sent after the LDR write that makes vCPU 0 logical destination 0x01.
        await BackToBackFromVcpu0Async(Ldr, 0x0100_0000, Icr.Fixed | Icr.Logical | 0x52);

        Assert.Equal(VectorSet.Of(0x52), await Irr(0));
    }

    [Fact]
    public async Task Ports_FixedIpisToAnApicTurnedOffAndOnMeanwhile_AreEachCountedOnceByOutcome()
    {
        const int perSender = 300;
        await StartVm(4);
        await EnableAll();
        var probe = CreateTestProbe();
        for (var cpu = 1; cpu < 4; cpu++)
        {
            await W(cpu, IcrHigh, Icr.Destination(0));
        }

        // Each batch goes out while vCPU 0 takes its next step: software-disabled, enabled, hardware-disabled, enabled.
        for (var batch = 0; batch < perSender / 5; batch++)
        {
            for (var i = 0; i < 5; i++)
            {
                for (var cpu = 1; cpu < 4; cpu++)
                {
                    Vm.GetPort(cpu).WriteMmio(Values.DefaultBase + IcrLow, 4, Icr.Fixed | (uint)(0x40 + cpu), batch * 5 + i, probe.Ref);
                }
            }
            switch (batch % 4)
            {
                case 0:
                    await W(0, Svr, Values.SvrReset);
                    break;
                case 1:
                    await W(0, Svr, Values.SvrEnabled);
                    break;
                case 2:
                    await Wrmsr(0, ApicMsrs.ApicBase, 0xFEE0_0100);
                    break;
                default:
                    await Wrmsr(0, ApicMsrs.ApicBase, 0xFEE0_0900);
                    await W(0, Svr, Values.SvrEnabled);
                    break;
            }
        }
        for (var n = 0; n < 3 * perSender; n++)
        {
            await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>();
        }
        await Settle();

        var counters = (await Vm.GetApicRef(0).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(0, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None)).Counters;
        Assert.Equal(3 * perSender, counters.FixedArrived);
        var traced = Trace.Events.Count(e => e.ApicId == 0 && e.Vector is >= 0x41 and <= 0x43 && e.Event != "IpiSent" && e.Event != "Acknowledged");
        Assert.Equal(3 * perSender, traced);
    }

    /// <summary>
    /// Lets the router publish its route table again after identity changes (it does when it next routes), so that the
    /// next fixed IPIs go straight to their targets: an IPI to an APIC ID no vCPU has.
    /// </summary>
    private Task PublishRoutes() => Ipi(0, 0x0F, Icr.Fixed | 0x40);

    [Fact]
    public async Task DispatchToApic_FindsTheVcpuByItsApicId()
    {
        await StartVm(3, apicIds: [0x10, 0x20, 0x30]);

        Vm.Router.Tell(new RouterProtocol.DispatchToApic(0x20, new ApicProtocol.ReadMmio(-1, Values.DefaultBase + Id, 4, 7, TestActor)));
        var reply = await ExpectMsgAsync<ApicProtocol.AccessCompleted>();
        Assert.Equal(new ApicProtocol.AccessCompleted(1, 7, AccessResult.Of(0x2000_0000)), reply);

        Vm.Router.Tell(new RouterProtocol.DispatchToApic(0x40, new ApicProtocol.ReadMmio(-1, Values.DefaultBase + Id, 4, 8, TestActor)));
        await ExpectMsgAsync<Status.Failure>();
    }
}
