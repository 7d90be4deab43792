using System.Numerics;
using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family I: the APIC timer and TSC-deadline, on exact virtual-time arithmetic (SDM 10.5.4, profile "Timer arithmetic").</summary>
public sealed class TimerTests
{
    private const long NsPerSecond = 1_000_000_000;

    /// <summary>The first ns at which <paramref name="ticks"/> ticks of a <paramref name="hz"/> clock have passed.</summary>
    private static long DueAfterTicks(long start, BigInteger ticks, long hz) =>
        start + (long)((ticks * NsPerSecond + hz - 1) / hz);

    /// <summary>floor((t − t0) · hz / 10⁹).</summary>
    private static BigInteger TicksSince(long start, long now, long hz) => (BigInteger)(now - start) * hz / NsPerSecond;

    /// <summary>TMCCT while counting: ceil(remaining ticks / D).</summary>
    private static uint ExpectedCount(BigInteger targetTicks, BigInteger elapsed, uint divisor) =>
        (uint)((targetTicks - elapsed + divisor - 1) / divisor);

    /// <summary>A software-enabled xAPIC whose timer divides by 1 (1 tick per ns at the default clock).</summary>
    private static ApicHarness DivideByOne()
    {
        var h = ApicHarness.XApic();
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        return h;
    }

