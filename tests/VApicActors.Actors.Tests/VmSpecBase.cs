using Akka.Configuration;
using Akka.TestKit.Xunit2;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;

namespace VApicActors.Actors.Tests;

/// <summary>
/// A TestKit with one VM driven through <see cref="VmHandle"/>, and the guest's register accesses as short
/// helpers: <c>W</c>/<c>R</c> for xAPIC MMIO, <c>Wrmsr</c>/<c>Rdmsr</c> for MSRs.
/// </summary>
public abstract class VmSpecBase : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = INFO
        akka.stdout-loglevel = WARNING
        """);

    protected VmSpecBase(ITestOutputHelper output)
        : base(TestConfig, output: output)
    {
    }

    protected VmHandle Vm { get; private set; } = null!;

    protected RecordingTraceSink Trace { get; } = new();

    protected async Task<VmHandle> StartVm(int vcpus, bool x2Apic = false, uint[]? apicIds = null, bool bootAll = true,
        long timerHz = ApicConfig.DefaultHz, long tscHz = ApicConfig.DefaultHz)
    {
        Vm = await VmHandle.CreateAsync(Sys, new VmSpec("test", vcpus, x2Apic, apicIds, bootAll, timerHz, tscHz), Trace);
        return Vm;
    }

    protected async Task W(int cpu, uint offset, uint value)
    {
        var result = await Vm.WriteMmioAsync(cpu, Values.DefaultBase + offset, 4, value);
        Assert.Equal(AccessStatus.Ok, result.Status);
    }

    protected async Task<uint> R(int cpu, uint offset)
    {
        var result = await Vm.ReadMmioAsync(cpu, Values.DefaultBase + offset, 4);
        Assert.Equal(AccessStatus.Ok, result.Status);
        return (uint)result.Value;
    }

    protected async Task Wrmsr(int cpu, uint msr, ulong value)
    {
        var result = await Vm.WriteMsrAsync(cpu, msr, value);
        Assert.Equal(AccessStatus.Ok, result.Status);
    }

    protected async Task<ulong> Rdmsr(int cpu, uint msr)
    {
        var result = await Vm.ReadMsrAsync(cpu, msr);
        Assert.Equal(AccessStatus.Ok, result.Status);
        return result.Value;
    }

    /// <summary>Sends an xAPIC IPI from <paramref name="cpu"/>: ICR high, then ICR low.</summary>
    protected async Task Ipi(int cpu, uint destination, uint low)
    {
        await W(cpu, ApicOffsets.IcrHigh, Icr.Destination(destination));
        await W(cpu, ApicOffsets.IcrLow, low);
    }

    /// <summary>Software-enables every APIC (xAPIC SVR or x2APIC MSR 0x80F).</summary>
    protected async Task EnableAll(uint svr = Values.SvrEnabled)
    {
        for (var cpu = 0; cpu < Vm.VcpuCount; cpu++)
        {
            if (Vm.Spec.X2Apic)
            {
                await Wrmsr(cpu, ApicOffsets.ToMsr(ApicOffsets.Svr), svr);
            }
            else
            {
                await W(cpu, ApicOffsets.Svr, svr);
            }
        }
    }

    protected async Task<VectorSet> Irr(int cpu) => (await Vm.SnapshotAsync(cpu)).Irr;

    /// <summary>
    /// The vCPUs holding <paramref name="vector"/> in IRR, in index order; each takes it (ack) and EOIs it,
    /// so the next send starts clean.
    /// </summary>
    protected async Task<int[]> Drain(int vector)
    {
        var receivers = new List<int>();
        for (var cpu = 0; cpu < Vm.VcpuCount; cpu++)
        {
            if (!(await Irr(cpu)).Contains(vector))
            {
                continue;
            }
            receivers.Add(cpu);
            var ack = await Vm.AcknowledgeAsync(cpu);
            Assert.Equal(AccessResult.Of((ulong)vector), ack);
            Assert.Equal(AccessStatus.Ok, (await Vm.EoiAsync(cpu)).Status);
        }
        return receivers.ToArray();
    }

    /// <summary>How many messages with <paramref name="vector"/> each APIC ID accepted or coalesced, by the trace.</summary>
    /// <summary>
    /// Deliveries of <paramref name="vector"/> per APIC ID, as traced. A write's answer can reach the test before its
    /// target has taken the delivery from its mailbox, so every vCPU is asked first (<see cref="Settle"/>).
    /// </summary>
    protected async Task<Dictionary<uint, int>> Deliveries(int vector)
    {
        await Settle();
        return Trace.Events
            .Where(e => e.Event is "Accepted" or "Coalesced" or "Msi" && e.Vector == vector)
            .GroupBy(e => e.ApicId)
            .ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>
    /// Waits until every vCPU has handled what was sent to it before this call: each answers a query that sits in
    /// its mailbox behind those messages. Call it before reading the trace directly.
    /// </summary>
    protected async Task Settle()
    {
        for (var cpu = 0; cpu < Vm.VcpuCount; cpu++)
        {
            await Vm.PendingAsync(cpu);
        }
    }
}
