using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>APIC timers and TSC-deadline on the VM's virtual clock: they fire only when the clock advances.</summary>
public sealed class TimerSpecs : VmSpecBase
{
    public TimerSpecs(ITestOutputHelper output) : base(output)
    {
    }

    private async Task StartTimer(int cpu, uint lvt, uint count, uint divide = Values.DivideBy1)
    {
        await W(cpu, LvtTimer, lvt);
        await W(cpu, TimerDivide, divide);
        await W(cpu, TimerInitialCount, count);
    }

    [Fact]
    public async Task OneShot_FiresOnlyWhenTheClockReachesItsExpiry()
    {
        await StartVm(1);
        await EnableAll();
        await StartTimer(0, 0x30, 1000);

        Assert.Equal(999, await Vm.StepClockAsync(999));
        Assert.True((await Irr(0)).IsEmpty);
        Assert.Equal(1u, await R(0, TimerCurrentCount));

        Assert.Equal(1000, await Vm.StepClockAsync(1));
        Assert.True((await Irr(0)).Contains(0x30));
        Assert.Equal(0u, await R(0, TimerCurrentCount));

        Assert.Equal(5000, await Vm.StepClockAsync(4000));
        Assert.Single(Trace.Named("TimerFired"));
        Assert.Equal(1000, Trace.Named("TimerFired")[0].VirtualTimeNs);
    }

    [Fact]
    public async Task Periodic_FiresOncePerPeriodWithinOneStep_EachAtItsOwnTime()
    {
        await StartVm(1);
        await EnableAll();
        await StartTimer(0, Values.TimerPeriodic | 0x30, 100);

        Assert.Equal(1050, await Vm.StepClockAsync(1050));

        var fired = Trace.Named("TimerFired");
        Assert.Equal(Enumerable.Range(1, 10).Select(k => k * 100L), fired.Select(e => e.VirtualTimeNs));
        Assert.Equal(nameof(AcceptOutcome.Accepted), fired[0].Detail);
        Assert.All(fired.Skip(1), e => Assert.Equal(nameof(AcceptOutcome.Coalesced), e.Detail));
        Assert.Equal(1100, (await Vm.SnapshotAsync(0)).TimerDueNs);
    }