    [Theory]
    [InlineData(0x0u, 2u)]
    [InlineData(0x1u, 4u)]
    [InlineData(0x2u, 8u)]
    [InlineData(0x3u, 16u)]
    [InlineData(0x8u, 32u)]
    [InlineData(0x9u, 64u)]
    [InlineData(0xAu, 128u)]
    [InlineData(0xBu, 1u)]
    [InlineData(0x4u, 2u)]
    [InlineData(0x5u, 4u)]
    [InlineData(0x6u, 8u)]
    [InlineData(0x7u, 16u)]
    [InlineData(0xCu, 32u)]
    [InlineData(0xDu, 64u)]
    [InlineData(0xEu, 128u)]
    [InlineData(0xFu, 1u)]
    public void Divide_EveryDcrValue_CountsAtTheDividedRate(uint dcr, uint divisor)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, LvtMasked);
        h.W(ApicOffsets.TimerDivide, dcr);
        h.Now = 1000;

        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);

        Assert.Equal(dcr & DcrWritable, h.R(ApicOffsets.TimerDivide));
        Assert.Equal(divisor, LocalApic.DivisorOf(dcr));
        Assert.Equal(0xFFFF_FFFFu, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(1000 + 0xFFFF_FFFFL * divisor, Assert.Single(h.Fx.Arms));
        foreach (var elapsed in new long[] { 1, 12_345, 1_000_000, 987_654_321 })
        {
            h.Now = 1000 + elapsed;
            Assert.Equal(0xFFFF_FFFFu - (uint)(elapsed / divisor), h.R(ApicOffsets.TimerCurrentCount));
        }
    }

    [Fact]
    public void OneShot_CountsDownFiresOnceThenReadsZero()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        h.Now = 500;

        h.W(ApicOffsets.TimerInitialCount, 0x10000);

        Assert.Equal(0x10000u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(500 + 0x10000L, h.Apic.TimerDue);
        Assert.Equal([500 + 0x10000L], h.Fx.Arms);
        h.Now = 500 + 0x10000 - 1;
        Assert.Equal(1u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.False(h.Apic.ExpireTimer(h.Now, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);

        Assert.True(h.ExpireDue());

        Assert.Equal(VectorSet.Of(0xEE), h.Apic.Irr);
        Assert.Equal((LvtSource.Timer, (byte)0xEE, AcceptOutcome.Accepted), Assert.Single(h.Fx.Local));
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(0x10000u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Null(h.Apic.TimerDue);
        h.Now += 0x100000;
        Assert.False(h.Apic.ExpireTimer(h.Now, h.Fx));
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Single(h.Fx.Local);
    }

    [Theory]
    [InlineData(1_000_000_000L, 0xBu, 1000u)]
    [InlineData(3_000_000_000L, 0x0u, 7u)]
    [InlineData(25_000_000L, 0x0u, 100u)]
    [InlineData(2_999_999_999L, 0x9u, 12_345u)]
    [InlineData(14_318_180L, 0x3u, 0xFFFF_FFFFu)]
    public void Periodic_ExpiryK_IsAtExactlyKPeriodsWithoutDrift(long hz, uint dcr, uint count)
    {
        using var h = ApicHarness.XApic(timerHz: hz);
        var divisor = LocalApic.DivisorOf(dcr);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerDivide, dcr);
        const long start = 777;
        h.Now = start;
        h.W(ApicOffsets.TimerInitialCount, count);
        var period = (BigInteger)count * divisor;

        for (var k = 1; k <= 50; k++)
        {
            var due = DueAfterTicks(start, k * period, hz);
            Assert.Equal(due, h.Apic.TimerDue);
            Assert.Equal(due, h.Fx.Arms[^1]);
            h.Now = due - 1;
            Assert.Equal(ExpectedCount(k * period, TicksSince(start, h.Now, hz), divisor), h.R(ApicOffsets.TimerCurrentCount));

            Assert.True(h.ExpireDue());

            Assert.Equal(0xEE, h.Ack());
            h.Eoi();
            Assert.Equal(ExpectedCount((k + 1) * period, TicksSince(start, h.Now, hz), divisor), h.R(ApicOffsets.TimerCurrentCount));
            Assert.Equal(count, h.R(ApicOffsets.TimerInitialCount));
        }
        Assert.Equal(50, h.Fx.Local.Count);
    }

    [Fact]
    public void Periodic_CurrentCountReloadsAndIsNeverStuckAtZero()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        h.W(ApicOffsets.TimerInitialCount, 1000);

        h.ExpireDue();
        Assert.Equal(1000u, h.R(ApicOffsets.TimerCurrentCount));
        h.Now = 1500;
        Assert.Equal(500u, h.R(ApicOffsets.TimerCurrentCount));
        h.Now = 1999;
        Assert.Equal(1u, h.R(ApicOffsets.TimerCurrentCount));
        h.Now = 2000;
        Assert.Equal(1000u, h.R(ApicOffsets.TimerCurrentCount));
    }

    [Theory]
    [InlineData(3_000_000_000L, 1u, 10u, new long[] { 1, 2, 3 }, new uint[] { 7, 4, 1 }, 4L)]
    [InlineData(25_000_000L, 2u, 100u, new long[] { 39, 40, 80, 7999 }, new uint[] { 100, 100, 99, 1 }, 8000L)]
    [InlineData(100_000_000L, 1u, 5u, new long[] { 9, 10, 49 }, new uint[] { 5, 4, 1 }, 50L)]
    public void OneShot_NonNanosecondClock_FollowsFloorAndCeilArithmetic(long hz, uint divisor, uint count, long[] times, uint[] counts, long due)
    {
        using var h = ApicHarness.XApic(timerHz: hz);
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerDivide, divisor == 1 ? DcrDivideBy1 : DcrDivideBy2);

        h.W(ApicOffsets.TimerInitialCount, count);

        Assert.Equal(due, h.Apic.TimerDue);
        for (var i = 0; i < times.Length; i++)
        {
            h.Now = times[i];
            Assert.Equal(counts[i], h.R(ApicOffsets.TimerCurrentCount));
        }
        Assert.False(h.Apic.ExpireTimer(due - 1, h.Fx));
        Assert.True(h.Apic.ExpireTimer(due, h.Fx));
    }

    [Fact]
    public void InitialCount_WriteZeroWhileRunning_StopsAtOnce()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 1000);
        h.Now = 300;

        h.W(ApicOffsets.TimerInitialCount, 0);

        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(0u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.False(h.Apic.ExpireTimer(2000, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void InitialCount_RewriteWhileRunning_RestartsFromTheNewCount()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 1000);
        h.Now = 300;

        h.W(ApicOffsets.TimerInitialCount, 50);

        Assert.Equal(50u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(350L, h.Apic.TimerDue);
        Assert.Equal(350L, h.Fx.Arms[^1]);
        Assert.False(h.Apic.ExpireTimer(349, h.Fx));
        Assert.True(h.Apic.ExpireTimer(350, h.Fx));
        Assert.False(h.Apic.ExpireTimer(2000, h.Fx));
        Assert.Single(h.Fx.Local);
    }

    [Fact]
    public void Lvt_OneShotToPeriodicMidCount_KeepsCountingThenReloads()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 0x999999);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        Assert.Equal(0x999999u, h.R(ApicOffsets.TimerInitialCount));
        h.Now = 0x999999 * 2 / 3;
        var before = h.R(ApicOffsets.TimerCurrentCount);

        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);

        Assert.Equal(before, h.R(ApicOffsets.TimerCurrentCount));
        Assert.True(before < 0x999999 / 2);
        Assert.Equal(TimerPeriodic | 0xEE, h.R(ApicOffsets.LvtTimer));
        Assert.Equal(0x999999L, h.Apic.TimerDue);
        Assert.True(h.ExpireDue());
        Assert.True(h.R(ApicOffsets.TimerCurrentCount) > 0x999999 / 2);
        Assert.Equal(2 * 0x999999L, h.Apic.TimerDue);
    }

    [Fact]
    public void Lvt_PeriodicToOneShotMidCount_ExpiresOnceAndStaysZero()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 1000);
        h.ExpireDue();
        h.Now = 1600;

        h.W(ApicOffsets.LvtTimer, 0xEE);

        Assert.Equal(400u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(2000L, h.Apic.TimerDue);
        Assert.True(h.ExpireDue());
        Assert.Null(h.Apic.TimerDue);
        h.Now = 5000;
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
    }

    [Fact]
    public void Lvt_ExpiredOneShotSwitchedToPeriodic_IsNotRestarted()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 1000);
        h.ExpireDue();
        h.Fx.Clear();

        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);

        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(1000u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Null(h.Apic.TimerDue);
        Assert.Empty(h.Fx.Arms);
    }

    [Fact]
    public void Lvt_ReservedTimerModeActsAsOneShot()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, TimerReservedMode | 0xEE);
        Assert.Equal(TimerReservedMode | 0xEE, h.R(ApicOffsets.LvtTimer));

        h.W(ApicOffsets.TimerInitialCount, 100);

        Assert.Equal(100u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.True(h.ExpireDue());
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
    }

    [Fact]
    public void Divide_WriteWhileRunning_KeepsCurrentCountAtTheNewRate()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy2);
        h.W(ApicOffsets.TimerInitialCount, 100);
        h.Now = 50;
        Assert.Equal(75u, h.R(ApicOffsets.TimerCurrentCount));

        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);

        Assert.Equal(75u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(125L, h.Apic.TimerDue);
        Assert.Equal(125L, h.Fx.Arms[^1]);
        h.Now = 100;
        Assert.Equal(25u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.True(h.ExpireDue());
    }

    [Fact]
    public void Lvt_EnteringTscDeadlineMode_DisarmsTheTimer()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 0x999999);
        h.Now = 100;

        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);

        Assert.Equal(0u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.False(h.Apic.ExpireTimer(0x999999, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void Lvt_LeavingTscDeadlineMode_ClearsTheDeadline()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        h.WrmsrOk(ApicMsrs.TscDeadline, 5000);
        Assert.Equal(5000L, h.Apic.TimerDue);

        h.W(ApicOffsets.LvtTimer, 0xEF);

        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Equal(0u, h.R(ApicOffsets.TimerInitialCount));
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.False(h.Apic.ExpireTimer(5000, h.Fx));
    }

    [Fact]
    public void TscDeadline_PastOrPresentDeadline_FiresDuringTheWrite()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        h.Now = 12_345;

        h.WrmsrOk(ApicMsrs.TscDeadline, h.Apic.ReadTsc(h.Now).Value);

        Assert.Equal(VectorSet.Of(0xEF), h.Apic.Irr);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Null(h.Apic.TimerDue);
        h.WrmsrOk(ApicMsrs.TscDeadline, 1);
        Assert.Equal(2, h.Fx.Local.Count);
    }

    [Fact]
    public void TscDeadline_FutureDeadline_ReadsBackAndFiresOnceWhenDue()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        h.Now = 1000;

        h.WrmsrOk(ApicMsrs.TscDeadline, 4000);

        Assert.Equal(4000ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Equal(4000L, h.Apic.TimerDue);
        Assert.Equal([4000L], h.Fx.Arms);
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.False(h.Apic.ExpireTimer(3999, h.Fx));
        Assert.True(h.ExpireDue());
        Assert.Equal(VectorSet.Of(0xEF), h.Apic.Irr);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Null(h.Apic.TimerDue);
        Assert.False(h.Apic.ExpireTimer(10_000, h.Fx));
        Assert.Single(h.Fx.Local);
    }

    [Theory]
    [InlineData(3_000_000_000L, 10ul, 4L)]
    [InlineData(3_000_000_000L, 9ul, 3L)]
    [InlineData(2_500_000_000L, 7ul, 3L)]
    [InlineData(1_000_000L, 1ul, 1000L)]
    [InlineData(1_000_000L, 3ul, 3000L)]
    public void TscDeadline_NonNanosecondTsc_DueAtFirstNsWithTscAtLeastDeadline(long tscHz, ulong deadline, long due)
    {
        using var h = ApicHarness.XApic(tscHz: tscHz);
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);

        h.WrmsrOk(ApicMsrs.TscDeadline, deadline);

        Assert.Equal(due, h.Apic.TimerDue);
        Assert.True(h.Apic.ReadTsc(due).Value >= deadline);
        Assert.True(h.Apic.ReadTsc(due - 1).Value < deadline);
    }

    [Fact]
    public void TscDeadline_NearTheLastNs_RestoredLater_IsNotArmedNorFired()
    {
        // Due 10 ns before the last representable ns (1 GHz TSC: one tick per ns). Restored 1 us later, the due time
        // moves past the end, where it is never reached: not armed, as when it is first computed, and not wrapped into
        // the past and fired.
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        h.Now = 5_000;
        var deadline = (ulong)(long.MaxValue - 10);
        h.WrmsrOk(ApicMsrs.TscDeadline, deadline);
        Assert.Equal(long.MaxValue - 10, h.Apic.TimerDue);
        var state = h.Apic.Save(h.Now);

        using var copy = ApicHarness.PowerOn();
        copy.Now = h.Now + 1_000;
        copy.Apic.Restore(state, copy.Now, copy.Fx);

        Assert.Null(copy.Apic.TimerDue);
        Assert.Empty(copy.Fx.Arms);
        Assert.False(copy.Apic.ExpireTimer(copy.Now, copy.Fx));
        Assert.Equal(deadline, copy.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.True(copy.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void OneShot_NearTheLastNs_RestoredLater_KeepsCountingAndDoesNotFireEarly()
    {
        // 1 GHz timer clock at divide 1: armed 10 ns before the end, restored 1 us later. The count goes on; the
        // expiry, now past the last ns, is not armed, so nothing fires before the count runs out.
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerDivide, 0xB);
        h.Now = long.MaxValue - 10 - 0xFFFF_FFFFL;
        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);
        Assert.Equal(long.MaxValue - 10, h.Apic.TimerDue);
        var state = h.Apic.Save(h.Now);

        using var copy = ApicHarness.PowerOn();
        copy.Now = h.Now + 1_000;
        copy.Apic.Restore(state, copy.Now, copy.Fx);

        Assert.Null(copy.Apic.TimerDue);
        Assert.False(copy.Apic.ExpireTimer(copy.Now, copy.Fx));
        Assert.Equal(0xFFFF_FFFFu, copy.R(ApicOffsets.TimerCurrentCount));
        copy.Now = long.MaxValue - 1;
        Assert.False(copy.Apic.ExpireTimer(copy.Now, copy.Fx));
        Assert.True(copy.R(ApicOffsets.TimerCurrentCount) > 0);
        Assert.True(copy.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void OneShot_BeyondTheLastNs_RestoredLater_StaysUnarmedAndCounting()
    {
        // A 1 Hz timer clock puts TMICT 0xFFFFFFFF at divide 128 past the last representable ns: never armed, and a
        // restore later keeps it so while the count goes on.
        using var h = ApicHarness.XApic(timerHz: 1);
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerDivide, 0xA);
        h.Now = 5_000;
        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);
        Assert.Null(h.Apic.TimerDue);
        var state = h.Apic.Save(h.Now);

        using var copy = ApicHarness.PowerOn(timerHz: 1);
        copy.Now = h.Now + 1_000;
        copy.Apic.Restore(state, copy.Now, copy.Fx);

        Assert.Null(copy.Apic.TimerDue);
        Assert.Empty(copy.Fx.Arms);
        Assert.False(copy.Apic.ExpireTimer(copy.Now, copy.Fx));
        Assert.Equal(0xFFFF_FFFFu, copy.R(ApicOffsets.TimerCurrentCount));
        copy.Now += 128L * 1_000_000_000;
        Assert.Equal(0xFFFF_FFFEu, copy.R(ApicOffsets.TimerCurrentCount));
        Assert.True(copy.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void TscDeadline_WriteZero_Disarms()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);
        h.WrmsrOk(ApicMsrs.TscDeadline, 4000);

        h.WrmsrOk(ApicMsrs.TscDeadline, 0);

        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.False(h.Apic.ExpireTimer(4000, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void TscDeadline_ModeIgnoresInitialCountAndCurrentCountReadsZero()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);

        h.W(ApicOffsets.TimerInitialCount, 1000);

        Assert.Equal(0u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Null(h.Apic.TimerDue);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(TimerPeriodic)]
    public void TscDeadline_OutsideDeadlineMode_ReadsZeroAndIgnoresWrites(uint mode)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, mode | 0xEF);
        h.Now = 1000;

        h.WrmsrOk(ApicMsrs.TscDeadline, 2000);

        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Null(h.Apic.TimerDue);
        Assert.Empty(h.Fx.Arms);
        Assert.False(h.Apic.ExpireTimer(5000, h.Fx));
    }

    [Fact]
    public void TscDeadline_InX2ApicMode_WorksThroughTheSameMsr()
    {
        using var h = ApicHarness.X2Apic();
        h.WrmsrOk(ApicHarness.Msr(ApicOffsets.LvtTimer), TimerTscDeadline | 0xEF);

        h.WrmsrOk(ApicMsrs.TscDeadline, 100);
        h.ExpireDue();

        Assert.Equal(0xEF, h.Ack());
    }

    [Fact]
    public void MaskedTimer_StillCountsButDeliversNothing()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, LvtMasked | 0xEE);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        h.W(ApicOffsets.TimerInitialCount, 0x1000);
        h.Now = 0x800;
        Assert.Equal(0x800u, h.R(ApicOffsets.TimerCurrentCount));

        Assert.True(h.ExpireDue());

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(0u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal((LvtSource.Timer, (byte)0xEE, AcceptOutcome.DroppedMasked), Assert.Single(h.Fx.Local));
        h.W(ApicOffsets.LvtTimer, 0xEE);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Null(h.Apic.TimerDue);
    }

    [Fact]
    public void MaskedTscDeadline_ExpiresWithoutDeliveringAndReadsZero()
    {
        // Profile: a masked timer delivers nothing; the deadline MSR reads 0 after firing.
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | LvtMasked | 0xEE);
        h.WrmsrOk(ApicMsrs.TscDeadline, 4000);

        Assert.True(h.ExpireDue());

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal((LvtSource.Timer, (byte)0xEE, AcceptOutcome.DroppedMasked), Assert.Single(h.Fx.Local));
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Null(h.Apic.TimerDue);
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEE);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Null(h.Apic.TimerDue);
    }

    [Fact]
    public void Timer_IllegalVector_RecordsReceiveErrorOnExpiry()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, 0x0F);
        h.W(ApicOffsets.TimerInitialCount, 10);

        h.ExpireDue();

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(EsrReceiveIllegalVector, h.LatchEsr());
    }

    [Fact]
    public void Timer_SoftwareDisableMasksButKeepsCounting()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 100);

        h.W(ApicOffsets.Svr, SvrReset);

        Assert.Equal(100L, h.Apic.TimerDue);
        Assert.True(h.ExpireDue());
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(200L, h.Apic.TimerDue);
    }

    [Theory]
    [InlineData(0L, 1_000_000_000L, 0ul)]
    [InlineData(1L, 3_000_000_000L, 3ul)]
    [InlineData(999L, 2_500_000_000L, 2497ul)]
    [InlineData(3_600_000_000_000L, 2_999_999_999L, 10_799_999_996_400ul)]
    [InlineData(long.MaxValue, 1_000_000_000L, (ulong)long.MaxValue)]
    public void ReadTsc_IsFloorOfNsTimesTscHz(long now, long tscHz, ulong expected)
    {
        using var h = ApicHarness.XApic(tscHz: tscHz);

        Assert.Equal(AccessResult.Of(expected), h.Apic.ReadTsc(now));
    }
    [Fact]
    public void Periodic_ManyExpiriesDueAtOnce_AreTakenInOneCall_WithTheExactCountAndNextExpiry()
    {
        using var h = DivideByOne();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 1);
        const long second = NsPerSecond;

        Assert.Equal(second, h.Apic.LastTimerDueBy(second));
        Assert.Equal((ulong)second, h.Apic.ExpireTimers(second, h.Fx));
        h.Now = second;

        Assert.Equal(second + 1, h.Apic.TimerDue);
        Assert.Equal(1u, h.R(ApicOffsets.TimerCurrentCount));
        Assert.True(h.Apic.Irr.Contains(0xEE));
        // One fire for the first expiry and one standing for all the others, which find the vector pending.
        Assert.Equal(
            [(LvtSource.Timer, (byte)0xEE, AcceptOutcome.Accepted), (LvtSource.Timer, (byte)0xEE, AcceptOutcome.Coalesced)],
            h.Fx.Local);
        Assert.Equal(0ul, h.Apic.ExpireTimers(second, h.Fx));
    }

    [Theory]
    [InlineData(300_000_000L, 0xBu, 3u, 10_000_005L)]
    [InlineData(1_000_000_000L, 0x0u, 7u, 999_999L)]
    [InlineData(4_000_000_000L, 0xBu, 1u, 1_000_001L)]
    public void Periodic_TakingTheExpiriesDueByATime_LeavesTheSameTimerAsTakingThemOneByOne(long hz, uint dcr, uint count, long until)
    {
        using var together = ApicHarness.XApic(timerHz: hz);
        using var oneByOne = ApicHarness.XApic(timerHz: hz);
        foreach (var h in new[] { together, oneByOne })
        {
            h.W(ApicOffsets.TimerDivide, dcr);
            h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
            h.W(ApicOffsets.TimerInitialCount, count);
        }
        var last = together.Apic.LastTimerDueBy(until);

        var taken = together.Apic.ExpireTimers(last!.Value, together.Fx);

        ulong expiries = 0;
        long lastAt = -1;
        while (oneByOne.Apic.TimerDue is long due && due <= until)
        {
            expiries += oneByOne.Apic.ExpireTimers(due, oneByOne.Fx);
            lastAt = due;
        }
        Assert.Equal(expiries, taken);
        Assert.Equal(lastAt, last);
        Assert.Equal(oneByOne.Apic.TimerDue, together.Apic.TimerDue);
        together.Now = oneByOne.Now = until;
        Assert.Equal(oneByOne.R(ApicOffsets.TimerCurrentCount), together.R(ApicOffsets.TimerCurrentCount));
        Assert.Equal(oneByOne.Apic.Irr, together.Apic.Irr);
    }

    [Fact]
    public void Periodic_CurrentCount_StaysExactWhenTheTicksSinceTheStartPassSixtyFourBits()
    {
        const long hz = 1_000_000_000_000;
        using var h = ApicHarness.XApic(timerHz: hz);
        h.W(ApicOffsets.TimerDivide, 0xA);
        h.W(ApicOffsets.LvtTimer, LvtMasked | TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);
        var period = (BigInteger)0xFFFF_FFFF * 128;
        // 2^64 ticks of a 1 THz clock pass after about 213 days.
        h.Now = 20_000_000_000_000_123;
        var elapsed = TicksSince(0, h.Now, hz);
        Assert.True(elapsed > ulong.MaxValue);
        var next = (elapsed / period + 1) * period;

        Assert.Equal(ExpectedCount(next, elapsed, 128), h.R(ApicOffsets.TimerCurrentCount));
    }

    [Fact]
    public void Expiries_PastTheLastNanosecond_AreNeverArmed_AndTheTimerKeepsCounting()
    {
        // 0xFFFFFFFF · 128 ticks of a 1 Hz clock take about 5.5·10^20 ns, past 2^63 - 1.
        using var h = ApicHarness.XApic(timerHz: 1);
        h.W(ApicOffsets.TimerDivide, 0xA);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);

        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(0ul, h.Apic.ExpireTimers(long.MaxValue, h.Fx));
        h.Now = long.MaxValue;
        var elapsed = TicksSince(0, long.MaxValue, 1);
        Assert.Equal(ExpectedCount((BigInteger)0xFFFF_FFFF * 128, elapsed, 128), h.R(ApicOffsets.TimerCurrentCount));
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void Periodic_NextExpiryPastTheLastNanosecond_IsNotArmed()
    {
        // One period is about 4.3·10^18 ns: the second expiry is before 2^63 - 1, the third past it.
        using var h = ApicHarness.XApic(timerHz: 1);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 0xFFFF_FFFF);

        Assert.True(h.ExpireDue());
        Assert.True(h.ExpireDue());

        Assert.Equal(2 * 0xFFFF_FFFFL * NsPerSecond, h.Now);
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.True(h.Apic.Irr.Contains(0xEE));
    }

    [Fact]
    public void TscDeadline_PastTheLastNanosecond_IsKeptButNeverArmed()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEF);

        Assert.Equal(AccessStatus.Ok, h.Apic.WriteMsr(ApicMsrs.TscDeadline, ulong.MaxValue, h.Now, h.Fx).Status);

        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(0ul, h.Apic.ExpireTimers(long.MaxValue, h.Fx));
        Assert.Equal(AccessResult.Of(ulong.MaxValue), h.Apic.ReadMsr(ApicMsrs.TscDeadline, long.MaxValue, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);
    }
}
