using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Saving a VM's APIC state and restoring it into another VM, and the trace events replay relies on.</summary>
public sealed class StateSpecs : VmSpecBase
{
    private const uint LvtTimerVector = 0xEE;
    private const uint InitialCount = 1000;

    public StateSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task SaveAsync_TakesEveryApicTheClockAndPendingEoiBroadcasts()
    {
        await StartVm(2, apicIds: [4, 9]);
        await EnableAll();
        await Vm.SetClockAsync(500);
        await Vm.SendMsiAsync(Values.MsiBase | (9u << 12), Values.MsiLevelAssert | Values.MsiLevelTrigger | 0x61);
        await Vm.AcknowledgeAsync(1);
        await Vm.EoiAsync(1);
        await W(0, LvtTimer, Values.TimerPeriodic | LvtTimerVector);
        await W(0, TimerInitialCount, InitialCount);

        var state = await Vm.SaveAsync();

        Assert.Equal(500, state.VirtualTimeNs);
        Assert.Equal(new byte[] { 0x61 }, state.PendingEoiBroadcasts);
        Assert.Equal([4u, 9u], state.Apics.Select(a => a.InitialApicId));
        Assert.Equal(PageSize, state.Apics[0].Page.Length);
        Assert.Equal(InitialCount * 2, (ulong)state.Apics[0].TimerDueInNs);
        Assert.Equal(Values.SvrEnabled, BitConverter.ToUInt32(state.Apics[1].Page.AsSpan((int)Svr, 4)));
        Assert.Equal(new byte[] { 0x61 }, await Vm.TakeEoiBroadcastsAsync());
    }

    [Fact]
    public async Task RestoreAsync_IntoANewVm_ContinuesAsTheOriginal()
    {
        await StartVm(3, apicIds: [0, 2, 4]);
        var original = Vm;
        await EnableAll();
        await Vm.SetClockAsync(1_000);
        await W(1, LvtTimer, Values.TimerPeriodic | LvtTimerVector);
        await W(1, TimerInitialCount, InitialCount);
        await Ipi(0, 4, Icr.Assert | 0x51);
        await Ipi(0, 2, Icr.Assert | 0x41);
        await Vm.AcknowledgeAsync(1);
        await Vm.StepClockAsync(2_500);

        var state = await original.SaveAsync();
        var copy = await VmHandle.CreateAsync(Sys, original.Spec with { Name = "copy" }, Trace);
        await copy.RestoreAsync(state);

        Assert.Equal(3_500, await copy.ClockAsync());
        foreach (var vm in new[] { original, copy })
        {
            await vm.StepClockAsync(10_000);
            await vm.EoiAsync(1);
            await vm.WriteMmioAsync(2, Values.DefaultBase + IcrHigh, 4, Icr.Destination(2));
            await vm.WriteMmioAsync(2, Values.DefaultBase + IcrLow, 4, Icr.Assert | 0x71);
        }
        var live = await original.SaveAsync();
        var restored = await copy.SaveAsync();
        Assert.Equal(live.VirtualTimeNs, restored.VirtualTimeNs);
        for (var cpu = 0; cpu < 3; cpu++)
        {
            var differing = Enumerable.Range(0, PageSize).Where(i => live.Apics[cpu].Page[i] != restored.Apics[cpu].Page[i]).Select(i => i.ToString("X3"));
            Assert.True(live.Apics[cpu].Page.SequenceEqual(restored.Apics[cpu].Page), $"vCPU {cpu} pages differ at " + string.Join(" ", differing));
            Assert.Equal(live.Apics[cpu] with { Page = default }, restored.Apics[cpu] with { Page = default });
            Assert.Equal(await original.SnapshotAsync(cpu), await copy.SnapshotAsync(cpu));
        }
        Assert.Contains(0x71, (await copy.SnapshotAsync(1)).Irr.Vectors());
        Assert.Equal(await original.ReadMmioAsync(1, Values.DefaultBase + TimerCurrentCount, 4), await copy.ReadMmioAsync(1, Values.DefaultBase + TimerCurrentCount, 4));
        await copy.DisposeAsync();
    }