    [Fact]
    public async Task Periodic_WithAOneTickPeriod_StepsASecondInBoundedWork_WithTheExactCount()
    {
        await StartVm(1);
        await EnableAll();
        await StartTimer(0, Values.TimerPeriodic | 0x30, 1);

        Assert.Equal(1_000_000_000, await Vm.StepClockAsync(1_000_000_000));

        var snapshot = await Vm.SnapshotAsync(0);
        Assert.True(snapshot.Irr.Contains(0x30));
        Assert.Equal(1_000_000_001, snapshot.TimerDueNs);
        Assert.Equal(1u, await R(0, TimerCurrentCount));
        var fired = Trace.Named("TimerFired");
        var oneByOne = VApicActor.MaxExpiriesPerMessage;
        Assert.Equal(oneByOne + 1, fired.Count);
        Assert.Equal(Enumerable.Range(1, oneByOne).Select(k => (long)k), fired.Take(oneByOne).Select(e => e.VirtualTimeNs));
        Assert.Equal(1_000_000_000, fired[^1].VirtualTimeNs);
        Assert.Equal("Coalesced expiries=" + (1_000_000_000 - oneByOne), fired[^1].Detail);
        var counters = await Vm.GetApicRef(0).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(0, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(1, counters.Counters.LocalOutcomes[(int)AcceptOutcome.Accepted]);
        Assert.Equal(1_000_000_000 - 1, counters.Counters.LocalOutcomes[(int)AcceptOutcome.Coalesced]);
    }

    [Fact]
    public async Task Periodic_ExpiriesSharingANanosecond_TraceTheAcceptanceApartFromTheCoalescedRest()
    {
        // A 1 THz timer clock and a one-tick period: the 1000 expiries of ns 1 are taken in one call; the first sets
        // the IRR bit, the other 999 find it set, and the trace must say so as the counters do.
        await StartVm(1, timerHz: 1_000_000_000_000);
        await EnableAll();
        await StartTimer(0, Values.TimerPeriodic | 0x30, 1);

        Assert.Equal(1, await Vm.StepClockAsync(1));

        Assert.True((await Irr(0)).Contains(0x30));
        var fired = Trace.Named("TimerFired");
        Assert.Equal(new[] { "Accepted", "Coalesced expiries=999" }, fired.Select(e => e.Detail));
        Assert.All(fired, e => Assert.Equal(1, e.VirtualTimeNs));
        var counters = (await Vm.GetApicRef(0).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(0, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None)).Counters;
        Assert.Equal(1, counters.LocalOutcomes[(int)AcceptOutcome.Accepted]);
        Assert.Equal(999, counters.LocalOutcomes[(int)AcceptOutcome.Coalesced]);
    }

    [Fact]
    public async Task StepWithoutLength_AdvancesToTheNextExpiry_OrNotAtAll()
    {
        await StartVm(1);
        await EnableAll();
        Assert.Equal(0, await Vm.StepClockAsync(null));

        await StartTimer(0, Values.LvtMasked | 0x30, 300, divide: 0x0);
        Assert.Equal(600, await Vm.StepClockAsync(null));
        Assert.True((await Irr(0)).IsEmpty);
        Assert.Equal(nameof(AcceptOutcome.DroppedMasked), Assert.Single(Trace.Named("TimerFired")).Detail);
        Assert.Equal(600, await Vm.StepClockAsync(null));
        Assert.Equal(600, await Vm.ClockAsync());
    }

    [Fact]
    public async Task SetClock_MovesForwardOnly()
    {
        await StartVm(1);
        await EnableAll();
        await StartTimer(0, 0x30, 500);

        Assert.Equal(700, await Vm.SetClockAsync(700));
        Assert.True((await Irr(0)).Contains(0x30));
        Assert.Equal(700, await Vm.SetClockAsync(10));
        Assert.Equal(700, await Vm.ClockAsync());
    }

    [Fact]
    public async Task ExpiriesOfSeveralVcpus_AreProcessedInTimeOrder_LowerIndexFirstOnTies()
    {
        await StartVm(3);
        await EnableAll();
        await StartTimer(2, Values.TimerPeriodic | 0x30, 300);
        await StartTimer(1, 0x31, 400);
        await StartTimer(0, 0x32, 600);

        await Vm.StepClockAsync(1000);

        var order = Trace.Named("TimerFired").Select(e => (e.VirtualTimeNs, e.ApicId)).ToArray();
        Assert.Equal(new (long, uint)[] { (300, 2), (400, 1), (600, 0), (600, 2), (900, 2) }, order);
    }

    [Fact]
    public async Task InterleavedOneTickPeriodsOfTwoVcpus_StepASecondInBoundedWork_WithExactState()
    {
        // Periods of 1 and 3 ns: the vCPUs take turns every nanosecond or two. In time order throughout that was a
        // message per expiry or two, 1.3 * 10^9 of them, and the step ran into its answer's timeout.
        await StartVm(2);
        await EnableAll();
        await StartTimer(0, Values.TimerPeriodic | 0x30, 1);
        await StartTimer(1, Values.TimerPeriodic | 0x31, 3);

        Assert.Equal(1_000_000_000, await Vm.StepClockAsync(1_000_000_000));

        var first = await Vm.SnapshotAsync(0);
        var second = await Vm.SnapshotAsync(1);
        Assert.True(first.Irr.Contains(0x30));
        Assert.True(second.Irr.Contains(0x31));
        Assert.Equal(1_000_000_001, first.TimerDueNs);
        Assert.Equal(1_000_000_002, second.TimerDueNs);
        Assert.Equal(1u, await R(0, TimerCurrentCount));
        Assert.Equal(2u, await R(1, TimerCurrentCount));
        Assert.Equal(1_000_000_000 - 1, (await Counters(0)).LocalOutcomes[(int)AcceptOutcome.Coalesced]);
        Assert.Equal(333_333_333 - 1, (await Counters(1)).LocalOutcomes[(int)AcceptOutcome.Coalesced]);
        // The step's first expiries are still taken in time order across the two vCPUs.
        var order = Trace.Named("TimerFired").Take(4).Select(e => (e.VirtualTimeNs, e.ApicId)).ToArray();
        Assert.Equal(new (long, uint)[] { (1, 0), (2, 0), (3, 0), (3, 1) }, order);
    }

    private async Task<ApicCounters> Counters(int vcpu) =>
        (await Vm.GetApicRef(vcpu).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(vcpu, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None)).Counters;

    [Fact]
    public async Task TimerHz_ScalesTheCount_AndTheTimerIsStoppedByAZeroCount()
    {
        await StartVm(1, timerHz: 100_000_000);
        await EnableAll();
        await StartTimer(0, 0x30, 10);
        Assert.Equal(100, (await Vm.SnapshotAsync(0)).TimerDueNs);
        await W(0, TimerInitialCount, 0);

        await Vm.StepClockAsync(1000);

        Assert.True((await Irr(0)).IsEmpty);
        Assert.Empty(Trace.Named("TimerFired"));
        Assert.Contains(Trace.Events, e => e.Event == "TimerCancelled");
    }

    [Fact]
    public async Task TscDeadline_FiresAtItsTscValue_AndThenReadsZero()
    {
        await StartVm(1, tscHz: 2_000_000_000);
        await EnableAll();
        await W(0, LvtTimer, Values.TimerTscDeadline | 0x30);
        await Wrmsr(0, ApicMsrs.TscDeadline, 5000);
        Assert.Equal(5000UL, await Rdmsr(0, ApicMsrs.TscDeadline));

        Assert.Equal(2500, await Vm.StepClockAsync(null));

        Assert.True((await Irr(0)).Contains(0x30));
        Assert.Equal(0UL, await Rdmsr(0, ApicMsrs.TscDeadline));
        Assert.Equal(AccessResult.Of(5000), await Vm.ReadTscAsync(0));
    }

    [Fact]
    public async Task TimerWithAnIllegalVector_LatchesReceiveIllegal()
    {
        await StartVm(1);
        await EnableAll();
        await StartTimer(0, 0x0F, 10);

        await Vm.StepClockAsync(100);
        await W(0, Esr, 0);

        Assert.Equal(Values.EsrReceiveIllegal, await R(0, Esr));
        Assert.True((await Irr(0)).IsEmpty);
    }

    [Fact]
    public async Task Rdtsc_FollowsTheVirtualClock()
    {
        await StartVm(2, bootAll: false, tscHz: 3_000_000_000);

        await Vm.SetClockAsync(1234);

        Assert.Equal(AccessResult.Of(3702), await Vm.ReadTscAsync(0));
        Assert.Equal(AccessResult.NotRunning, await Vm.ReadTscAsync(1));
    }
}
