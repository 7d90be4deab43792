using VApicActors.Actors;
using VApicActors.Host.Stress;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.Stress;

/// <summary>
/// A vector left in IRR or ISR after the drain is named with the trace event that left it there: the invariants
/// <c>irr-and-isr-empty</c> and <c>accepted-acknowledged-and-eoied</c> named the vCPU and the vectors but no trace
/// sequence number.
/// </summary>
public sealed class StressCheckerLeftTests
{
    private const string Vm = "stress-0";
    private static readonly uint[] Ids = [0, 1, 2];

    private static StressTraceRecorder Recorder(int capacity = 1000) => new([(Vm, Ids)], capacity);

    [Fact]
    public void AVectorLeftPending_IsNamedWithItsLastAcceptance_AndOneLeftInService_WithItsAcknowledge()
    {
        var r = Recorder();
        r.Write(new TraceEvent(Vm, 1, 10, "Accepted", 0, Vector: 0x41, Source: 2, Detail: "Accepted", SourceSeq: 9));
        r.Write(new TraceEvent(Vm, 1, 11, "Acknowledged", 0, Vector: 0x41, Detail: "Ok 0x41"));
        r.Write(new TraceEvent(Vm, 1, 15, "Accepted", 0, Vector: 0x41, Source: 0, Detail: "Accepted", SourceSeq: 14));
        r.Write(new TraceEvent(Vm, 1, 16, "Coalesced", 0, Vector: 0x41, Source: 2, Detail: "Coalesced", SourceSeq: 13));
        r.Write(new TraceEvent(Vm, 1, 20, "Acknowledged", 0, Vector: 0x31, Detail: "Ok 0x31"));
        // Another APIC's events say nothing of this one.
        r.Write(new TraceEvent(Vm, 2, 21, "Accepted", 0, Vector: 0x51, Source: 1, Detail: "Accepted", SourceSeq: 3));

        var text = StressChecker.LocateLeft(r, Vm, 1, VectorSet.Of(0x41, 0x51), VectorSet.Of(0x31));

        Assert.Equal("0x41 pending since trace seq 15 (accepted from APIC 0x0), never acknowledged; "
            + "0x51 pending, no acceptance of it traced; "
            + "0x31 in service since its acknowledge at trace seq 20, never EOI'd", text);
    }

    [Fact]
    public void LocalInterruptsAndMsis_AreNamedAsSuch_OnlyWhenTheyWereAccepted()
    {
        var r = Recorder();
        r.Write(new TraceEvent(Vm, 0, 3, "TimerFired", 0, Register: "LVTT", Value: 100, Vector: 0xEC, Detail: "Accepted"));
        r.Write(new TraceEvent(Vm, 0, 4, "TimerFired", 0, Register: "LVTT", Value: 200, Vector: 0xEC, Detail: "Coalesced expiries=3"));
        r.Write(new TraceEvent(Vm, 0, 5, "Msi", 0, Vector: 0x61, Detail: "Accepted"));
        r.Write(new TraceEvent(Vm, 0, 6, "Msi", 0, Vector: 0x62, Detail: "DroppedIllegalVector"));
        r.Write(new TraceEvent(Vm, 0, 7, "Lint", 0, Register: "LINT0", Vector: 0x70, Detail: "Accepted"));

        var text = StressChecker.LocateLeft(r, Vm, 0, VectorSet.Of(0x61, 0x62, 0x70, 0xEC), VectorSet.Empty);

        Assert.Equal("0x61 pending since trace seq 5 (an MSI accepted), never acknowledged; "
            + "0x62 pending, no acceptance of it traced; "
            + "0x70 pending since trace seq 7 (a LINT pin fired), never acknowledged; "
            + "0xEC pending since trace seq 3 (the timer fired), never acknowledged", text);
    }

    [Fact]
    public void AFullRecorder_StillKnowsTheLastAcceptance_AndNoRecorderSaysTraceCheckIsOff()
    {
        var r = Recorder(capacity: 0);
        for (var seq = 1; seq <= 40; seq++)
        {
            r.Write(new TraceEvent(Vm, 2, seq, "Accepted", 0, Vector: 0x41, Source: 1, Detail: "Accepted", SourceSeq: 1000 + seq));
        }
        Assert.True(r.IsFull(Vm, 2));

        Assert.Equal("0x41 pending since trace seq 40 (accepted from APIC 0x1), never acknowledged",
            StressChecker.LocateLeft(r, Vm, 2, VectorSet.Of(0x41), VectorSet.Empty));
        Assert.Equal("trace-check is off: no trace sequence numbers", StressChecker.LocateLeft(null, Vm, 2, VectorSet.Of(0x41), VectorSet.Empty));
    }
}