    [Fact]
    public async Task RestoreAsync_IntoANewVm_ContinuesTheLowestPriorityRoundRobin()
    {
        // Decision 6: tied candidates take turns in APIC-ID order after the VM's previous winner. A restored VM goes on
        // from the saved VM's previous winner, as the saved VM does, rather than from the lowest ID.
        const uint lowest = Icr.Assert | Icr.LowestPriority | Icr.Logical;
        await StartVm(3, apicIds: [4, 2, 9]);
        var original = Vm;
        await EnableAll();
        for (var cpu = 0; cpu < 3; cpu++)
        {
            await W(cpu, Ldr, (1u << cpu) << 24);
        }
        await Ipi(0, 0x07, lowest | 0x41);
        Assert.Equal(new[] { 1 }, await Drain(0x41));   // APIC 2, the lowest ID
        await Ipi(0, 0x07, lowest | 0x42);
        Assert.Equal(new[] { 0 }, await Drain(0x42));   // APIC 4, after 2

        var state = await original.SaveAsync();
        Assert.Equal(4u, state.LowestPriorityPreviousWinner);
        var copy = await VmHandle.CreateAsync(Sys, original.Spec with { Name = "copy" }, Trace);
        await copy.RestoreAsync(state);

        var winners = new List<uint>();
        foreach (var vm in new[] { original, copy })
        {
            await vm.WriteMmioAsync(0, Values.DefaultBase + IcrHigh, 4, Icr.Destination(0x07));
            await vm.WriteMmioAsync(0, Values.DefaultBase + IcrLow, 4, lowest | 0x43);
            var receivers = new List<uint>();
            for (var cpu = 0; cpu < 3; cpu++)
            {
                var snapshot = await vm.SnapshotAsync(cpu);
                if (snapshot.Irr.Contains(0x43))
                {
                    receivers.Add(snapshot.ApicId);
                }
            }
            winners.Add(Assert.Single(receivers));
        }
        Assert.Equal(new uint[] { 9, 9 }, winners);
        Assert.Equal(9u, (await copy.SaveAsync()).LowestPriorityPreviousWinner);
        await copy.DisposeAsync();
    }

    [Fact]
    public async Task RestoreAsync_LogicalIdSetByTheGuest_RoutesToTheRestoredId()
    {
        await StartVm(2);
        await EnableAll();
        await W(1, Ldr, 0x0400_0000);
        var state = await Vm.SaveAsync();
        var copy = await VmHandle.CreateAsync(Sys, Vm.Spec with { Name = "copy" });

        await copy.RestoreAsync(state);
        await copy.WriteMmioAsync(0, Values.DefaultBase + IcrHigh, 4, Icr.Destination(0x04));
        await copy.WriteMmioAsync(0, Values.DefaultBase + IcrLow, 4, Icr.Assert | Icr.Logical | 0x45);

        Assert.Equal([0x45], (await copy.SnapshotAsync(1)).Irr.Vectors());
        await copy.DisposeAsync();
    }

    [Fact]
    public async Task RestoreAsync_StateOfAnotherShape_Throws()
    {
        await StartVm(2);
        var state = await Vm.SaveAsync();
        var other = await VmHandle.CreateAsync(Sys, new VmSpec("other", 2, ApicIds: [0, 5]));

        await Assert.ThrowsAsync<ArgumentException>(() => other.RestoreAsync(state));
        await Assert.ThrowsAsync<ArgumentException>(() => other.RestoreAsync(state with { Apics = [state.Apics[0]] }));
        await other.DisposeAsync();
    }

    [Fact]
    public async Task Trace_FirstEventOfEveryApic_IsItsConfiguration()
    {
        await StartVm(2, x2Apic: true, apicIds: [8, 3], bootAll: false, timerHz: 25_000_000);

        var created = Trace.Named("ApicCreated");
        Assert.Equal(2, created.Count);
        var ap = Assert.Single(created, e => e.ApicId == 3);
        Assert.Equal((1L, 3UL), (ap.Seq, ap.Value!.Value));
        Assert.Equal("index=1 bsp=false x2apic=true running=false timer-hz=25000000 tsc-hz=1000000000", ap.Detail);
    }

    [Fact]
    public async Task Trace_DeliveredIpi_NamesTheSeqOfItsSend()
    {
        await StartVm(3);
        await EnableAll();

        await Ipi(0, 1, Icr.Assert | 0x41);
        await W(0, IcrLow, Icr.Assert | Icr.AllExcludingSelf | 0x42);
        await W(0, IcrLow, Icr.Assert | Icr.LowestPriority | Icr.AllExcludingSelf | 0x43);
        await W(0, IcrLow, Icr.Assert | Icr.Nmi | Icr.AllExcludingSelf);
        await Settle();

        var sends = Trace.Named("IpiSent").Where(e => e.ApicId == 0).ToDictionary(e => e.Seq);
        var deliveries = Trace.Events.Where(e => e.Source is not null).ToArray();
        Assert.Equal(6, deliveries.Length);
        Assert.All(deliveries, d =>
        {
            var send = sends[d.SourceSeq!.Value];
            Assert.Equal(send.Value, d.Value);
            Assert.Equal(send.Vector, d.Vector);
        });
        Assert.All(Trace.Events.Where(e => e.Source is null), e => Assert.Null(e.SourceSeq));
    }

    [Fact]
    public async Task Trace_RaisedLocalSource_IsRecordedBeforeItsOutcome()
    {
        await StartVm(1);
        await EnableAll();
        await W(0, LvtPmc, 0x66);

        await Vm.RaiseLocalAsync(0, LvtSource.PerformanceCounter);

        var events = Trace.Events.SkipWhile(e => e.Event != "LocalRaised").ToArray();
        Assert.Equal("LVTPC", events[0].Register);
        Assert.Equal(("Accepted", "LVTPC", 0x66), (events[1].Event, events[1].Register, events[1].Vector!.Value));
    }

