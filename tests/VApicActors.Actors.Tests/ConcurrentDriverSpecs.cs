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
