using VApicActors.Actors;
using VApicActors.Host.Configuration;
using VApicActors.Host.Simulation;

namespace VApicActors.Host.Tests;

public sealed class DefaultSimulationTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    [Fact]
    public async Task Run_Defaults_EveryApRunsAndEveryInterruptIsTaken()
    {
        var (_, settings) = HoconSettings.Load();
        var s = settings.Simulation;
        await using var vm = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec("sim-defaults", s));
        var report = await new DefaultSimulation(vm, s).RunAsync();

        Assert.Equal(4, report.Vcpus.Count);
        Assert.True(report.AllRunning);
        Assert.All(report.Vcpus, v => Assert.Equal("running", v.RunState));
        Assert.Equal(report.BringUpEndNs + 1_000_000_000, report.EndNs);
        Assert.All(report.Vcpus, v =>
        {
            Assert.InRange(v.TimerTicks, 249, 250);
            Assert.Equal(v.TimerTicks, v.TakenByVector[0xEC]);
            Assert.True(v.IpisSent > 0);
            Assert.True(v.IpisReceived > 0);
            // Reschedule, call-function, call-function-single and irq_work, each kind taken somewhere.
            Assert.Equal(v.IpisReceived, new[] { 0xFD, 0xFC, 0xFB, 0xF6 }.Sum(vector => v.TakenByVector.GetValueOrDefault(vector)));
        });
        Assert.Equal(report.Vcpus.Sum(v => v.IpisSent), report.Vcpus.Sum(v => v.IpisReceived));
        Assert.All(new[] { 0xFD, 0xFC, 0xFB, 0xF6 }, vector => Assert.Contains(report.Vcpus, v => v.TakenByVector.GetValueOrDefault(vector) > 0));

        for (var i = 0; i < 4; i++)
        {
            var snapshot = await vm.SnapshotAsync(i);
            Assert.Equal(0x9A, i == 0 ? 0x9A : snapshot.SipiVector);
            Assert.Equal(0x1FFu, snapshot.Svr);
            Assert.Equal(0x000400ECu, snapshot.LvtTimer);
        }
    }

    [Fact]
    public async Task Run_WithAnInitDelay_TheBspWaitsThatLongBeforeEachInitDeassert()
    {
        var (_, quick) = HoconSettings.Load([SettingOverride.Text("vapic.simulation.duration", "10ms", "--duration")]);
        var (_, slow) = HoconSettings.Load(
        [
            SettingOverride.Text("vapic.simulation.duration", "10ms", "--duration"),
            SettingOverride.Text("vapic.simulation.init-delay", "10ms", "test"),
        ]);
        Assert.Equal(0, quick.Simulation.InitDelayNs);
        Assert.Equal(10_000_000, slow.Simulation.InitDelayNs);

        await using var vmQuick = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec("sim-init-0", quick.Simulation));
        var withoutDelay = await new DefaultSimulation(vmQuick, quick.Simulation).RunAsync();
        await using var vmSlow = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec("sim-init-10ms", slow.Simulation));
        var withDelay = await new DefaultSimulation(vmSlow, slow.Simulation).RunAsync();

        // Three APs, each woken with one INIT assert/de-assert pair: 10 ms more per AP, and every AP still starts.
        Assert.True(withDelay.AllRunning);
        Assert.Equal(withoutDelay.BringUpEndNs + 3 * 10_000_000, withDelay.BringUpEndNs);
    }

    [Theory]
    [InlineData("2s")]
    [InlineData("-1ms")]
    public void InitDelay_OutsideZeroToOneSecond_IsRefusedNamingTheKey(string delay)
    {
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load([SettingOverride.Text("vapic.simulation.init-delay", delay, "test")]));
        Assert.Equal("vapic.simulation.init-delay", e.Key);
    }

    [Theory]
    [InlineData("x2apic", "bsp", 3)]
    [InlineData("xapic", "all", 2)]
    [InlineData("xapic", "bsp", 10)]
    [InlineData("xapic", "bsp", 1)]
    public async Task Run_OtherShapes_Complete(string mode, string boot, int vcpus)
    {
        var (_, settings) = HoconSettings.Load(
        [
            SettingOverride.Text("vapic.simulation.mode", mode, "--mode"),
            SettingOverride.Text("vapic.simulation.boot", boot, "--boot"),
            SettingOverride.Number("vapic.simulation.vcpus", vcpus, "--vcpus"),
            SettingOverride.Text("vapic.simulation.duration", "40ms", "--duration"),
        ]);
        var s = settings.Simulation;
        await using var vm = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec($"sim-{mode}-{boot}-{vcpus}", s));
        var report = await new DefaultSimulation(vm, s).RunAsync();

        Assert.True(report.AllRunning);
        Assert.All(report.Vcpus, v => Assert.InRange(v.TimerTicks, 9, 10));
        Assert.Equal(report.Vcpus.Sum(v => v.IpisSent), report.Vcpus.Sum(v => v.IpisReceived));
    }

    [Fact]
    public async Task Run_X2Apic_SendsIpisLogicalToTheTargetsCluster()
    {
        var (report, sink) = await RecordAsync(
            "sim-x2apic-cluster",
            SettingOverride.Text("vapic.simulation.mode", "x2apic", "--mode"),
            SettingOverride.Number("vapic.simulation.vcpus", 3, "--vcpus"),
            SettingOverride.List("vapic.simulation.apic-ids", ["0x0", "0x11", "0x25"], "--apic-ids"),
            SettingOverride.Text("vapic.simulation.duration", "40ms", "--duration"));

        Assert.True(report.AllRunning);
        Assert.Equal(report.Vcpus.Sum(v => v.IpisSent), report.Vcpus.Sum(v => v.IpisReceived));
        // Each CPU reads its LDR; the IPIs to one CPU (0xFD, 0xFB) are logical, to cluster << 16 | 1 << (ID & 0xF);
        // call-functions to the others (0xFC) use the all-but-self shorthand.
        Assert.Equal(3, sink.Named("MsrRead").Count(e => e.Register == "LDR"));
        var ipis = sink.Named("IpiSent").Where(e => e.Vector is 0xFB or 0xFC or 0xFD).ToList();
        Assert.NotEmpty(ipis);
        Assert.All(ipis.Where(e => e.Vector != 0xFC), e => Assert.Contains(e.Destination, new[] { "logical 0x1", "logical 0x10002", "logical 0x20020" }));
        Assert.All(ipis.Where(e => e.Vector == 0xFC), e => Assert.Equal("all-but-self", e.Destination));
    }

    [Fact]
    public async Task Run_X2ApicWithPhysicalDestinations_SendsIpisToTheFull32BitApicId_AndReadsNoLdr()
    {
        // x2apic_phys: an ID above 0xFF is addressed whole, which no xAPIC destination could hold.
        var (report, sink) = await RecordAsync(
            "sim-x2apic-phys",
            SettingOverride.Text("vapic.simulation.mode", "x2apic", "--mode"),
            SettingOverride.Text("vapic.simulation.x2apic-destinations", "physical", "--x2apic-destinations"),
            SettingOverride.Number("vapic.simulation.vcpus", 3, "--vcpus"),
            SettingOverride.List("vapic.simulation.apic-ids", ["0x0", "0x11", "0x1234"], "--apic-ids"),
            SettingOverride.Text("vapic.simulation.duration", "40ms", "--duration"));

        Assert.True(report.AllRunning);
        Assert.Equal(report.Vcpus.Sum(v => v.IpisSent), report.Vcpus.Sum(v => v.IpisReceived));
        Assert.DoesNotContain(sink.Named("MsrRead"), e => e.Register == "LDR");
        var ipis = sink.Named("IpiSent").Where(e => e.Vector is 0xFB or 0xFD).ToList();
        Assert.NotEmpty(ipis);
        Assert.All(ipis, e => Assert.Contains(e.Destination, new[] { "physical 0x0", "physical 0x11", "physical 0x1234" }));
        Assert.Contains(ipis, e => e.Destination == "physical 0x1234");
    }

    [Fact]
    public async Task Run_ParallelBringUp_TheBspWakesEveryApFirst_ThenEachSetsUpItsApicInTurn_EndingAsTheSerialOne()
    {
        var duration = SettingOverride.Text("vapic.simulation.duration", "20ms", "--duration");
        var (serial, serialSink) = await RecordAsync("sim-bringup-serial", duration);
        var (parallel, sink) = await RecordAsync("sim-bringup-parallel", duration,
            SettingOverride.Text("vapic.simulation.bring-up", "parallel", "--bring-up"));

        Assert.Equal(BringUpSetting.Serial, serial.Settings.BringUp);
        Assert.True(parallel.AllRunning);
        var events = sink.Events.ToList();
        var wakes = events.FindAll(e => e.Event == "IpiSent" && e.Detail is "Init" or "StartUp");
        Assert.Equal(3 * 3, wakes.Count); // INIT and two SIPIs per AP (the INIT de-assert sends nothing)
        var lastWake = events.FindLastIndex(e => e.Event == "IpiSent" && e.Detail is "Init" or "StartUp");
        // setup_local_APIC's first access: the SVR read. Every AP's comes after the last wake, and in AP order,
        // each after the previous AP's last setup write (the TSC-deadline LVTT).
        int FirstSvrRead(uint apic) => events.FindIndex(e => e.ApicId == apic && e.Event == "MmioRead" && e.Register == "SVR");
        int TimerModeSet(uint apic) => events.FindIndex(e => e.ApicId == apic && e.Event == "MmioWrite" && e.Register == "LVTT");
        for (uint ap = 1; ap <= 3; ap++)
        {
            Assert.True(FirstSvrRead(ap) > lastWake, $"AP {ap} set up its APIC before the BSP had woken every AP");
            Assert.True(FirstSvrRead(ap) > TimerModeSet(ap - 1), $"AP {ap} set up its APIC before AP {ap - 1} was done");
        }
        // Serially, the first AP sets up its APIC before the second is woken.
        var serialEvents = serialSink.Events.ToList();
        Assert.True(serialEvents.FindIndex(e => e.ApicId == 1 && e.Event == "MmioRead" && e.Register == "SVR")
            < serialEvents.FindIndex(e => e.Event == "IpiSent" && e.Detail == "Init" && e.Destination == "physical 0x2"));

        // The same bring-up time and the same workload after it.
        Assert.Equal(serial.BringUpEndNs, parallel.BringUpEndNs);
        Assert.Equal(serial.Vcpus.Select(v => (v.TimerTicks, v.IpisSent, v.IpisReceived, string.Join(",", v.TakenByVector))),
            parallel.Vcpus.Select(v => (v.TimerTicks, v.IpisSent, v.IpisReceived, string.Join(",", v.TakenByVector))));
    }

    [Fact]
    public void BringUp_OtherThanSerialOrParallel_IsRefusedNamingTheKey()
    {
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load([SettingOverride.Text("vapic.simulation.bring-up", "concurrent", "--bring-up")]));
        Assert.Equal("vapic.simulation.bring-up", e.Key);
    }

    [Fact]
    public void X2ApicDestinations_OtherThanClusterOrPhysical_IsRefusedNamingTheKey()
    {
        var e = Assert.Throws<SettingsException>(() => HoconSettings.Load([SettingOverride.Text("vapic.simulation.x2apic-destinations", "phys", "--x2apic-destinations")]));
        Assert.Equal("vapic.simulation.x2apic-destinations", e.Key);
        Assert.Equal(X2ApicDestinationSetting.Cluster, HoconSettings.Load([]).Settings.Simulation.X2ApicDestinations);
    }

    [Fact]
    public async Task Run_X2Apic_EachCpuEnablesX2ApicItselfBeforeSetup()
    {
        SettingOverride[] overrides =
        [
            SettingOverride.Text("vapic.simulation.mode", "x2apic", "--mode"),
            SettingOverride.Number("vapic.simulation.vcpus", 3, "--vcpus"),
            SettingOverride.Text("vapic.simulation.duration", "10ms", "--duration"),
        ];
        Assert.False(DefaultSimulation.Spec("x", SettingsOf(overrides)).X2Apic);
        var (report, sink) = await RecordAsync("sim-x2apic-enable", overrides);

        Assert.True(report.AllRunning);
        // __x2apic_enable: RDMSR IA32_APIC_BASE, then WRMSR it with EXTD (bit 10) set, before any APIC register access.
        for (uint id = 0; id < 3; id++)
        {
            var accesses = sink.Events
                .Where(e => e.ApicId == id && e.Event is "MsrRead" or "MsrWrite" or "MmioRead" or "MmioWrite")
                .Take(3).Select(e => (e.Event, e.Register, e.Value)).ToList();
            var xApicBase = id == 0 ? 0xFEE0_0900UL : 0xFEE0_0800UL;
            Assert.Equal(
                [("MsrRead", "APIC_BASE", xApicBase), ("MsrWrite", "APIC_BASE", xApicBase | 0x400), ("MsrRead", "SVR", 0xFFUL)],
                accesses.Select(a => (a.Event, a.Register, a.Value ?? 0)));
        }
    }

    [Fact]
    public async Task Run_X2ApicWithAnIdAboveTheXApicRange_FirmwareHasEnabledIt_TheKernelOnlyReadsTheBase()
    {
        var (_, settings) = HoconSettings.Load(
        [
            SettingOverride.Text("vapic.simulation.mode", "x2apic", "--mode"),
            SettingOverride.Number("vapic.simulation.vcpus", 2, "--vcpus"),
            SettingOverride.List("vapic.simulation.apic-ids", ["0x0", "0x100"], "--apic-ids"),
            SettingOverride.Text("vapic.simulation.duration", "10ms", "--duration"),
        ]);
        var s = settings.Simulation;
        Assert.True(DefaultSimulation.Spec("x", s).X2Apic);
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        await using var vm = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec("sim-x2apic-firmware", s), sink);
        var report = await new DefaultSimulation(vm, s).RunAsync();

        Assert.True(report.AllRunning);
        Assert.Equal([0xFEE0_0D00UL, 0xFEE0_0C00UL], sink.Named("MsrRead").Where(e => e.Register == "APIC_BASE").OrderBy(e => e.ApicId).Select(e => e.Value ?? 0));
        Assert.DoesNotContain(sink.Named("MsrWrite"), e => e.Register == "APIC_BASE");
    }

    [Fact]
    public async Task Run_XApic_TheBspChecksItsBspBitFirst()
    {
        var (_, sink) = await RecordAsync(
            "sim-xapic-base",
            SettingOverride.Number("vapic.simulation.vcpus", 2, "--vcpus"),
            SettingOverride.Text("vapic.simulation.duration", "10ms", "--duration"));

        var first = sink.Events.First(e => e.ApicId == 0 && e.Event is "MsrRead" or "MmioRead" or "MmioWrite");
        Assert.Equal(("MsrRead", "APIC_BASE", 0xFEE0_0900UL), (first.Event, first.Register, first.Value ?? 0));
        Assert.DoesNotContain(sink.Named("MsrWrite"), e => e.Register == "APIC_BASE");
    }

    [Theory]
    [InlineData(4_000_000, 1_000_000_000, 4_000_000)]          // 500000 clockevent units of 8 cycles
    [InlineData(4_000_000, 2_999_999_999, 11_999_992)]         // tsc_khz 2999999: 1499999 units, a multiple of 8
    [InlineData(1, 1_000_000_000, 0xF * 8)]                     // below the minimum delta 0xF
    public void TickTscDelta_IsWholeClockeventUnitsOfEightTscCycles(long periodNs, long tscHz, long expected)
    {
        Assert.Equal((ulong)expected, DefaultSimulation.TickTscDelta(periodNs, tscHz));
    }

    [Fact]
    public async Task Run_TscNotAMultipleOfEight_EveryDeadlineIsTheTscPlusWholeUnitsOfEight()
    {
        var (_, sink) = await RecordAsync(
            "sim-tsc-delta",
            SettingOverride.Number("vapic.simulation.vcpus", 2, "--vcpus"),
            SettingOverride.Number("vapic.simulation.tsc-hz", 2_999_999_999, "--tsc-hz"),
            SettingOverride.Number("vapic.simulation.ipi-rate-hz", 0, "--ipi-rate"),
            SettingOverride.Text("vapic.simulation.duration", "20ms", "--duration"));

        var writes = sink.Named("MsrWrite").Where(e => e.Register == "TSC_DEADLINE").ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, e =>
        {
            var tsc = (ulong)((UInt128)(ulong)e.VirtualTimeNs * 2_999_999_999UL / 1_000_000_000UL);
            Assert.Equal(11_999_992UL, e.Value!.Value - tsc);
        });
    }

    [Fact]
    public async Task Run_EsrSequences_ReadLvrFirstForMaxLvt()
    {
        var (_, sink) = await RecordAsync(
            "sim-esr",
            SettingOverride.Number("vapic.simulation.vcpus", 2, "--vcpus"),
            SettingOverride.Text("vapic.simulation.duration", "4ms", "--duration"));

        // lapic_setup_esr and wakeup_secondary_cpu_via_init call lapic_get_maxlvt (LVR) before the ESR writes that
        // only a maxlvt above 3 allows (this model's LVR has maxlvt 6). lapic_is_integrated reads LVR as well: before
        // the LVT1 write of setup_local_APIC and first thing in lapic_setup_esr.
        var bsp = sink.Events.Where(e => e.ApicId == 0 && e.Event is "MmioRead" or "MmioWrite").OrderBy(e => e.Seq)
            .Select(e => $"{(e.Event == "MmioRead" ? "R" : "W")} {e.Register}").ToList();
        var lvt1 = bsp.IndexOf("W LVT1");
        Assert.Equal(
            ["W LVT0", "R LVR", "W LVT1", "R LVR", "R LVR", "W ESR", "R ESR", "W LVTERR", "W ESR", "R ESR", "W LVTT",
             "R LVR", "W ESR", "R ESR", "W ICR2", "W ICR"],
            bsp.Skip(lvt1 - 2).Take(16));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(12)]
    public async Task Run_XApicWorkloadIpis_WaitForAnIdleIcrBeforeTheWriteNotAfter(int vcpus)
    {
        var (_, sink) = await RecordAsync(
            $"sim-icr-idle-{vcpus}",
            SettingOverride.Number("vapic.simulation.vcpus", vcpus, "--vcpus"),
            SettingOverride.Text("vapic.simulation.duration", "20ms", "--duration"));

        // __default_send_IPI_dest_field and __default_send_IPI_shortcut: R ICR (apic_mem_wait_icr_idle), then W ICR2
        // (not for a shorthand) and W ICR. Only arch_irq_work_raise (the self IPI 0xF6) polls again after its write, as
        // the wake-up's INIT and Start-up IPIs do.
        var sends = 0;
        var selfIpis = 0;
        for (var apic = 0u; apic < vcpus; apic++)
        {
            var accesses = sink.Events.Where(e => e.ApicId == apic && e.Event is "MmioRead" or "MmioWrite").OrderBy(e => e.Seq).ToList();
            for (var i = 0; i < accesses.Count; i++)
            {
                var e = accesses[i];
                if (e.Event != "MmioWrite" || e.Register != "ICR" || (e.Value & 0x700) != 0)
                {
                    continue;
                }
                sends++;
                var shorthand = (e.Value & 0xC_0000) != 0;
                var before = accesses.Take(i).TakeLast(shorthand ? 1 : 2).Select(a => $"{a.Event} {a.Register}").ToList();
                Assert.Equal(shorthand ? ["MmioRead ICR"] : ["MmioRead ICR", "MmioWrite ICR2"], before);
                if ((e.Value & 0xC_0000) == 0x4_0000)
                {
                    selfIpis++;
                    Assert.Equal(0x4_00F6UL, e.Value);
                    Assert.True(i + 1 < accesses.Count);
                    Assert.Equal("MmioRead ICR", $"{accesses[i + 1].Event} {accesses[i + 1].Register}");
                }
            }
        }
        Assert.True(sends > 10);
        Assert.True(selfIpis > 0);
        // One poll per workload IPI and one more per irq_work, and four per AP woken (after INIT assert, INIT de-assert
        // and each Start-up IPI).
        Assert.Equal(sends + selfIpis + 4 * (vcpus - 1), sink.Named("MmioRead").Count(e => e.Register == "ICR"));
    }

    [Theory]
    [InlineData("xapic", "MmioWrite")]
    [InlineData("x2apic", "MsrWrite")]
    public async Task Run_EveryInterruptTaken_IsEoidThroughTheEoiRegister(string mode, string write)
    {
        var (_, sink) = await RecordAsync(
            $"sim-eoi-{mode}",
            SettingOverride.Text("vapic.simulation.mode", mode, "--mode"),
            SettingOverride.Text("vapic.simulation.duration", "20ms", "--duration"));

        // native_apic_mem_eoi writes 0 to EOI (0xB0), native_apic_msr_eoi writes 0 to MSR 0x80B: one per interrupt taken.
        var eoiWrites = sink.Named(write).Where(e => e.Register == "EOI").ToList();
        Assert.All(eoiWrites, e => Assert.Equal((ulong?)0, e.Value));
        Assert.Equal(sink.Named("Acknowledged").Count, eoiWrites.Count);
        Assert.True(eoiWrites.Count > 10);
    }

    [Fact]
    public async Task Run_SameSeed_SameCounts()
    {
        var (_, settings) = HoconSettings.Load([SettingOverride.Text("vapic.simulation.duration", "50ms", "--duration")]);
        var s = settings.Simulation;
        var first = await RunOnceAsync(s, "sim-seed-a");
        var second = await RunOnceAsync(s, "sim-seed-b");
        Assert.Equal(
            first.Vcpus.Select(v => (v.IpisSent, v.IpisReceived, v.TimerTicks)),
            second.Vcpus.Select(v => (v.IpisSent, v.IpisReceived, v.TimerTicks)));
    }

    private async Task<SimulationReport> RunOnceAsync(SimulationSettings s, string name)
    {
        await using var vm = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec(name, s));
        return await new DefaultSimulation(vm, s).RunAsync();
    }

    /// <summary>Runs the default simulation with the given settings on a VM of its own, recording its trace.</summary>
    private async Task<(SimulationReport Report, VApicActors.Actors.Tests.RecordingTraceSink Sink)> RecordAsync(string name, params SettingOverride[] overrides)
    {
        var s = SettingsOf(overrides);
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        await using var vm = await VmHandle.CreateAsync(fixture.System, DefaultSimulation.Spec(name, s), sink);
        return (await new DefaultSimulation(vm, s).RunAsync(), sink);
    }

    private static SimulationSettings SettingsOf(params SettingOverride[] overrides) => HoconSettings.Load(overrides).Item2.Simulation;
}
