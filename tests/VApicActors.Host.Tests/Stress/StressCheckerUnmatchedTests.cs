using VApicActors.Actors;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Stress;

/// <summary>
/// A lowest-priority IPI or an NMI that did not reach exactly one APIC is named with its sender and trace sequence
/// numbers: the lowest-priority invariant compared only the VM's totals, so a violation named neither a vCPU nor an
/// event, and the NMI invariant named the vCPU but no event.
/// </summary>
public sealed class StressCheckerUnmatchedTests
{
    private const string Vm = "stress-0";
    private static readonly uint[] Ids = [0, 1, 2];

    private static string Name(int i) => "vCPU " + i + " (APIC 0x" + Ids[i].ToString("X") + ")";

    private static StressTraceRecorder Recorder(int capacity = 1000) => new([(Vm, Ids)], capacity);

    private static void Send(StressTraceRecorder r, uint from, long seq) =>
        r.Write(new TraceEvent(Vm, from, seq, "IpiSent", 0, Vector: StressWorld.LowestPriorityVector, Destination: "logical 0x6", Detail: "LowestPriority"));

    private static void Receive(StressTraceRecorder r, uint at, long seq, uint from, long sourceSeq) =>
        r.Write(new TraceEvent(Vm, at, seq, "Accepted", 0, Vector: StressWorld.LowestPriorityVector, Source: from, Detail: "Accepted", SourceSeq: sourceSeq));

    [Fact]
    public void ASendReceivedByNoApic_IsNamedWithItsSenderAndSeq()
    {
        var r = Recorder();
        Send(r, 0, 5);
        Receive(r, 1, 6, 0, 5);
        Send(r, 0, 9);

        var text = StressChecker.LocateUnmatched(r, Vm, Ids, Name, TraceRecordKind.LowestPrioritySent);

        Assert.Equal("; first unmatched: vector 0xE0 sent by vCPU 0 (APIC 0x0) at trace seq 9 (logical 0x6), received by no APIC", text);
    }

    [Fact]
    public void ASendReceivedByTwoApics_NamesBothDeliveries()
    {
        var r = Recorder();
        Send(r, 2, 12);
        Receive(r, 1, 13, 2, 12);
        Receive(r, 0, 14, 2, 12);

        var text = StressChecker.LocateUnmatched(r, Vm, Ids, Name, TraceRecordKind.LowestPrioritySent);

        Assert.Equal("; first unmatched: vector 0xE0 sent by vCPU 2 (APIC 0x2) at trace seq 12 (logical 0x6), received by 2 APICs: "
            + "vCPU 0 (APIC 0x0) at trace seq 14, vCPU 1 (APIC 0x1) at trace seq 13", text);
    }

    [Fact]
    public void AnNmiReceivedByNoApic_IsNamedWithItsSenderAndSeq_NotTheIpisBesideIt()
    {
        var r = Recorder();
        r.Write(new TraceEvent(Vm, 1, 3, "IpiSent", 0, Vector: 0, Destination: "physical 0x2", Detail: "Nmi"));
        r.Write(new TraceEvent(Vm, 2, 4, "Nmi", 0, Vector: 0, Source: 1, Detail: "NmiDelivered", SourceSeq: 3));
        r.Write(new TraceEvent(Vm, 1, 7, "IpiSent", 0, Vector: 0, Destination: "physical 0x0", Detail: "Nmi"));
        Send(r, 0, 8);

        var text = StressChecker.LocateUnmatched(r, Vm, Ids, Name, TraceRecordKind.NmiSent);

        Assert.Equal("; first unmatched: NMI sent by vCPU 1 (APIC 0x1) at trace seq 7 (physical 0x0), received by no APIC", text);
    }

    [Fact]
    public void EverySendReceivedOnce_NamesNone_AndATruncatedTraceSaysSo()
    {
        var r = Recorder();
        Send(r, 0, 1);
        Receive(r, 2, 2, 0, 1);
        Assert.Equal("; no unmatched send found in the kept trace", StressChecker.LocateUnmatched(r, Vm, Ids, Name, TraceRecordKind.LowestPrioritySent));

        // A receiver whose kept events filled up may have received what seems received by none.
        var full = Recorder(capacity: 0);
        for (var seq = 1; seq <= 20; seq++)
        {
            Receive(full, 1, seq, 2, 100 + seq);
        }
        Send(full, 0, 50);
        Assert.Equal("; no unmatched send found in the kept trace (the kept trace was truncated: raise trace-check-capacity)",
            StressChecker.LocateUnmatched(full, Vm, Ids, Name, TraceRecordKind.LowestPrioritySent));
    }
}