    [Fact]
    public async Task SaveAsync_AnEoiBroadcastAfterItsVcpuWasSaved_StaysOutOfTheState()
    {
        await StartVm(2);
        await EnableAll();
        await Vm.SendMsiAsync(Values.MsiAddress(0), Values.MsiLevelTrigger | Values.MsiLevelAssert | 0x61);
        Assert.Equal(AccessResult.Of(0x61), await Vm.AcknowledgeAsync(0));
        var probe = CreateTestProbe();
        // vCPU 1 answers the save only after a long backlog; vCPU 0 is saved with 0x61 in service, then EOIs it.
        Backlog(1, 1_000_000);
        Vm.Vm.Tell(VmProtocol.SaveVm.Instance, probe.Ref);
        await Task.Delay(20);
        Vm.GetPort(0).Eoi(1, probe.Ref);

        var answers = new[] { await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(20)), await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(20)) };
        Assert.Equal(AccessStatus.Ok, answers.OfType<ApicProtocol.AccessCompleted>().Single().Result.Status);
        var state = answers.OfType<VmProtocol.VmStateSaved>().Single().State;

        // Saved with 0x61 in service (the usual order here) or after its EOI, never both: the state's EOI comes once.
        var isrWord = BitConverter.ToUInt32(state.Apics[0].Page.AsSpan(0x100 + 0x10 * (0x61 / 32), 4));
        var inService = (isrWord & (1u << (0x61 % 32))) != 0;
        Assert.Equal(inService ? [] : new byte[] { 0x61 }, state.PendingEoiBroadcasts);
        Assert.Equal(new byte[] { 0x61 }, await Vm.TakeEoiBroadcastsAsync());
    }

    [Fact]
    public async Task RestoreAsync_AnEoiBroadcastFromBeforeItsVcpuWasRestored_IsNotPendingAfter()
    {
        await StartVm(2);
        await EnableAll();
        var state = await Vm.SaveAsync();
        await Vm.SendMsiAsync(Values.MsiAddress(0), Values.MsiLevelTrigger | Values.MsiLevelAssert | 0x61);
        Assert.Equal(AccessResult.Of(0x61), await Vm.AcknowledgeAsync(0));
        var probe = CreateTestProbe();
        // vCPU 0 EOIs 0x61 behind a long backlog, after the VM has begun the restore but before vCPU 0 is restored.
        Backlog(0);
        Vm.GetPort(0).Eoi(1, probe.Ref);
        Vm.Vm.Tell(new VmProtocol.RestoreVm(state), probe.Ref);

        await probe.ExpectMsgAsync<ApicProtocol.AccessCompleted>(TimeSpan.FromSeconds(20));
        await probe.ExpectMsgAsync<VmProtocol.VmRestored>(TimeSpan.FromSeconds(20));

        Assert.Empty(await Vm.TakeEoiBroadcastsAsync());
    }

    [Fact]
    public async Task RestoreAsync_AnEoiBroadcastAfterItsVcpuWasRestored_IsPending_WhileTheRouterStillHoldsTheAnswer()
    {
        await StartVm(2);
        await EnableAll();
        await Vm.SendMsiAsync(Values.MsiAddress(0), Values.MsiLevelTrigger | Values.MsiLevelAssert | 0x61);
        Assert.Equal(AccessResult.Of(0x61), await Vm.AcknowledgeAsync(0));
        var state = await Vm.SaveAsync();
        Assert.Equal(AccessStatus.Ok, (await Vm.EoiAsync(0)).Status);
        await Vm.TakeEoiBroadcastsAsync();
        // Software-disabled now, enabled in the state: vCPU 0's restore is answered through the router, which has a
        // long backlog; vCPU 0 EOIs the restored 0x61 meanwhile.
        await W(0, Svr, Values.SvrReset);
        var probe = CreateTestProbe();
        for (var i = 0; i < 300_000; i++)
        {
            Vm.Router.Tell(new RouterProtocol.RouteMsi(0, 0, 0, ActorRefs.Nobody));
        }
        Vm.Vm.Tell(new VmProtocol.RestoreVm(state), probe.Ref);
        await Task.Delay(20);
        Vm.GetPort(0).Eoi(1, probe.Ref);

        var answers = new[] { await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(20)), await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(20)) };
        Assert.Single(answers.OfType<VmProtocol.VmRestored>());

        // The EOI came after the restore (the usual order here), so its broadcast is pending; or before it, and 0x61
        // is in service again.
        var inService = (await Vm.SnapshotAsync(0)).Isr.Contains(0x61);
        Assert.Equal(inService ? [] : new byte[] { 0x61 }, await Vm.TakeEoiBroadcastsAsync());
    }

    /// <summary>Fills vCPU <paramref name="cpu"/>'s mailbox with queries, so that what is told to it next waits a while.</summary>
    private void Backlog(int cpu, int count = 300_000)
    {
        var apic = Vm.GetApicRef(cpu);
        for (var i = 0; i < count; i++)
        {
            apic.Tell(new ApicProtocol.GetPending(cpu, 0, ActorRefs.Nobody));
        }
    }
}
