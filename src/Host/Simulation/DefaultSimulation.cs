using VApicActors.Actors;
using VApicActors.Host.Configuration;
using VApicActors.Registers;

namespace VApicActors.Host.Simulation;

/// <summary>
/// The default simulation: a VM whose vCPUs come up the way Linux brings up its CPUs, then a stretch of
/// virtual time with a TSC-deadline tick on every vCPU and reschedule/call-function IPIs between them,
/// each interrupt taken and EOI'd. Driven sequentially through <see cref="VmHandle"/>; the pseudo-random
/// choices come from a seeded generator, so a run is fully determined by its settings.
/// </summary>
public sealed class DefaultSimulation
{
    private const double NsPerSecond = 1e9;
    // The mix of IPI kinds (the rest are irq_work self IPIs).
    private const double RescheduleShare = 0.5;
    private const double CallFunctionSingleShare = 0.25;
    private const double CallFunctionShare = 0.15;

    private readonly VmHandle _vm;
    private readonly SimulationSettings _settings;
    private readonly GuestCpu[] _cpus;
    private readonly bool _flatLogical;
    // x2apic_cluster (x2APIC mode, unless the guest uses x2apic_phys): IPIs to one CPU are logical.
    private readonly bool _x2ApicCluster;
    // x2apic_cluster: each CPU's logical ID as init_x2apic_ldr reads it from its LDR.
    private readonly uint[] _x2ApicLogicalIds;
    private readonly Counters[] _counters;
    private readonly long[] _timerDue;
    private readonly ulong _tickTsc;

    public DefaultSimulation(VmHandle vm, SimulationSettings settings)
    {
        _vm = vm ?? throw new ArgumentNullException(nameof(vm));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        var x2Apic = settings.Mode == ApicModeSetting.X2Apic;
        var ids = settings.EffectiveApicIds;
        _cpus = Enumerable.Range(0, settings.Vcpus).Select(i => new GuestCpu(vm, i, ids[i], x2Apic)).ToArray();
        _flatLogical = !x2Apic && settings.Vcpus <= LinuxApic.MaxFlatCpus;
        _x2ApicCluster = x2Apic && settings.X2ApicDestinations == X2ApicDestinationSetting.Cluster;
        _x2ApicLogicalIds = new uint[settings.Vcpus];
        _counters = Enumerable.Range(0, settings.Vcpus).Select(_ => new Counters()).ToArray();
        _timerDue = Enumerable.Repeat(long.MaxValue, settings.Vcpus).ToArray();
        _tickTsc = TickTscDelta(settings.TickPeriodNs, settings.TscHz);
    }

    /// <summary>
    /// The VM the default simulation creates. Its APICs start in xAPIC mode, as firmware leaves them, and in x2APIC mode
    /// the kernel enables x2APIC on each CPU itself; only when an APIC ID does not fit an xAPIC (above 0xFE) does the
    /// firmware hand the machine over in x2APIC mode already.
    /// </summary>
    public static VmSpec Spec(string name, SimulationSettings s) => new(
        name,
        s.Vcpus,
        FirmwareEnablesX2Apic(s),
        s.ApicIds.Count > 0 ? s.ApicIds : null,
        s.Boot == BootSetting.All,
        s.TimerHz,
        s.TscHz);

    /// <summary>True when the firmware must start the APICs in x2APIC mode: an APIC ID above the xAPIC range.</summary>
    public static bool FirmwareEnablesX2Apic(SimulationSettings s) =>
        s.Mode == ApicModeSetting.X2Apic && s.EffectiveApicIds.Any(id => id > LinuxApic.MaxXApicId);

