using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>The message trace: one event per state change, numbered per APIC, stamped with virtual time.</summary>
public sealed class TraceSpecs : VmSpecBase
{
    public TraceSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task AnIpi_IsTracedAtTheSenderAndTheReceiver()
    {
        await StartVm(2, apicIds: [3, 5]);
        await EnableAll();
        await Vm.SetClockAsync(42);

        await Ipi(0, 5, Icr.Assert | 0x31);
        await Vm.AcknowledgeAsync(1);
        await Vm.EoiAsync(1);

        var sender = Trace.Events.Where(e => e.ApicId == 3).ToArray();
        Assert.Equal(Enumerable.Range(1, sender.Length).Select(i => (long)i), sender.Select(e => e.Seq));
        Assert.Equal("ApicCreated", sender[0].Event);
        sender = sender[1..];
        Assert.Equal(new[] { "MmioWrite", "ModeChanged", "MmioWrite", "MmioWrite", "IpiSent" }, sender.Select(e => e.Event));
        Assert.Equal("SVR", sender[0].Register);
        Assert.Contains("enabled=True", sender[1].Detail);
        Assert.Equal(("ICR2", 0x0500_0000UL), (sender[2].Register, sender[2].Value!.Value));
        Assert.Equal(("ICR", 0x4031UL), (sender[3].Register, sender[3].Value!.Value));
        var sent = sender[4];
        Assert.Equal(("physical 0x5", 0x31, 42L), (sent.Destination, sent.Vector, sent.VirtualTimeNs));
        Assert.Equal("test", sent.Vm);

        var receiver = Trace.Events.Where(e => e.ApicId == 5).ToArray();
        Assert.Equal(Enumerable.Range(1, receiver.Length).Select(i => (long)i), receiver.Select(e => e.Seq));
        Assert.Equal("ApicCreated", receiver[0].Event);
        receiver = receiver[1..];
        Assert.Equal(new[] { "MmioWrite", "ModeChanged", "Accepted", "Acknowledged", "Eoi" }, receiver.Select(e => e.Event));
        Assert.Equal((3u, 0x31, nameof(AcceptOutcome.Accepted)), (receiver[2].Source!.Value, receiver[2].Vector!.Value, receiver[2].Detail));
        Assert.Equal(0x31, receiver[3].Vector);
    }

    [Fact]
    public async Task ModeChangesAndMsrAccesses_AreTraced()
    {
        await StartVm(1);

        await Wrmsr(0, ApicMsrs.ApicBase, 0xFEE0_0D00);
        await Wrmsr(0, ToMsr(Svr), Values.SvrEnabled);
        await Wrmsr(0, ApicMsrs.TscDeadline, 7);

        var events = Trace.Events.Where(e => e.Event != "ApicCreated").ToArray();
        Assert.Equal(new[] { "MsrWrite", "ModeChanged", "MsrWrite", "ModeChanged", "MsrWrite" }, events.Select(e => e.Event));
        Assert.Equal("APIC_BASE", events[0].Register);
        Assert.StartsWith("mode=X2Apic", events[1].Detail);
        Assert.Equal(("SVR", (ulong)Values.SvrEnabled), (events[2].Register, events[2].Value!.Value));
        Assert.Equal("TSC_DEADLINE", events[4].Register);
    }

    [Fact]
    public async Task DisabledSink_ReceivesNothing()
    {
        var sink = new SwitchableSink();
        var vm = await VmHandle.CreateAsync(Sys, new VmSpec("quiet", 1), sink);

        await vm.WriteMmioAsync(0, Values.DefaultBase + Svr, 4, Values.SvrEnabled);
        sink.On = true;
        await vm.WriteMmioAsync(0, Values.DefaultBase + Tpr, 4, 0x10);

        var only = Assert.Single(sink.Events);
        Assert.Equal(("TPR", 1L), (only.Register, only.Seq));
    }

    private sealed class SwitchableSink : ITraceSink
    {
        private readonly List<TraceEvent> _events = new();

        public volatile bool On;

        public bool Enabled => On;

        public IReadOnlyList<TraceEvent> Events
        {
            get
            {
                lock (_events)
                {
                    return _events.ToArray();
                }
            }
        }

        public void Write(in TraceEvent traceEvent)
        {
            lock (_events)
            {
                _events.Add(traceEvent);
            }
        }
    }
}