    /// <summary>Brings the VM up, runs the workload and reports what every vCPU did.</summary>
    public async Task<SimulationReport> RunAsync(CancellationToken cancellationToken = default)
    {
        await BringUpAsync(cancellationToken).ConfigureAwait(false);
        var bringUpEnd = await _vm.ClockAsync().ConfigureAwait(false);
        var end = await RunWorkloadAsync(bringUpEnd, cancellationToken).ConfigureAwait(false);

        var reports = new List<VcpuReport>(_cpus.Length);
        for (var i = 0; i < _cpus.Length; i++)
        {
            var snapshot = await _vm.SnapshotAsync(i).ConfigureAwait(false);
            if (!snapshot.Isr.IsEmpty)
            {
                throw new SimulationException($"vCPU {i}: interrupts {snapshot.Isr} still in service at the end");
            }
            var c = _counters[i];
            reports.Add(new VcpuReport(
                i, _cpus[i].ApicId, snapshot.RunState == VcpuRunState.Running,
                new SortedDictionary<int, int>(c.Taken), c.TimerTicks, c.IpisSent, c.IpisReceived));
        }

        var sent = reports.Sum(r => r.IpisSent);
        var received = reports.Sum(r => r.IpisReceived);
        if (sent != received)
        {
            throw new SimulationException($"{sent} IPIs were sent but {received} were taken");
        }
        return new SimulationReport(_vm.Spec.Name, _settings, bringUpEnd, end, reports);
    }

    private async Task BringUpAsync(CancellationToken cancellationToken)
    {
        var bsp = _cpus[0];
        await SetupLocalApicAsync(bsp).ConfigureAwait(false);
        if (_settings.Boot == BootSetting.Bsp && _settings.BringUp == BringUpSetting.Parallel)
        {
            await BringUpInParallelAsync(bsp, cancellationToken).ConfigureAwait(false);
            return;
        }
        for (var i = 1; i < _cpus.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_settings.Boot == BootSetting.Bsp)
            {
                await WakeSecondaryCpuAsync(bsp, _cpus[i]).ConfigureAwait(false);
            }
            await SetupLocalApicAsync(_cpus[i]).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Linux's parallel bring-up: the control CPU kicks every AP first (cpuhp_bringup_mask up to CPUHP_BP_KICK_AP, each
    /// with the whole of wakeup_secondary_cpu_via_init), and the APs run in parallel only up to cpuhp_ap_sync_alive(),
    /// before they touch their APICs. Then it releases them one at a time, and each sets up its APIC (ap_starting →
    /// setup_local_APIC) before the next is released. So the APIC sees every INIT and SIPI back to back, then the
    /// setups in turn.
    /// </summary>
    private async Task BringUpInParallelAsync(GuestCpu bsp, CancellationToken cancellationToken)
    {
        for (var i = 1; i < _cpus.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await KickSecondaryCpuAsync(bsp, _cpus[i]).ConfigureAwait(false);
        }
        for (var i = 1; i < _cpus.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await EnsureStartedAsync(_cpus[i]).ConfigureAwait(false);
            await SetupLocalApicAsync(_cpus[i]).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The APIC mode (x2apic_setup / __x2apic_enable), setup_local_APIC() and end_local_APIC_setup() on one CPU, then
    /// the TSC-deadline timer mode.
    /// </summary>
    private async Task SetupLocalApicAsync(GuestCpu cpu)
    {
        var isBsp = cpu.Index == 0;

        // The kernel reads IA32_APIC_BASE before it touches the APIC: the boot CPU must carry the BSP bit
        // (check_for_real_bsp), and in x2APIC mode every CPU sets EXTD unless the firmware already did (__x2apic_enable).
        var apicBase = await cpu.ReadApicBaseAsync().ConfigureAwait(false);
        if (isBsp && (apicBase & LinuxApic.ApicBaseBsp) == 0)
        {
            throw new SimulationException($"Enumerated BSP APIC {cpu.ApicId:X} is not marked in APICBASE MSR (0x{apicBase:X})");
        }
        if (cpu.X2Apic && (apicBase & LinuxApic.ApicBaseX2ApicEnable) == 0)
        {
            await cpu.WriteApicBaseAsync(apicBase | LinuxApic.ApicBaseX2ApicEnable).ConfigureAwait(false);
        }

        var svr = await cpu.ReadAsync(ApicOffsets.Svr).ConfigureAwait(false);
        await cpu.WriteAsync(ApicOffsets.Svr, svr & ~LinuxApic.SvrSoftwareEnable).ConfigureAwait(false);

        if (_flatLogical)
        {
            await cpu.WriteAsync(ApicOffsets.Dfr, LinuxApic.DfrFlat).ConfigureAwait(false);
            var ldr = await cpu.ReadAsync(ApicOffsets.Ldr).ConfigureAwait(false);
            await cpu.WriteAsync(ApicOffsets.Ldr, (ldr & LinuxApic.LdrLowMask) | (1u << cpu.Index << LinuxApic.LdrShift)).ConfigureAwait(false);
        }
        else if (_x2ApicCluster)
        {
            // init_x2apic_ldr: the LDR is read-only in x2APIC mode; the kernel keeps what it reads as the CPU's logical ID.
            _x2ApicLogicalIds[cpu.Index] = await cpu.ReadAsync(ApicOffsets.Ldr).ConfigureAwait(false);
        }

        var tpr = await cpu.ReadAsync(ApicOffsets.Tpr).ConfigureAwait(false);
        await cpu.WriteAsync(ApicOffsets.Tpr, (tpr & ~LinuxApic.TprMask) | LinuxApic.BootTaskPriority).ConfigureAwait(false);

        await ClearPendingInterruptsAsync(cpu).ConfigureAwait(false);

        svr = await cpu.ReadAsync(ApicOffsets.Svr).ConfigureAwait(false);
        await cpu.WriteAsync(ApicOffsets.Svr, (svr & ~LinuxApic.SvrVectorMask) | LinuxApic.SvrSoftwareEnable | (uint)LinuxApic.SpuriousVector).ConfigureAwait(false);

        await cpu.WriteAsync(ApicOffsets.LvtPmc, LinuxApic.DeliveryNmi).ConfigureAwait(false);

        // The VM has an I/O APIC, so LINT0 stays masked ExtINT on every CPU; LINT1 is the NMI pin of the BSP only.
        var lint0 = await cpu.ReadAsync(ApicOffsets.LvtLint0).ConfigureAwait(false);
        var lint0Value = isBsp && (lint0 & LinuxApic.LvtMasked) == 0
            ? LinuxApic.DeliveryExtInt
            : LinuxApic.DeliveryExtInt | LinuxApic.LvtMasked;
        await cpu.WriteAsync(ApicOffsets.LvtLint0, lint0Value).ConfigureAwait(false);
        await IsIntegratedAsync(cpu).ConfigureAwait(false); // an 82489DX would need a level-triggered LINT1
        await cpu.WriteAsync(ApicOffsets.LvtLint1, isBsp ? LinuxApic.DeliveryNmi : LinuxApic.DeliveryNmi | LinuxApic.LvtMasked).ConfigureAwait(false);

        // lapic_setup_esr: an 82489DX has no ESR, then lapic_get_maxlvt.
        await IsIntegratedAsync(cpu).ConfigureAwait(false);
        var esrPreWrite = await EsrPreWriteAsync(cpu).ConfigureAwait(false);
        await ClearErrorsAsync(cpu, esrPreWrite).ConfigureAwait(false);
        await cpu.WriteAsync(ApicOffsets.LvtError, LinuxApic.ErrorVector).ConfigureAwait(false);
        var esr = await ClearErrorsAsync(cpu, esrPreWrite).ConfigureAwait(false);
        if (esr != 0)
        {
            throw new SimulationException($"vCPU {cpu.Index}: ESR reads 0x{esr:X} after setup");
        }

        await cpu.WriteAsync(ApicOffsets.LvtTimer, LinuxApic.TimerTscDeadline | LinuxApic.LocalTimerVector).ConfigureAwait(false);
    }

    /// <summary>apic_pending_intr_clear: EOI whatever is in service until IRR and ISR are empty.</summary>
    private static async Task ClearPendingInterruptsAsync(GuestCpu cpu)
    {
        for (var round = 0; round < LinuxApic.PendingClearRounds; round++)
        {
            var pending = false;
            for (var r = 0; r < LinuxApic.VectorRegisters; r++)
            {
                pending |= await cpu.ReadAsync(ApicOffsets.Irr0 + (uint)r * ApicOffsets.Stride).ConfigureAwait(false) != 0;
            }
            for (var r = 0; r < LinuxApic.VectorRegisters; r++)
            {
                var isr = await cpu.ReadAsync(ApicOffsets.Isr0 + (uint)r * ApicOffsets.Stride).ConfigureAwait(false);
                for (var bit = 0; bit < LinuxApic.VectorsPerRegister; bit++)
                {
                    if ((isr & (1u << bit)) != 0)
                    {
                        await cpu.WriteAsync(ApicOffsets.Eoi, 0).ConfigureAwait(false);
                        pending = true;
                    }
                }
            }
            if (!pending)
            {
                return;
            }
        }
        throw new SimulationException($"vCPU {cpu.Index}: IRR/ISR did not clear after {LinuxApic.PendingClearRounds} rounds");
    }

    /// <summary>Write ESR (latching errors) when <paramref name="preWrite"/>, then read it.</summary>
    private static async Task<uint> ClearErrorsAsync(GuestCpu cpu, bool preWrite)
    {
        if (preWrite)
        {
            await cpu.WriteAsync(ApicOffsets.Esr, 0).ConfigureAwait(false);
        }
        return await cpu.ReadAsync(ApicOffsets.Esr).ConfigureAwait(false);
    }

    /// <summary>
    /// lapic_is_integrated: reads LVR, on 64-bit too. This model's APIC (version 0x14) is integrated, so the 82489DX
    /// branches it guards are never taken and the value is not needed.
    /// </summary>
    private static Task IsIntegratedAsync(GuestCpu cpu) => cpu.ReadAsync(ApicOffsets.Version);

    /// <summary>lapic_get_maxlvt: reads LVR; the ESR is written before each read only when maxlvt &gt; 3.</summary>
    private static async Task<bool> EsrPreWriteAsync(GuestCpu cpu)
    {
        var lvr = await cpu.ReadAsync(ApicOffsets.Version).ConfigureAwait(false);
        return ((lvr >> LinuxApic.MaxLvtShift) & LinuxApic.MaxLvtMask) > LinuxApic.EsrPreWriteMinMaxLvt;
    }

    /// <summary>do_boot_cpu: wakes the AP, then waits for it to be alive.</summary>
    private async Task WakeSecondaryCpuAsync(GuestCpu bsp, GuestCpu ap)
    {
        await KickSecondaryCpuAsync(bsp, ap).ConfigureAwait(false);
        await EnsureStartedAsync(ap).ConfigureAwait(false);
    }

    /// <summary>wakeup_secondary_cpu_via_init: INIT assert, INIT de-assert, two Start-up IPIs with ESR checks.</summary>
    private async Task KickSecondaryCpuAsync(GuestCpu bsp, GuestCpu ap)
    {
        var esrPreWrite = await EsrPreWriteAsync(bsp).ConfigureAwait(false);
        await ClearErrorsAsync(bsp, esrPreWrite).ConfigureAwait(false);

        await bsp.SendIpiAsync(ap.ApicId, LinuxApic.TriggerLevel | LinuxApic.LevelAssert | LinuxApic.DeliveryInit).ConfigureAwait(false);
        await bsp.WaitIcrIdleAsync().ConfigureAwait(false);
        if (_settings.InitDelayNs > 0)
        {
            await _vm.StepClockAsync(_settings.InitDelayNs).ConfigureAwait(false); // udelay(init_udelay)
        }
        await bsp.SendIpiAsync(ap.ApicId, LinuxApic.TriggerLevel | LinuxApic.DeliveryInit).ConfigureAwait(false);
        await bsp.WaitIcrIdleAsync().ConfigureAwait(false);

        for (var start = 0; start < 2; start++)
        {
            await ClearErrorsAsync(bsp, esrPreWrite).ConfigureAwait(false);
            await bsp.SendIpiAsync(ap.ApicId, LinuxApic.DeliveryStartup | LinuxApic.TrampolineVector).ConfigureAwait(false);
            await _vm.StepClockAsync(LinuxApic.StartupDelayNs).ConfigureAwait(false);
            await bsp.WaitIcrIdleAsync().ConfigureAwait(false);
            await _vm.StepClockAsync(LinuxApic.StartupDelayNs).ConfigureAwait(false);
            var accept = await ClearErrorsAsync(bsp, esrPreWrite).ConfigureAwait(false) & LinuxApic.EsrAcceptMask;
            if (accept != 0)
            {
                throw new SimulationException($"APIC delivery error 0x{accept:X} starting vCPU {ap.Index}");
            }
        }
    }

    /// <summary>The BSP's wait for the AP to come alive: it runs, started at the trampoline.</summary>
    private async Task EnsureStartedAsync(GuestCpu ap)
    {
        var snapshot = await _vm.SnapshotAsync(ap.Index).ConfigureAwait(false);
        if (snapshot.RunState != VcpuRunState.Running || snapshot.SipiVector != LinuxApic.TrampolineVector)
        {
            throw new SimulationException(
                $"do_boot_cpu failed to wake vCPU {ap.Index}: state {snapshot.RunState}, SIPI vector {snapshot.SipiVector}");
        }
    }

    private async Task<long> RunWorkloadAsync(long start, CancellationToken cancellationToken)
    {
        var end = start + _settings.DurationNs;
        var random = new Random(_settings.Seed);
        var ipis = _settings.IpiRateHz > 0 && _cpus.Length > 1;
        var nextIpi = ipis ? start + Gap(random) : long.MaxValue;

        foreach (var cpu in _cpus)
        {
            await ArmTickAsync(cpu).ConfigureAwait(false);
        }

        var now = start;
        while (now < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Math.Min(Math.Min(_timerDue.Min(), nextIpi), end);
            if (target > now)
            {
                now = await _vm.StepClockAsync(target - now).ConfigureAwait(false);
                if (now < target)
                {
                    throw new SimulationException($"the clock stopped at {now} ns on its way to {target} ns");
                }
            }

            for (var i = 0; i < _cpus.Length; i++)
            {
                if (_timerDue[i] <= now)
                {
                    await ServiceAsync(_cpus[i]).ConfigureAwait(false);
                    if (_timerDue[i] <= now)
                    {
                        throw new SimulationException($"vCPU {i}: the TSC deadline due at {_timerDue[i]} ns did not fire by {now} ns");
                    }
                }
            }

            if (nextIpi <= now && now < end)
            {
                await SendRandomIpiAsync(random).ConfigureAwait(false);
                nextIpi = now + Gap(random);
            }
        }
        return now;
    }

    private long Gap(Random random) =>
        Math.Max(1L, (long)(-Math.Log(1.0 - random.NextDouble()) * NsPerSecond / _settings.IpiRateHz));

    /// <summary>
    /// One of the IPIs a busy Linux guest sends (linux-guest.md 4.5): a reschedule (0xFD) or a call-function-single
    /// (0xFB) to one other CPU, a call-function (0xFC) to every other CPU with the all-but-self shorthand, or an irq_work
    /// (0xF6) to itself. Every destination then takes it before the workload goes on.
    /// </summary>
    private async Task SendRandomIpiAsync(Random random)
    {
        var sender = random.Next(_cpus.Length);
        var from = _cpus[sender];
        var roll = random.NextDouble();
        int vector;
        int[] targets;
        if (roll < RescheduleShare + CallFunctionSingleShare)
        {
            vector = roll < RescheduleShare ? LinuxApic.RescheduleVector : LinuxApic.CallFunctionSingleVector;
            var target = random.Next(_cpus.Length - 1);
            if (target >= sender)
            {
                target++;
            }
            targets = [target];
            await SendToOneAsync(from, _cpus[target], vector).ConfigureAwait(false);
        }
        else if (roll < RescheduleShare + CallFunctionSingleShare + CallFunctionShare)
        {
            vector = LinuxApic.CallFunctionVector;
            targets = [.. Enumerable.Range(0, _cpus.Length).Where(i => i != sender)];
            await from.WaitIcrIdleAsync().ConfigureAwait(false);
            await from.SendShorthandIpiAsync(LinuxApic.ShorthandAllButSelf | (uint)vector).ConfigureAwait(false);
        }
        else
        {
            vector = LinuxApic.IrqWorkVector;
            targets = [sender];
            // arch_irq_work_raise: apic->send_IPI_self, then apic_wait_icr_idle (a second poll in xAPIC mode).
            await from.WaitIcrIdleAsync().ConfigureAwait(false);
            await from.SendSelfIpiAsync(vector).ConfigureAwait(false);
            await from.WaitIcrIdleAsync().ConfigureAwait(false);
        }
        _counters[sender].IpisSent += targets.Length;

        foreach (var target in targets)
        {
            var before = _counters[target].IpisReceived;
            await ServiceAsync(_cpus[target]).ConfigureAwait(false);
            if (_counters[target].IpisReceived == before)
            {
                throw new SimulationException($"vCPU {target} did not take IPI 0x{vector:X2} from vCPU {sender}");
            }
        }
    }

    /// <summary>
    /// An IPI to one CPU, addressed as the kernel's APIC driver addresses it. In xAPIC mode the driver waits for an idle
    /// ICR before it writes (apic_mem_wait_icr_idle in __default_send_IPI_dest_field) and not after; the same holds for
    /// the shorthand IPIs (__default_send_IPI_shortcut). Only the AP wake-up and irq_work poll after their writes.
    /// </summary>
    private async Task SendToOneAsync(GuestCpu from, GuestCpu to, int vector)
    {
        await from.WaitIcrIdleAsync().ConfigureAwait(false);
        if (_flatLogical)
        {
            await from.SendIpiAsync(1u << to.Index, LinuxApic.DestinationLogical | (uint)vector).ConfigureAwait(false);
        }
        else if (_x2ApicCluster)
        {
            // x2apic_cluster's x2apic_send_IPI: logical, to the target's logical ID (its cluster and its bit in it).
            await from.SendIpiAsync(_x2ApicLogicalIds[to.Index], LinuxApic.DestinationLogical | (uint)vector).ConfigureAwait(false);
        }
        else
        {
            // physflat, or x2apic_phys: physical, to the target's APIC ID (all 32 bits of it in x2APIC mode).
            await from.SendIpiAsync(to.ApicId, (uint)vector).ConfigureAwait(false);
        }
    }

    /// <summary>The core takes every deliverable interrupt: acknowledge, EOI, and the handler's work.</summary>
    private async Task ServiceAsync(GuestCpu cpu)
    {
        var c = _counters[cpu.Index];
        for (var i = 0; i < LinuxApic.PollLimit; i++)
        {
            if (await _vm.PendingAsync(cpu.Index).ConfigureAwait(false) < 0)
            {
                return;
            }
            var ack = await _vm.AcknowledgeAsync(cpu.Index).ConfigureAwait(false);
            if (ack.Status != AccessStatus.Ok)
            {
                return;
            }

            var vector = (int)ack.Value;
            c.Taken[vector] = c.Taken.GetValueOrDefault(vector) + 1;
            if (vector == LinuxApic.SpuriousVector)
            {
                continue;
            }

            await cpu.EoiAsync().ConfigureAwait(false);
            switch (vector)
            {
                case LinuxApic.LocalTimerVector:
                    c.TimerTicks++;
                    await ArmTickAsync(cpu).ConfigureAwait(false);
                    break;
                case LinuxApic.RescheduleVector or LinuxApic.CallFunctionVector or LinuxApic.CallFunctionSingleVector or LinuxApic.IrqWorkVector:
                    c.IpisReceived++;
                    break;
            }
        }
        throw new SimulationException($"vCPU {cpu.Index}: interrupts kept coming ({LinuxApic.PollLimit} in a row)");
    }

    /// <summary>
    /// One tick in TSC cycles as the TSC-deadline clockevent programs it: the period in clockevent units (frequency
    /// tsc_khz * 1000 / TSC_DIVISOR, at least the minimum delta 0xF), times TSC_DIVISOR, as lapic_next_deadline writes it.
    /// </summary>
    internal static ulong TickTscDelta(long periodNs, long tscHz)
    {
        var clockeventHz = (ulong)tscHz / 1000 * (1000 / LinuxApic.TscDivisor);
        var delta = (ulong)((UInt128)(ulong)periodNs * clockeventHz / (ulong)NsPerSecond);
        return Math.Max(delta, LinuxApic.TscDeadlineMinDelta) * LinuxApic.TscDivisor;
    }

    /// <summary>lapic_next_deadline: IA32_TSC_DEADLINE = TSC + delta * TSC_DIVISOR.</summary>
    private async Task ArmTickAsync(GuestCpu cpu)
    {
        var deadline = await cpu.ReadTscAsync().ConfigureAwait(false) + _tickTsc;
        await cpu.WriteTscDeadlineAsync(deadline).ConfigureAwait(false);
        _timerDue[cpu.Index] = DueNs(deadline);
    }

    /// <summary>The first virtual ns at which the TSC reaches <paramref name="deadline"/>.</summary>
    private long DueNs(ulong deadline)
    {
        var hz = (UInt128)(ulong)_settings.TscHz;
        return (long)((deadline * (UInt128)(ulong)NsPerSecond + hz - 1) / hz);
    }

    private sealed class Counters
    {
        public Dictionary<int, int> Taken { get; } = [];
        public int TimerTicks { get; set; }
        public int IpisSent { get; set; }
        public int IpisReceived { get; set; }
    }
}
