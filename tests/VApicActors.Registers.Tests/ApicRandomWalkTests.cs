using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>
/// Seeded random walks over everything a guest and the platform can do to one local APIC: xAPIC MMIO
/// at every offset and size, x2APIC RDMSR/WRMSR over 0x800–0x8FF, IA32_APIC_BASE and IA32_TSC_DEADLINE
/// with reserved bits, mode transitions, interrupt messages of every delivery mode, acknowledge, EOI,
/// timer expiries, LINT pins, INIT and SIPI. After every action the register state is checked against
/// rules written down independently of the model (apic-reference.md first, then the survey
/// apic-behaviour-cases.md, then the SDM), and every action is checked against what it must and must
/// not change. The seed is fixed, so a failure names the walk and step that reproduce it.
/// </summary>
public sealed class ApicRandomWalkTests
{
    private const int MasterSeed = 0x0A91C;
    private const int Walks = 200;
    private const int StepsPerWalk = 300;

    [Fact]
    public void RandomWalks_KeepEveryRuleOfTheProfile()
    {
        var master = new Random(MasterSeed);
        for (var walk = 0; walk < Walks; walk++)
        {
            var seed = master.Next();
            using var walker = new Walker(seed);
            walker.Run(StepsPerWalk);
        }
    }

    /// <summary>One walk: an APIC, a generator and a trail of what was done, for the failure message.</summary>
    private sealed class Walker : IDisposable
    {
        // ------------------------------------------------------------ independent tables (SDM Table 10-1, 10-6)

        /// <summary>The 16-byte slots of the xAPIC page that hold a register (SDM Table 10-1; CMCI at 0x2F0 since LVR says seven LVTs).</summary>
        private static bool IsXApicRegister(uint slot) =>
            slot is 0x020 or 0x030 or 0x080 or 0x090 or 0x0A0 or 0x0B0 or 0x0C0 or 0x0D0 or 0x0E0 or 0x0F0
                or (>= 0x100 and <= 0x280) or 0x2F0 or (>= 0x300 and <= 0x390) or 0x3E0;

        /// <summary>xAPIC registers a write does not change (SDM Table 10-1; the ID is read-only in this profile).</summary>
        private static bool IsXApicReadOnly(uint slot) =>
            slot is 0x020 or 0x030 or 0x090 or 0x0A0 or 0x0C0 or (>= 0x100 and <= 0x270) or 0x390;

        /// <summary>x2APIC MSRs RDMSR may read (survey G4, SDM Table 10-6; CMCI exists with Max LVT 6).</summary>
        private static bool IsX2ApicReadable(uint msr) =>
            msr is 0x802 or 0x803 or 0x808 or 0x80A or 0x80D or 0x80F or (>= 0x810 and <= 0x828) or 0x82F or 0x830
                or (>= 0x832 and <= 0x839) or 0x83E;

        /// <summary>x2APIC MSRs WRMSR may write (survey G4): EOI and SELF IPI are write-only; ID, LVR, PPR, LDR, ISR/TMR/IRR, TMCCT read-only.</summary>
        private static bool IsX2ApicWritable(uint msr) =>
            msr is 0x808 or 0x80B or 0x80F or 0x828 or 0x82F or 0x830 or (>= 0x832 and <= 0x838) or 0x83E or 0x83F;

        /// <summary>The seven LVT slots and the bits each keeps (profile decision 1).</summary>
        private static uint LvtMask(uint slot) => slot switch
        {
            0x320 => LvtTimerMask,
            0x350 or 0x360 => LvtLintMask,
            0x370 => LvtErrorMask,
            _ => LvtLocalMask,
        };

        /// <summary>IA32_APIC_BASE bits that may be set: BSP (8), EXTD (10), EN (11), base 12–45 (profile decision 12).</summary>
        private const ulong ApicBaseDefined = 0x0000_3FFF_FFFF_FD00;

        private const uint Version = 0x0106_0014;

        private static readonly long[] TimerRates = [1_000_000_000, 25_000_000, 3_000_000_000, 14_318_180];
        private static readonly long[] TscRates = [1_000_000_000, 2_999_999_999, 1_000_000];

        private readonly Random _rng;
        private readonly int _seed;
        private ApicHarness _h;
        private readonly List<string> _trail = [];
        private int _step;

        public Walker(int seed)
        {
            _seed = seed;
            _rng = new Random(seed);
            var x2 = _rng.Next(4) == 0;
            var id = x2 && _rng.Next(3) == 0 ? (uint)_rng.Next(0x100, 0x10000) : (uint)_rng.Next(0, 0xFF);
            _h = ApicHarness.PowerOn(
                id,
                bsp: _rng.Next(2) == 0,
                x2Apic: x2,
                running: _rng.Next(10) != 0,
                timerHz: TimerRates[_rng.Next(TimerRates.Length)],
                tscHz: TscRates[_rng.Next(TscRates.Length)]);
            _trail.Add($"power on: id=0x{id:X} bsp={_h.Apic.Config.IsBsp} x2={x2} running={_h.Apic.RunState} timer={_h.Apic.Config.TimerHz} tsc={_h.Apic.Config.TscHz}");
            if (_rng.Next(5) != 0 && Running) EnableSoftware();
        }

        // The APIC timer as "Timer arithmetic" describes it, kept beside the model: counting started at
        // _timerStart (ns); expiry j falls _timerFirst + j·_timerPeriod ticks after it.
        private readonly bool[] _lint = new bool[2];
        private bool _timerRunning;
        private long _timerStart;
        private UInt128 _timerFirst;
        private UInt128 _timerPeriod;

        private LocalApic Apic => _h.Apic;
        private ApicPage Page => _h.Apic.Page;
        private bool Running => Apic.RunState == VcpuRunState.Running;
        private uint XApicId => (Apic.InitialApicId & 0xFF) << 24;

        public void Dispose() => _h.Dispose();

        public void Run(int steps)
        {
            CheckState();
            for (_step = 0; _step < steps; _step++)
            {
                try
                {
                    var before = Save();
                    var pendingBefore = Apic.PendingVector;
                    var identityBefore = Apic.Identity;
                    var fx = (Deliverable: _h.Fx.Deliverable.Count, Routing: _h.Fx.RoutingChanges.Count, Local: _h.Fx.Local.Count);
                    Step();
                    CheckState();
                    CheckEffects(before, pendingBefore, identityBefore, fx);
                }
                catch (Exception e)
                {
                    var recent = string.Join("\n  ", _trail.TakeLast(25));
                    throw new Xunit.Sdk.XunitException($"walk seed {_seed}, step {_step}: {e.Message}\n  {recent}\n{e.StackTrace}");
                }
            }
        }

        private void Note(string what) => _trail.Add($"{_step}: {what}");

        /// <summary>What one action must have reported to the APIC's owner.</summary>
        private void CheckEffects(ApicState before, int pendingBefore, ApicRoutingIdentity identityBefore, (int Deliverable, int Routing, int Local) fx)
        {
            // IApicEffects: a vector that became the one presented to the core is reported (the vCPU is kicked).
            var pending = Apic.PendingVector;
            if (pending >= 0 && pending != pendingBefore)
            {
                Expect(_h.Fx.Deliverable.Skip(fx.Deliverable).Select(v => (int)v).LastOrDefault(-1) == pending, $"0x{pending:X2} became deliverable (was {pendingBefore}) without being reported");
            }
            // IApicEffects: ID, LDR, DFR, mode or software enable changed → the new identity is reported.
            var identity = Apic.Identity;
            if (identity != identityBefore)
            {
                var reported = _h.Fx.RoutingChanges.Skip(fx.Routing).ToList();
                Expect(reported.Count > 0 && reported[^1] == identity, $"routing identity {identityBefore} became {identity}, last reported {(reported.Count > 0 ? reported[^1] : "nothing")}");
            }
            // Decision 4 / docs/decisions.md 2: a newly recorded ESR bit fires the Error LVT when it is unmasked; nothing else does.
            var fresh = Save().EsrPending & ~before.EsrPending;
            var errorLvt = Page[ApicOffsets.LvtError];
            var errorFires = _h.Fx.Local.Skip(fx.Local).Where(l => l.Source == LvtSource.Error).ToList();
            if (fresh != 0 && (errorLvt & LvtMasked) == 0)
            {
                Expect(errorFires.Count == 1, $"new error bits 0x{fresh:X} fired the unmasked Error LVT {errorFires.Count} times");
                if ((errorLvt & 0xFF) >= FirstLegalVector) Expect(Apic.Irr.Contains((int)(errorLvt & 0xFF)) || Apic.Isr.Contains((int)(errorLvt & 0xFF)), "the Error LVT fired but its vector is not pending");
            }
            else
            {
                Expect(errorFires.All(l => l.Outcome == AcceptOutcome.DroppedMasked), $"the Error LVT fired without a new error (fresh 0x{fresh:X}): {string.Join(",", errorFires)}");
            }
            // Decision 6: lowest-priority candidates are the hardware- and software-enabled APICs; focus = SVR bit 9 clear and the vector in IRR or ISR.
            var vector = (byte)_rng.Next(16, 256);
            var bid = Apic.Bid(vector);
            var eligible = Apic.Mode != ApicMode.Disabled && (Page[ApicOffsets.Svr] & 0x100) != 0;
            var focus = (Page[ApicOffsets.Svr] & 0x200) == 0 && (Apic.Irr.Contains(vector) || Apic.Isr.Contains(vector));
            Expect(bid.Eligible == eligible && bid.Focus == focus && bid.Ppr == Page[ApicOffsets.Ppr], $"bid for 0x{vector:X2}: {bid}");
        }

        private static void Fail(string why) => throw new Xunit.Sdk.XunitException(why);

        private static void Expect(bool condition, string why)
        {
            if (!condition) Fail(why);
        }

        private void EnableSoftware()
        {
            var svr = 0x100u | (uint)_rng.Next(0, 0x100) | (_rng.Next(3) == 0 ? 0x1000u : 0) | (_rng.Next(4) == 0 ? 0x200u : 0);
            Note($"enable software, SVR 0x{svr:X}");
            _h.SetReg(ApicOffsets.Svr, svr);
        }

        // ------------------------------------------------------------ state comparison

        private ApicState Save() => Apic.Save(_h.Now);

        private static bool SameState(ApicState a, ApicState b) =>
            a with { Page = default } == b with { Page = default } && a.Page.AsSpan().SequenceEqual(b.Page.AsSpan());

        private void ExpectUnchanged(ApicState before, string why)
        {
            var after = Save();
            if (SameState(before, after)) return;
            var diffs = new List<string>();
            for (var offset = 0u; offset < ApicOffsets.PageSize; offset += 4)
            {
                var a = BitConverter.ToUInt32(before.Page.AsSpan((int)offset, 4));
                var b = BitConverter.ToUInt32(after.Page.AsSpan((int)offset, 4));
                if (a != b) diffs.Add($"0x{offset:X3}: 0x{a:X8} -> 0x{b:X8}");
            }
            Fail($"{why}: state changed. page [{string.Join(", ", diffs)}]; before {before with { Page = default }}; after {after with { Page = default }}");
        }

        private uint CurrentCount() => Apic.Snapshot(_h.Now).TimerCurrentCount;

        /// <summary>A register as a 32-bit read sees it (APR, EOI, RRD read 0; TMCCT counts).</summary>
        private uint Architectural(uint slot) => slot switch
        {
            0x090 or 0x0B0 or 0x0C0 => 0,
            0x390 => CurrentCount(),
            _ => Page[slot],
        };

        private uint TimerMode => (Page[ApicOffsets.LvtTimer] >> 17) & 3;

        /// <summary>Survey I1: DCR → divisor, bit 2 ignored.</summary>
        private uint Divisor => (Page[ApicOffsets.TimerDivide] & 0xB) switch
        {
            0x0 => 2, 0x1 => 4, 0x2 => 8, 0x3 => 16, 0x8 => 32, 0x9 => 64, 0xA => 128, _ => 1,
        };

        /// <summary>"Timer arithmetic": ticks since t0 are floor((t − t0) · timer-hz / 10⁹).</summary>
        private UInt128 TicksSince(long start) => (UInt128)(ulong)(_h.Now - start) * (ulong)Apic.Config.TimerHz / 1_000_000_000;

        /// <summary>
        /// The first ns at which <paramref name="ticks"/> ticks have passed since <paramref name="start"/>, or null when
        /// that is past the last ns virtual time can reach (such an expiry is never armed).
        /// </summary>
        private long? TimeOfTicks(long start, UInt128 ticks)
        {
            var hz = (ulong)Apic.Config.TimerHz;
            var ns = (ticks * 1_000_000_000 + hz - 1) / hz;
            return ns > (UInt128)(long.MaxValue - start) ? null : start + (long)ns;
        }

        /// <summary>The ticks (since the start) of the next expiry still to come.</summary>
        private UInt128 NextExpiryTicks()
        {
            var elapsed = TicksSince(_timerStart);
            if (elapsed < _timerFirst || _timerPeriod == 0) return _timerFirst;
            return _timerFirst + ((elapsed - _timerFirst) / _timerPeriod + 1) * _timerPeriod;
        }

        /// <summary>TMCCT as the profile computes it: ceil(remaining ticks / D) while counting, else 0.</summary>
        private uint ExpectedCurrentCount()
        {
            if (!_timerRunning || TimerMode == 2) return 0;
            var remaining = NextExpiryTicks() - TicksSince(_timerStart);
            return (uint)((remaining + Divisor - 1) / Divisor);
        }

        private void StartShadowTimer(UInt128 firstTicks)
        {
            _timerRunning = true;
            _timerStart = _h.Now;
            _timerFirst = firstTicks;
            _timerPeriod = (UInt128)Page[ApicOffsets.TimerInitialCount] * Divisor;
        }

        // ------------------------------------------------------------ invariants that hold after every action

        private void CheckState()
        {
            var apic = Apic;
            var mode = apic.Mode;
            var enable = (apic.ApicBase & ApicBaseEnable) != 0;
            var extd = (apic.ApicBase & ApicBaseExtd) != 0;
            // Profile decision 12: EN = 0 with EXTD = 1 is not a state; the mode follows EN and EXTD.
            Expect(!extd || enable, $"IA32_APIC_BASE 0x{apic.ApicBase:X} has EXTD without EN");
            Expect(mode == (!enable ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic),
                $"mode {mode} does not follow IA32_APIC_BASE 0x{apic.ApicBase:X}");
            Expect((apic.ApicBase & ApicBaseBsp) != 0 == apic.Config.IsBsp, "IA32_APIC_BASE.BSP changed (bit 8 is read-only)");
            Expect((apic.ApicBase & ~ApicBaseDefined) == 0, $"IA32_APIC_BASE 0x{apic.ApicBase:X} holds reserved bits");

            if (mode == ApicMode.Disabled)
            {
                // Profile decision 11: EN 1→0 returns the APIC to its power-on state, and nothing reaches it while disabled.
                CheckPowerOnRegisters("hardware-disabled APIC", keepX2ApicIdentity: false, checkId: false);
                Expect(apic.TimerDue is null, "a hardware-disabled APIC has its timer armed");
                return;
            }

            // Identity: apic-reference.md "Identity".
            Expect(Page[ApicOffsets.Version] == Version, $"LVR 0x{Page[ApicOffsets.Version]:X8}, profile says 0x{Version:X8}");
            if (mode == ApicMode.X2Apic)
            {
                Expect(Page[ApicOffsets.Id] == apic.InitialApicId, $"x2APIC ID 0x{Page[ApicOffsets.Id]:X} is not the initial ID 0x{apic.InitialApicId:X}");
                var ldr = ((apic.InitialApicId >> 4) << 16) | (1u << (int)(apic.InitialApicId & 0xF));
                Expect(Page[ApicOffsets.Ldr] == ldr, $"x2APIC LDR 0x{Page[ApicOffsets.Ldr]:X8}, derived from the ID it is 0x{ldr:X8}");
            }
            else
            {
                Expect(Page[ApicOffsets.Id] == XApicId, $"xAPIC ID 0x{Page[ApicOffsets.Id]:X8} is not initial ID << 24 (read-only in the profile)");
                // Survey B1: LDR bits 23:0 reserved; DFR bits 27:0 always 1.
                Expect((Page[ApicOffsets.Ldr] & 0x00FF_FFFF) == 0, $"LDR 0x{Page[ApicOffsets.Ldr]:X8} holds reserved bits 23:0");
                Expect((Page[ApicOffsets.Dfr] & DfrCluster) == DfrCluster, $"DFR 0x{Page[ApicOffsets.Dfr]:X8}: bits 27:0 must read 1");
                Expect((Page[ApicOffsets.IcrHigh] & 0x00FF_FFFF) == 0, $"ICR high 0x{Page[ApicOffsets.IcrHigh]:X8} holds bits 23:0");
            }

            // Survey B1/B3 and profile decision 1: reserved bits read 0.
            var tpr = Page[ApicOffsets.Tpr];
            Expect(tpr <= 0xFF, $"TPR 0x{tpr:X8} holds bits 31:8");
            Expect((Page[ApicOffsets.Svr] & ~SvrWritable) == 0, $"SVR 0x{Page[ApicOffsets.Svr]:X8} holds bits outside 0x13FF");
            Expect((Page[ApicOffsets.Esr] & ~0xE0u) == 0, $"ESR 0x{Page[ApicOffsets.Esr]:X8} holds a bit the profile never records");
            Expect((Page[ApicOffsets.IcrLow] & ~IcrLowWritable) == 0, $"ICR low 0x{Page[ApicOffsets.IcrLow]:X8} holds bits outside 0x000CCFFF");
            Expect((Page[ApicOffsets.TimerDivide] & ~DcrWritable) == 0, $"DCR 0x{Page[ApicOffsets.TimerDivide]:X8} holds bits outside 0xB");

            // SDM 10.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0.
            var isr = apic.Isr;
            Expect(Page[ApicOffsets.Ppr] == ExpectedPpr((byte)tpr, isr.Highest),
                $"PPR 0x{Page[ApicOffsets.Ppr]:X2}, SDM formula gives 0x{ExpectedPpr((byte)tpr, isr.Highest):X2} (TPR 0x{tpr:X2}, ISR {isr})");
            Expect(apic.HighestIsr == isr.Highest, $"HighestIsr {apic.HighestIsr}, ISR {isr}");

            // SDM 10.5.2 / profile decision 10: IRR, ISR and TMR bits 0–15 are never set.
            Expect((apic.Irr.W0 & 0xFFFF) == 0 && (isr.W0 & 0xFFFF) == 0 && (apic.Tmr.W0 & 0xFFFF) == 0, $"a vector below 16 is held: IRR {apic.Irr} ISR {isr} TMR {apic.Tmr}");

            // Survey "PENDING()": the highest IRR vector, presented only when its class is above PPR's.
            var irrv = apic.Irr.Highest;
            var pending = irrv >= 0 && (irrv & 0xF0) > (Page[ApicOffsets.Ppr] & 0xF0) ? irrv : -1;
            Expect(apic.PendingVector == pending, $"pending vector {apic.PendingVector}, IRR {apic.Irr} and PPR 0x{Page[ApicOffsets.Ppr]:X2} give {pending}");

            // Profile decision 1: LVT reserved bits read 0, delivery status reads 0, remote IRR only in a level-triggered LINT.
            var softwareEnabled = (Page[ApicOffsets.Svr] & 0x100) != 0;
            foreach (var slot in LvtOffsets)
            {
                var lvt = Page[slot];
                var allowed = LvtMask(slot) | (slot is 0x350 or 0x360 ? LvtRemoteIrr : 0);
                Expect((lvt & ~allowed) == 0, $"LVT 0x{slot:X3} = 0x{lvt:X8} holds bits outside 0x{allowed:X8}");
                if ((lvt & LvtRemoteIrr) != 0) Expect((lvt & LvtLevel) != 0, $"LVT 0x{slot:X3} = 0x{lvt:X8}: remote IRR set in an edge-triggered LVT (decision 5)");
                // SDM 10.4.7.2: while software-disabled every LVT is masked.
                if (!softwareEnabled) Expect((lvt & LvtMasked) != 0, $"software-disabled, yet LVT 0x{slot:X3} = 0x{lvt:X8} is unmasked");
            }

            // SDM 10.5.4: TMCCT counts down from TMICT; 0 always in TSC-deadline mode, where TMICT writes are ignored (survey I6/I7).
            var tmict = Page[ApicOffsets.TimerInitialCount];
            var tmcct = CurrentCount();
            Expect(tmcct <= tmict, $"TMCCT 0x{tmcct:X} above TMICT 0x{tmict:X}");
            if (TimerMode == 2)
            {
                Expect(tmict == 0 && tmcct == 0, $"TSC-deadline mode with TMICT 0x{tmict:X}, TMCCT 0x{tmcct:X}");
            }
            else
            {
                // SDM 10.5.4.1: outside TSC-deadline mode IA32_TSC_DEADLINE reads 0.
                Expect(apic.Snapshot(_h.Now).TscDeadline == 0, "IA32_TSC_DEADLINE is non-zero outside TSC-deadline mode");
            }
            if (apic.TimerDue is long due) Expect(due >= _h.Now, $"timer due at {due}, now is {_h.Now}: an expiry was skipped");
            if (TimerMode != 2)
            {
                // "Timer arithmetic": the count and the next expiry, from the start instant, C, D and the timer clock.
                var expected = ExpectedCurrentCount();
                Expect(tmcct == expected, $"TMCCT 0x{tmcct:X}, timer arithmetic gives 0x{expected:X} (TMICT 0x{tmict:X}, DCR 0x{Page[ApicOffsets.TimerDivide]:X}, started {_timerStart})");
                long? expectedDue = _timerRunning ? TimeOfTicks(_timerStart, NextExpiryTicks()) : null;
                Expect(apic.TimerDue == expectedDue, $"timer due {apic.TimerDue}, timer arithmetic gives {expectedDue}");
            }
        }

        /// <summary>
        /// The power-on register values (SDM 10.4.7.1, survey A4/A5): LVR, DFR all ones, SVR 0xFF, every LVT
        /// 0x00010000, everything else 0. INIT keeps the ID (and in x2APIC mode the derived LDR).
        /// </summary>
        private void CheckPowerOnRegisters(string when, bool keepX2ApicIdentity, bool checkId)
        {
            for (var slot = 0u; slot < 0x400; slot += ApicOffsets.Stride)
            {
                if (!IsXApicRegister(slot) || slot is 0x090 or 0x0B0 or 0x0C0) continue;
                uint expected = slot switch
                {
                    0x030 => Version,
                    0x0E0 => DfrReset,
                    0x0F0 => SvrReset,
                    0x2F0 or (>= 0x320 and <= 0x370) => LvtReset,
                    _ => 0,
                };
                if (slot == 0x020)
                {
                    if (!checkId) continue;
                    expected = keepX2ApicIdentity ? Apic.InitialApicId : XApicId;
                }
                if (slot == 0x0D0 && keepX2ApicIdentity)
                {
                    expected = ((Apic.InitialApicId >> 4) << 16) | (1u << (int)(Apic.InitialApicId & 0xF));
                }
                var actual = Architectural(slot);
                Expect(actual == expected, $"{when}: register 0x{slot:X3} = 0x{actual:X8}, power-on value 0x{expected:X8}");
            }
            Expect(Save().EsrPending == 0, $"{when}: errors still pending");
            Expect(Apic.Snapshot(_h.Now).TscDeadline == 0, $"{when}: IA32_TSC_DEADLINE armed");
        }

        // ------------------------------------------------------------ one random action

        private void Step()
        {
            // A vCPU waiting for SIPI or a disabled APIC is worth a visit, not the whole walk.
            if (!Running && _rng.Next(6) == 0)
            {
                StartUp();
                return;
            }
            var roll = _rng.Next(100);
            switch (roll)
            {
                case < 16: MmioWrite(); break;
                case < 24: MmioRead(); break;
                case < 40: MsrWrite(); break;
                case < 46: MsrRead(); break;
                case < 49: ApicBaseWrite(); break;
                case < 61: AcceptFixed(); break;
                case < 65: AcceptOther(); break;
                case < 71: Acknowledge(); break;
                case < 77: Eoi(); break;
                case < 85: Advance(); break;
                case < 88: Lint(); break;
                case < 90: RaiseLocal(); break;
                case < 91: Init(); break;
                case < 94: StartUp(); break;
                case < 96: if (Running && Apic.Mode != ApicMode.Disabled) EnableSoftware(); break;
                case < 97: SaveAndRestore(); break;
                default: ProgramTimer(); break;
            }
        }

        /// <summary>The slots of the registers (and SELF IPI), ISR/TMR/IRR by their first word.</summary>
        private static readonly uint[] KnownSlots =
        [
            0x020, 0x030, 0x080, 0x090, 0x0A0, 0x0B0, 0x0C0, 0x0D0, 0x0E0, 0x0F0, 0x100, 0x180, 0x200, 0x280, 0x2F0,
            0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3E0, 0x3F0,
        ];

        /// <summary>A 16-byte slot: mostly a register's, sometimes any of the page's 256.</summary>
        private uint RandomSlot()
        {
            if (_rng.Next(4) == 0) return (uint)_rng.Next(0, 0x100) * ApicOffsets.Stride;
            var slot = KnownSlots[_rng.Next(KnownSlots.Length)];
            return slot is 0x100 or 0x180 or 0x200 ? slot + 0x10 * (uint)_rng.Next(8) : slot;
        }

        private ulong RandomValue(uint slot)
        {
            switch (_rng.Next(6))
            {
                case 0: return (ulong)_rng.NextInt64() ^ ((ulong)_rng.Next() << 63);
                case 1: return (uint)_rng.Next() ^ ((uint)_rng.Next(2) << 31);
                case 2: return (uint)_rng.Next(0, 0x200);
                case 3: return 0;
            }
            // A value shaped for the register, sometimes with one stray bit.
            uint value = slot switch
            {
                0x080 => (uint)_rng.Next(0, 0x100),
                0x0D0 => (uint)_rng.Next(0, 0x100) << 24,
                0x0E0 => _rng.Next(2) == 0 ? DfrReset : DfrCluster,
                0x0F0 => (uint)_rng.Next(0, 0x400) | (_rng.Next(2) == 0 ? 0x1000u : 0),
                0x300 => (uint)_rng.Next(0, 0x100) | ((uint)_rng.Next(8) << 8) | ((uint)_rng.Next(2) << 11)
                    | ((uint)_rng.Next(2) << 14) | ((uint)_rng.Next(2) << 15) | ((uint)_rng.Next(4) << 18),
                0x310 => (uint)_rng.Next(0, 0x100) << 24,
                0x380 => (uint)_rng.Next(1, 3000),
                0x3E0 => (uint)_rng.Next(0, 0x10),
                0x320 => (uint)_rng.Next(0, 0x100) | ((uint)_rng.Next(4) << 17) | ((uint)_rng.Next(2) << 16),
                0x350 or 0x360 => (uint)_rng.Next(0, 0x100) | ((uint)_rng.Next(8) << 8) | ((uint)_rng.Next(2) << 13)
                    | ((uint)_rng.Next(2) << 15) | ((uint)_rng.Next(2) << 16),
                0x2F0 or 0x330 or 0x340 => (uint)_rng.Next(0, 0x100) | ((uint)_rng.Next(8) << 8) | ((uint)_rng.Next(2) << 16),
                0x370 => (uint)_rng.Next(0, 0x100) | ((uint)_rng.Next(2) << 16),
                _ => (uint)_rng.Next(),
            };
            if (_rng.Next(5) == 0) value ^= 1u << _rng.Next(32);
            return value;
        }

        // ------------------------------------------------------------ xAPIC MMIO

        private void MmioWrite()
        {
            var (address, offset, size) = RandomAddress();
            MmioWrite(address, offset, size, RandomValue(offset & ~0xFu));
        }

        private void MmioWrite(ulong address, uint offset, int size, ulong value)
        {
            var slot = offset & ~0xFu;
            Note($"MMIO write 0x{address:X} size {size} value 0x{value:X}");
            var before = Save();
            var tmcctBefore = CurrentCount();
            var lvtBefore = LvtOffsets.ToDictionary(o => o, o => Page[o]);
            var isrBefore = Apic.Isr;
            var sentBefore = _h.Fx.Sent.Count;
            var eoiBefore = _h.Fx.EoiBroadcasts.Count;
            var result = Apic.WriteMmio(address, size, value, _h.Now, _h.Fx);
            if (!Running)
            {
                // apic-reference.md "Guest actions of a vCPU waiting for SIPI": nothing happens, not-running.
                Expect(result.Status == AccessStatus.NotRunning, $"write while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "MMIO write while waiting for SIPI");
                return;
            }
            Expect(result.Status == AccessStatus.Ok, $"MMIO write gave {result}");
            var inPage = Apic.Mode == ApicMode.XApic && offset < ApicOffsets.PageSize && address >= _h.PageBase;
            if (before.ApicBase != Apic.ApicBase) Fail("an MMIO write changed IA32_APIC_BASE");
            if (!inPage || size != 4 || (offset & 0xF) != 0)
            {
                // Decision 14 and "xAPIC MMIO": disabled/x2APIC page, outside it, narrow, misaligned, 64-bit: ignored, nothing recorded.
                ExpectUnchanged(before, "ignored MMIO write");
                return;
            }
            var v = (uint)value;
            if (!IsXApicRegister(slot))
            {
                // "xAPIC MMIO": a 32-bit aligned write to a reserved offset records ESR 0x80 and changes no register.
                Expect((Save().EsrPending & EsrIllegalRegister) != 0, "a write to a reserved offset did not record ESR 0x80");
                Expect(Page[ApicOffsets.Esr] == BitConverter.ToUInt32(before.Page.AsSpan((int)ApicOffsets.Esr, 4)), "the readable ESR changed without an ESR write");
                return;
            }
            if (IsXApicReadOnly(slot))
            {
                ExpectUnchanged(before, $"write to read-only register 0x{slot:X3}");
                return;
            }
            var swEnabled = (Page[ApicOffsets.Svr] & 0x100) != 0;
            switch (slot)
            {
                case 0x080:
                    Expect(Page[slot] == (v & 0xFF), $"TPR reads 0x{Page[slot]:X} after writing 0x{v:X} (survey B1)");
                    break;
                case 0x0B0:
                    CheckEoi(isrBefore, eoiBefore, before);
                    break;
                case 0x0D0:
                    Expect(Page[slot] == (v & 0xFF00_0000), $"LDR reads 0x{Page[slot]:X8} after writing 0x{v:X8} (survey B1)");
                    break;
                case 0x0E0:
                    Expect(Page[slot] == (v | 0x0FFF_FFFF), $"DFR reads 0x{Page[slot]:X8} after writing 0x{v:X8} (survey B1)");
                    break;
                case 0x0F0:
                    CheckSvrWrite(v & SvrWritable, lvtBefore);
                    break;
                case 0x280:
                    // Decision 4: any value moves the collected errors into the readable register.
                    Expect(Page[slot] == before.EsrPending, $"ESR reads 0x{Page[slot]:X} after the write, errors collected were 0x{before.EsrPending:X}");
                    Expect(Save().EsrPending == 0, "errors still collected after the ESR write");
                    break;
                case 0x300:
                    Expect(Page[slot] == (v & IcrLowWritable), $"ICR low reads 0x{Page[slot]:X8} after writing 0x{v:X8} (decision 1)");
                    Expect(Page[0x310] == BitConverter.ToUInt32(before.Page.AsSpan(0x310, 4)), "an ICR low write changed ICR high");
                    CheckIpi(v, Page[0x310] >> 24, x2Apic: false, sentBefore, before);
                    break;
                case 0x310:
                    Expect(Page[slot] == (v & 0xFF00_0000), $"ICR high reads 0x{Page[slot]:X8} after writing 0x{v:X8} (survey B3)");
                    Expect(_h.Fx.Sent.Count == sentBefore, "an ICR high write sent an IPI");
                    break;
                case 0x2F0 or (>= 0x320 and <= 0x370):
                    CheckLvtWrite(slot, v, swEnabled, lvtBefore[slot], before);
                    break;
                case 0x380:
                    CheckInitialCountWrite(v, before);
                    break;
                case 0x3E0:
                    CheckDivideWrite(v, tmcctBefore);
                    break;
            }
        }

        private void MmioRead()
        {
            var (address, offset, size) = RandomAddress();
            Note($"MMIO read 0x{address:X} size {size}");
            var before = Save();
            var slot = offset & ~0xFu;
            var expectedRegister = Apic.Mode == ApicMode.XApic && offset < ApicOffsets.PageSize && IsXApicRegister(slot) ? Architectural(slot) : 0;
            var result = Apic.ReadMmio(address, size, _h.Now, _h.Fx);
            if (!Running)
            {
                Expect(result.Status == AccessStatus.NotRunning, $"read while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "MMIO read while waiting for SIPI");
                return;
            }
            Expect(result.Status == AccessStatus.Ok, $"MMIO read gave {result}");
            var allOnes = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
            var inPage = Apic.Mode == ApicMode.XApic && offset < ApicOffsets.PageSize && address >= _h.PageBase;
            if (!inPage)
            {
                // Decision 11, "xAPIC MMIO": a disabled or x2APIC page, or an address outside it, reads all ones.
                Expect(result.Value == allOnes, $"read outside the live page gave 0x{result.Value:X}, not all ones");
                ExpectUnchanged(before, "MMIO read outside the live page");
                return;
            }
            var byteInSlot = (int)(offset & 0xF);
            if (size == 8 || byteInSlot + size > 4)
            {
                // Decision 14 and decision 8 of docs/decisions.md: 64-bit reads and reads past the register give 0, record nothing.
                Expect(result.Value == 0, $"a read past the register gave 0x{result.Value:X}");
                ExpectUnchanged(before, "MMIO read past the register");
                return;
            }
            if (!IsXApicRegister(slot))
            {
                // "xAPIC MMIO": a reserved offset reads 0 and records ESR 0x80 (any width: docs/decisions.md 8).
                Expect(result.Value == 0, $"a reserved offset read 0x{result.Value:X}");
                Expect((Save().EsrPending & EsrIllegalRegister) != 0, "a read of a reserved offset did not record ESR 0x80");
                return;
            }
            var expected = (expectedRegister >> (byteInSlot * 8)) & (uint)allOnes;
            Expect(result.Value == expected, $"read of 0x{offset:X3} size {size} gave 0x{result.Value:X}, register holds 0x{expectedRegister:X8}");
            ExpectUnchanged(before, "MMIO read of a register");
        }

        private (ulong Address, uint Offset, int Size) RandomAddress()
        {
            var size = _rng.Next(10) switch { 0 => 1, 1 => 2, 2 => 8, _ => 4 };
            var pageBase = _h.PageBase;
            if (_rng.Next(25) == 0)
            {
                // Just outside the page, on either side.
                var outside = _rng.Next(2) == 0 ? pageBase - (ulong)_rng.Next(1, 16) : pageBase + ApicOffsets.PageSize + (ulong)_rng.Next(0, 16);
                return (outside, uint.MaxValue, size);
            }
            uint offset = _rng.Next(8) switch
            {
                0 => (uint)_rng.Next(0, ApicOffsets.PageSize),
                1 => RandomSlot() + (uint)_rng.Next(0, 16),
                _ => RandomSlot(),
            };
            return (pageBase + offset, offset, size);
        }

        // ------------------------------------------------------------ checks shared by MMIO and MSR writes

        private void CheckEoi(VectorSet isrBefore, int eoiBefore, ApicState before)
        {
            // SDM 10.8.5: EOI clears the highest ISR bit; a level vector (TMR set) broadcasts unless SVR bit 12 is set; empty ISR: nothing.
            if (isrBefore.IsEmpty)
            {
                Expect(Apic.Isr.IsEmpty, "a gratuitous EOI put something in service");
                Expect(_h.Fx.EoiBroadcasts.Count == eoiBefore, "a gratuitous EOI broadcast an EOI message");
                return;
            }
            var highest = isrBefore.Highest;
            Expect(!Apic.Isr.Contains(highest), $"EOI left 0x{highest:X2} in service");
            for (var pin = 0; pin < 2; pin++)
            {
                // "LINT pins": remote IRR clears on the EOI of the LINT's vector, which fires again if the pin is still active.
                var slot = pin == 0 ? ApicOffsets.LvtLint0 : ApicOffsets.LvtLint1;
                var lvt = BitConverter.ToUInt32(before.Page.AsSpan((int)slot, 4));
                if ((lvt & LvtRemoteIrr) == 0 || (lvt & 0xFF) != highest) continue;
                var refires = (lvt & (LvtMasked | 0x700)) == 0 && _lint[pin] != ((lvt & LvtActiveLow) != 0);
                Expect(((Page[slot] & LvtRemoteIrr) != 0) == refires, $"EOI of LINT{pin} vector 0x{highest:X2}: LVT 0x{Page[slot]:X8}, pin {_lint[pin]}");
                if (refires) Expect(Apic.Irr.Contains(highest), $"EOI of LINT{pin} vector 0x{highest:X2} with the pin active did not fire again");
            }
            Expect(Apic.Isr.Count == isrBefore.Count - 1, $"EOI turned ISR {isrBefore} into {Apic.Isr}");
            var tmrWord = BitConverter.ToUInt32(before.Page.AsSpan((int)(0x180 + 0x10 * (highest >> 5)), 4));
            var level = (tmrWord & (1u << (highest & 31))) != 0;
            var suppress = (Page[ApicOffsets.Svr] & 0x1000) != 0;
            var broadcasts = _h.Fx.EoiBroadcasts.Skip(eoiBefore).ToList();
            if (level && !suppress)
            {
                Expect(broadcasts.Count == 1 && broadcasts[0] == highest, $"EOI of level vector 0x{highest:X2} broadcast [{string.Join(",", broadcasts)}]");
            }
            else
            {
                Expect(broadcasts.Count == 0, $"EOI of 0x{highest:X2} (level {level}, suppress {suppress}) broadcast [{string.Join(",", broadcasts)}]");
            }
        }

        private void CheckSvrWrite(uint svr, Dictionary<uint, uint> lvtBefore)
        {
            Expect(Page[ApicOffsets.Svr] == svr, $"SVR reads 0x{Page[ApicOffsets.Svr]:X} after writing 0x{svr:X} (survey B1)");
            foreach (var slot in LvtOffsets)
            {
                // SDM 10.4.7.2: clearing bit 8 masks every LVT; setting it unmasks nothing; nothing else in an LVT changes.
                var expected = (svr & 0x100) == 0 ? lvtBefore[slot] | LvtMasked : lvtBefore[slot];
                Expect(Page[slot] == expected, $"SVR write 0x{svr:X} turned LVT 0x{slot:X3} from 0x{lvtBefore[slot]:X8} into 0x{Page[slot]:X8}");
            }
        }

        private void CheckLvtWrite(uint slot, uint value, bool swEnabled, uint previous, ApicState before)
        {
            var expected = value & LvtMask(slot);
            // SDM 10.4.7.2 / survey C1: while software-disabled the mask bit is forced.
            if (!swEnabled) expected |= LvtMasked;
            var actual = Page[slot];
            // A level-triggered LINT may pick up remote IRR by firing at once (docs/decisions.md 4).
            var ignore = slot is 0x350 or 0x360 ? LvtRemoteIrr : 0u;
            Expect((actual & ~ignore) == (expected & ~ignore), $"LVT 0x{slot:X3} reads 0x{actual:X8} after writing 0x{value:X8} (expected 0x{expected:X8}, SW enabled {swEnabled})");
            if (slot is 0x350 or 0x360 && (expected & LvtLevel) == 0)
            {
                Expect((actual & LvtRemoteIrr) == 0, $"LINT LVT written edge-triggered kept remote IRR (docs/decisions.md 5): 0x{actual:X8}");
            }
            if (slot is 0x350 or 0x360 && (expected & LvtLevel) != 0)
            {
                // docs/decisions.md 4: an LVT write re-evaluates a level-triggered fixed LINT: active pin, unmasked and remote
                // IRR clear → it fires and sets remote IRR; otherwise remote IRR is what it was.
                var pin = slot == 0x350 ? 0 : 1;
                var kept = previous & LvtRemoteIrr;
                var vector = (int)(expected & 0xFF);
                var fires = kept == 0 && (expected & (LvtMasked | 0x700)) == 0 && _lint[pin] != ((expected & LvtActiveLow) != 0) && vector >= FirstLegalVector;
                Expect((actual & LvtRemoteIrr) == (fires ? LvtRemoteIrr : kept), $"LINT{pin} LVT 0x{previous:X8} → 0x{actual:X8} written 0x{value:X8}, pin {_lint[pin]}: remote IRR should be {(fires ? "set by firing" : kept != 0 ? "kept" : "clear")}");
                if (fires) Expect(Apic.Irr.Contains(vector) && Apic.Tmr.Contains(vector), $"LINT{pin} LVT write with the pin active did not fire 0x{vector:X2}");
            }
            if (slot == 0x320)
            {
                var wasDeadline = ((previous >> 17) & 3) == 2;
                var isDeadline = ((actual >> 17) & 3) == 2;
                var tmictBefore = BitConverter.ToUInt32(before.Page.AsSpan(0x380, 4));
                if (wasDeadline != isDeadline)
                {
                    // Decision 5 / survey I6: crossing the TSC-deadline boundary disarms: TMICT and the deadline become 0.
                    Expect(Page[0x380] == 0 && Apic.TimerDue is null, $"crossing the TSC-deadline boundary left TMICT 0x{Page[0x380]:X}, due {Apic.TimerDue}");
                    _timerRunning = false;
                }
                else
                {
                    // Decision 5: one-shot ↔ periodic keeps counting.
                    Expect(Page[0x380] == tmictBefore, $"a timer mode write that stays on one side of TSC-deadline changed TMICT 0x{tmictBefore:X} to 0x{Page[0x380]:X}");
                }
            }
        }

        private void CheckInitialCountWrite(uint count, ApicState before)
        {
            if (TimerMode == 2)
            {
                // Survey I7: in TSC-deadline mode TMICT writes are ignored.
                ExpectUnchanged(before, "TMICT write in TSC-deadline mode");
                return;
            }
            // "Timer arithmetic": TMCCT reads C right after TMICT = C; 0 stops the timer.
            Expect(Page[0x380] == count, $"TMICT reads 0x{Page[0x380]:X} after writing 0x{count:X}");
            if (count == 0) _timerRunning = false;
            else StartShadowTimer((UInt128)count * Divisor);
            Expect(CurrentCount() == count, $"TMCCT reads 0x{CurrentCount():X} right after TMICT = 0x{count:X}");
            Expect(count == 0 ? Apic.TimerDue is null : Apic.TimerDue is not null, $"TMICT 0x{count:X}: timer due {Apic.TimerDue}");
        }

        private void CheckDivideWrite(uint dcr, uint tmcctBefore)
        {
            Expect(Page[0x3E0] == (dcr & 0xB), $"DCR reads 0x{Page[0x3E0]:X} after writing 0x{dcr:X} (survey I1)");
            // docs/decisions.md 10: the count is kept and counting continues at the new rate from the write; the reload stays TMICT.
            if (_timerRunning && TimerMode != 2) StartShadowTimer((UInt128)tmcctBefore * Divisor);
            // "Timer arithmetic": a DCR write while the timer runs keeps the current count.
            Expect(CurrentCount() == tmcctBefore, $"DCR write changed TMCCT 0x{tmcctBefore:X} to 0x{CurrentCount():X}");
        }

        /// <summary>What an ICR write must send (profile decisions 7–10, "IPIs" edge cases).</summary>
        private void CheckIpi(uint low, uint destination, bool x2Apic, int sentBefore, ApicState before)
        {
            var vector = (byte)low;
            var mode = (DeliveryMode)((low >> 8) & 7);
            var shorthand = (DestinationShorthand)((low >> 18) & 3);
            var selfIncluded = shorthand is DestinationShorthand.Self or DestinationShorthand.AllIncludingSelf;
            var levelDeassert = (low & IcrLevel) != 0 && (low & IcrAssert) == 0;
            var illegal = mode is DeliveryMode.Fixed or DeliveryMode.LowestPriority && vector < FirstLegalVector;
            var sends = mode switch
            {
                DeliveryMode.Fixed or DeliveryMode.LowestPriority => !illegal,
                DeliveryMode.Nmi or DeliveryMode.Smi or DeliveryMode.StartUp => !selfIncluded,
                DeliveryMode.Init => !selfIncluded && !levelDeassert,
                _ => false,
            };
            var sent = _h.Fx.Sent.Skip(sentBefore).ToList();
            if (!sends)
            {
                Expect(sent.Count == 0, $"ICR 0x{low:X8} sent {string.Join(",", sent)}, which the profile forbids");
            }
            else
            {
                Expect(sent.Count == 1, $"ICR 0x{low:X8} sent {sent.Count} requests");
                var request = sent[0];
                Expect(request.Mode == mode && request.Vector == vector && request.Shorthand == shorthand
                    && request.Logical == ((low & IcrLogical) != 0) && request.Destination == destination
                    && request.Trigger == TriggerMode.Edge && request.X2ApicFormat == x2Apic,
                    $"ICR 0x{low:X8} dest 0x{destination:X} sent {request} (decision 9: always edge)");
            }
            if (illegal)
            {
                Expect((Save().EsrPending & EsrSendIllegalVector) != 0, $"ICR 0x{low:X8}: illegal vector did not record ESR 0x20");
            }
            else
            {
                Expect(Save().EsrPending == before.EsrPending, $"ICR 0x{low:X8} recorded an error 0x{Save().EsrPending:X}");
            }
        }

        // ------------------------------------------------------------ MSRs

        private uint RandomMsr() => _rng.Next(12) switch
        {
            0 => ApicMsrs.ApicBase,
            1 => ApicMsrs.TscDeadline,
            2 => (uint)_rng.Next(),
            3 => (uint)_rng.Next(0x800, 0x900),
            _ => ApicOffsets.ToMsr(RandomSlot()),
        };

        private void MsrRead()
        {
            var msr = RandomMsr();
            Note($"RDMSR 0x{msr:X}");
            var before = Save();
            var slot = (msr - 0x800) << 4;
            var expectedRegister = msr is >= 0x800 and <= 0x8FF && IsX2ApicReadable(msr) ? Architectural(slot) : 0;
            var result = Apic.ReadMsr(msr, _h.Now, _h.Fx);
            if (!Running)
            {
                Expect(result.Status == AccessStatus.NotRunning, $"RDMSR while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "RDMSR while waiting for SIPI");
                return;
            }
            ExpectUnchanged(before, $"RDMSR 0x{msr:X}");
            switch (msr)
            {
                case ApicMsrs.ApicBase:
                    Expect(result.IsOk && result.Value == Apic.ApicBase, $"RDMSR IA32_APIC_BASE gave {result}");
                    return;
                case ApicMsrs.TscDeadline:
                    Expect(result.IsOk, $"RDMSR IA32_TSC_DEADLINE gave {result}");
                    if (TimerMode != 2) Expect(result.Value == 0, $"IA32_TSC_DEADLINE reads 0x{result.Value:X} outside TSC-deadline mode (SDM 10.5.4.1)");
                    return;
                case >= 0x800 and <= 0x8FF:
                    // Survey G4: the whole range #GPs outside x2APIC mode, and wherever there is nothing to read.
                    var readable = Apic.Mode == ApicMode.X2Apic && IsX2ApicReadable(msr);
                    Expect(result.Status == (readable ? AccessStatus.Ok : AccessStatus.GeneralProtection), $"RDMSR 0x{msr:X} in {Apic.Mode} mode gave {result}");
                    if (!readable) return;
                    var expected = msr == 0x830 ? Page[0x300] | ((ulong)Page[0x310] << 32) : expectedRegister;
                    Expect(result.Value == expected, $"RDMSR 0x{msr:X} gave 0x{result.Value:X}, register holds 0x{expected:X}");
                    return;
                default:
                    // "IA32_APIC_BASE": any MSR other than 0x1B, 0x6E0 and 0x800–0x8FF raises #GP.
                    Expect(result.Status == AccessStatus.GeneralProtection, $"RDMSR 0x{msr:X} gave {result}");
                    return;
            }
        }

        private void MsrWrite()
        {
            var msr = RandomMsr();
            if (msr == ApicMsrs.ApicBase)
            {
                ApicBaseWrite();
                return;
            }
            var value = msr == ApicMsrs.TscDeadline ? RandomDeadline() : RandomValue((msr - 0x800) << 4);
            if (msr == 0x830 && _rng.Next(2) == 0) value = (value & 0xFFFF_FFFF) | ((ulong)(uint)_rng.Next() << 32);
            if (msr == 0x83F && _rng.Next(2) == 0) value &= 0xFF;
            if (msr is 0x80B or 0x828 && _rng.Next(2) == 0) value = 0;
            MsrWrite(msr, value);
        }

        private void MsrWrite(uint msr, ulong value)
        {
            var slot = (msr - 0x800) << 4;
            Note($"WRMSR 0x{msr:X} 0x{value:X}");
            var before = Save();
            var tmcctBefore = CurrentCount();
            var lvtBefore = LvtOffsets.ToDictionary(o => o, o => Page[o]);
            var isrBefore = Apic.Isr;
            var sentBefore = _h.Fx.Sent.Count;
            var eoiBefore = _h.Fx.EoiBroadcasts.Count;
            var effectsBefore = _h.Fx.Log.Count;
            var swEnabled = (Page[ApicOffsets.Svr] & 0x100) != 0;
            var result = Apic.WriteMsr(msr, value, _h.Now, _h.Fx);
            if (!Running)
            {
                Expect(result.Status == AccessStatus.NotRunning, $"WRMSR while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "WRMSR while waiting for SIPI");
                return;
            }
            if (msr == ApicMsrs.TscDeadline)
            {
                Expect(result.IsOk, $"WRMSR IA32_TSC_DEADLINE gave {result}");
                if (TimerMode != 2)
                {
                    ExpectUnchanged(before, "IA32_TSC_DEADLINE write outside TSC-deadline mode (SDM 10.5.4.1)");
                    return;
                }
                // "Timer arithmetic": DL is due at the first ns with floor(ns · tsc-hz / 10⁹) ≥ DL; one already due fires
                // during the WRMSR, and the MSR then reads 0 (survey I7); 0 disarms.
                var tscHz = (ulong)Apic.Config.TscHz;
                var dueNs = ((UInt128)value * 1_000_000_000 + tscHz - 1) / tscHz;
                var deadline = Apic.Snapshot(_h.Now).TscDeadline;
                if (value == 0 || dueNs <= (UInt128)_h.Now)
                {
                    Expect(deadline == 0 && Apic.TimerDue is null, $"deadline 0x{value:X} (due {dueNs}, now {_h.Now}): MSR reads 0x{deadline:X}, due {Apic.TimerDue}");
                    var lvt = Page[ApicOffsets.LvtTimer];
                    var fires = value != 0 && (lvt & LvtMasked) == 0 && (lvt & 0xFF) >= FirstLegalVector;
                    if (fires) Expect(Apic.Irr.Contains((int)(lvt & 0xFF)), "a deadline already due did not fire during the WRMSR");
                }
                else
                {
                    long? expectedDue = dueNs > long.MaxValue ? null : (long)dueNs;
                    Expect(deadline == value && Apic.TimerDue == expectedDue, $"deadline 0x{value:X}: MSR reads 0x{deadline:X}, due {Apic.TimerDue}, expected {expectedDue}");
                }
                return;
            }
            if (msr is < 0x800 or > 0x8FF)
            {
                Expect(result.Status == AccessStatus.GeneralProtection, $"WRMSR 0x{msr:X} gave {result}");
                ExpectUnchanged(before, $"faulting WRMSR 0x{msr:X}");
                return;
            }
            var fault = ExpectedX2ApicWriteFault(msr, value, before);
            Expect(result.Status == (fault is null ? AccessStatus.Ok : AccessStatus.GeneralProtection),
                $"WRMSR 0x{msr:X} 0x{value:X} in {Apic.Mode} mode gave {result}; expected {fault ?? "success"}");
            if (fault is not null)
            {
                // Survey convention: "#GP means the access faults and nothing changes".
                ExpectUnchanged(before, $"faulting WRMSR 0x{msr:X} ({fault})");
                Expect(_h.Fx.Log.Count == effectsBefore, $"faulting WRMSR 0x{msr:X} had effects: {string.Join("; ", _h.Fx.Log.Skip(effectsBefore))}");
                return;
            }
            var v = (uint)value;
            switch (msr)
            {
                case 0x808:
                    Expect(Page[0x080] == v, $"TPR reads 0x{Page[0x080]:X} after WRMSR 0x{v:X}");
                    break;
                case 0x80B:
                    CheckEoi(isrBefore, eoiBefore, before);
                    break;
                case 0x80F:
                    CheckSvrWrite(v, lvtBefore);
                    break;
                case 0x828:
                    Expect(Page[0x280] == before.EsrPending && Save().EsrPending == 0, $"WRMSR ESR 0: reads 0x{Page[0x280]:X}, collected 0x{before.EsrPending:X}");
                    break;
                case 0x830:
                    // Survey G3: the read returns the write (bit 12 reads 0); 0x831 does not exist.
                    Expect(Page[0x300] == (v & ~IcrDeliveryStatus) && Page[0x310] == (uint)(value >> 32), $"ICR reads 0x{Page[0x310]:X8}_{Page[0x300]:X8} after WRMSR 0x{value:X}");
                    CheckIpi(v, (uint)(value >> 32), x2Apic: true, sentBefore, before);
                    break;
                case 0x82F or (>= 0x832 and <= 0x837):
                    CheckLvtWrite(slot, v, swEnabled, lvtBefore[slot], before);
                    break;
                case 0x838:
                    CheckInitialCountWrite(v, before);
                    break;
                case 0x83E:
                    CheckDivideWrite(v, tmcctBefore);
                    break;
                case 0x83F:
                    // SDM 10.12.11: a fixed, edge IPI to self; a vector below 16 records ESR 0x20 instead (decision 10).
                    CheckIpi(v | (1u << 18), Apic.InitialApicId, x2Apic: true, sentBefore, before);
                    break;
            }
        }

        /// <summary>Why a WRMSR in 0x800–0x8FF must #GP (survey G3–G5, G8; profile decisions 2 and 3), or null.</summary>
        private string? ExpectedX2ApicWriteFault(uint msr, ulong value, ApicState before)
        {
            if ((before.ApicBase & ApicBaseExtd) == 0) return "not in x2APIC mode";
            if (!IsX2ApicWritable(msr)) return "not writable";
            var low = (uint)value;
            if (msr == 0x830) return (low & IcrX2ApicReserved) != 0 ? "ICR reserved bits" : null;
            if ((value >> 32) != 0) return "bits 63:32";
            return msr switch
            {
                0x808 when low > 0xFF => "TPR bits 31:8",
                0x80B when low != 0 => "non-zero EOI",
                0x80F when (low & ~SvrWritable) != 0 => "SVR reserved bits",
                0x828 when low != 0 => "non-zero ESR",
                0x83F when low > 0xFF => "SELF IPI bits 31:8",
                0x82F or (>= 0x832 and <= 0x837) when (low & ~(LvtMask((msr - 0x800) << 4) | LvtDeliveryStatus | LvtRemoteIrr)) != 0 => "LVT reserved bits",
                _ => null,
            };
        }

        private ulong RandomDeadline()
        {
            var tsc = Apic.ReadTsc(_h.Now) is { IsOk: true } r ? r.Value : 0;
            return _rng.Next(4) switch
            {
                0 => 0,
                1 => tsc > 0 ? tsc - (ulong)_rng.Next(0, (int)Math.Min(tsc, 1000)) : 0,
                2 => (ulong)_rng.NextInt64(),
                _ => tsc + (ulong)_rng.Next(1, 5000),
            };
        }

        // ------------------------------------------------------------ IA32_APIC_BASE

        private void ApicBaseWrite()
        {
            var current = Apic.ApicBase;
            ulong value = _rng.Next(3) switch
            {
                0 => (ulong)_rng.NextInt64(),
                _ => (_rng.Next(4) == 0 ? AlternateBase : DefaultBase)
                    | (_rng.Next(3) != 0 ? ApicBaseEnable : 0)
                    | (_rng.Next(2) == 0 ? ApicBaseExtd : 0)
                    | (_rng.Next(2) == 0 ? ApicBaseBsp : 0),
            };
            if (_rng.Next(8) == 0) value |= 1UL << _rng.Next(64);
            Note($"WRMSR IA32_APIC_BASE 0x{value:X} (from 0x{current:X})");
            var before = Save();
            var modeBefore = Apic.Mode;
            var result = Apic.WriteMsr(ApicMsrs.ApicBase, value, _h.Now, _h.Fx);
            if (!Running)
            {
                Expect(result.Status == AccessStatus.NotRunning, $"WRMSR while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "WRMSR while waiting for SIPI");
                return;
            }
            // Profile decision 12 and survey F2/F4.
            var en = (value & ApicBaseEnable) != 0;
            var extd = (value & ApicBaseExtd) != 0;
            var target = !en ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic;
            string? fault =
                (value & ~ApicBaseDefined) != 0 ? "reserved bits"
                : !en && extd ? "EXTD without EN"
                : modeBefore == ApicMode.Disabled && target == ApicMode.X2Apic ? "disabled → x2APIC"
                : modeBefore == ApicMode.X2Apic && target == ApicMode.XApic ? "x2APIC → xAPIC"
                : null;
            Expect(result.Status == (fault is null ? AccessStatus.Ok : AccessStatus.GeneralProtection), $"IA32_APIC_BASE 0x{value:X} from {modeBefore} gave {result}, expected {fault ?? "success"}");
            if (fault is not null)
            {
                ExpectUnchanged(before, $"faulting IA32_APIC_BASE write ({fault})");
                return;
            }
            var expectedBase = (value & ~ApicBaseBsp) | (current & ApicBaseBsp);
            Expect(Apic.ApicBase == expectedBase, $"IA32_APIC_BASE reads 0x{Apic.ApicBase:X}, expected 0x{expectedBase:X} (bit 8 read-only)");
            Expect(Apic.Mode == target, $"mode {Apic.Mode} after IA32_APIC_BASE 0x{value:X}");
            if (target == ApicMode.Disabled) _timerRunning = false;
            if (modeBefore == target)
            {
                // A write that keeps the mode only moves the base.
                ExpectUnchanged(before with { ApicBase = Apic.ApicBase }, "IA32_APIC_BASE write that keeps the mode");
                return;
            }
            switch (modeBefore, target)
            {
                case (ApicMode.Disabled, ApicMode.XApic):
                    CheckPowerOnRegisters("disabled → xAPIC", keepX2ApicIdentity: false, checkId: true);
                    break;
                case (ApicMode.XApic, ApicMode.X2Apic):
                    // SDM 10.12.5.1, survey F1: ID becomes the full initial ID, LDR derived, ICR destination cleared; the rest is kept.
                    Expect(Page[0x310] == 0, $"entering x2APIC mode left ICR destination 0x{Page[0x310]:X}");
                    for (var offset = 0; offset < ApicOffsets.PageSize; offset += 4)
                    {
                        if (offset is 0x020 or 0x0D0 or 0x310) continue;
                        var a = BitConverter.ToUInt32(before.Page.AsSpan(offset, 4));
                        Expect(Page[(uint)offset] == a, $"entering x2APIC mode changed 0x{offset:X3} from 0x{a:X8} to 0x{Page[(uint)offset]:X8}");
                    }
                    break;
            }
        }

        // ------------------------------------------------------------ interrupt messages and the core

        private void AcceptFixed()
        {
            var vector = (byte)(_rng.Next(12) == 0 ? _rng.Next(0, 16) : _rng.Next(16, 256));
            var trigger = _rng.Next(3) == 0 ? TriggerMode.Level : TriggerMode.Edge;
            var assert = _rng.Next(10) != 0;
            var mode = _rng.Next(5) == 0 ? DeliveryMode.LowestPriority : DeliveryMode.Fixed;
            Deliver(new InterruptMessage(mode, vector, trigger, assert));
        }

        private void AcceptOther()
        {
            var mode = (DeliveryMode)_rng.Next(0, 8);
            if (mode == DeliveryMode.Init && _rng.Next(3) != 0) mode = DeliveryMode.Nmi;
            Deliver(new InterruptMessage(mode, (byte)_rng.Next(0, 256), _rng.Next(2) == 0 ? TriggerMode.Level : TriggerMode.Edge, _rng.Next(4) != 0));
        }

        private void Init() => Deliver(new InterruptMessage(DeliveryMode.Init, 0, TriggerMode.Edge, _rng.Next(2) == 0));

        private void StartUp() => Deliver(InterruptMessage.StartUp((byte)_rng.Next(0, 256)));

        private void Deliver(InterruptMessage message)
        {
            Note($"accept {message}");
            var before = Save();
            var irrBefore = Apic.Irr;
            var swEnabled = (Page[ApicOffsets.Svr] & 0x100) != 0;
            var outcome = Apic.Accept(message, _h.Now, _h.Fx);
            if (Apic.Mode == ApicMode.Disabled)
            {
                // "A hardware-disabled APIC receives no interrupt message of any kind".
                Expect(outcome == AcceptOutcome.DroppedHardwareDisabled, $"hardware-disabled APIC answered {outcome}");
                ExpectUnchanged(before, "message to a hardware-disabled APIC");
                return;
            }
            switch (message.Mode)
            {
                case DeliveryMode.Fixed or DeliveryMode.LowestPriority:
                    if (message.Trigger == TriggerMode.Level && !message.Assert)
                    {
                        // "MSIs": a level-triggered message with the level bit clear is a de-assert and is dropped.
                        ExpectUnchanged(before, "level de-assert");
                        return;
                    }
                    if (!swEnabled)
                    {
                        // SDM 10.4.7.2; docs/decisions.md 17: dropped before the vector is looked at.
                        Expect(outcome == AcceptOutcome.DroppedSoftwareDisabled, $"software-disabled APIC answered {outcome}");
                        ExpectUnchanged(before, "fixed message to a software-disabled APIC");
                        return;
                    }
                    if (message.Vector < FirstLegalVector)
                    {
                        // Decision 10: not accepted; ESR 0x40.
                        Expect(outcome == AcceptOutcome.DroppedIllegalVector && OnlyErrorInterrupt(irrBefore), $"vector 0x{message.Vector:X} gave {outcome}, IRR {Apic.Irr}");
                        Expect((Save().EsrPending & EsrReceiveIllegalVector) != 0, "receive illegal vector not recorded");
                        return;
                    }
                    // "Acceptance": IRR set (coalescing), TMR = trigger (docs/decisions.md 3 also for a coalesced one).
                    var wasSet = irrBefore.Contains(message.Vector);
                    Expect(outcome == (wasSet ? AcceptOutcome.Coalesced : AcceptOutcome.Accepted), $"accept 0x{message.Vector:X2} gave {outcome}");
                    Expect(Apic.Irr == irrBefore.With(message.Vector), $"IRR {irrBefore} became {Apic.Irr} on accepting 0x{message.Vector:X2}");
                    Expect(Apic.Tmr.Contains(message.Vector) == (message.Trigger == TriggerMode.Level), $"TMR bit of 0x{message.Vector:X2} does not follow trigger {message.Trigger}");
                    return;
                case DeliveryMode.Nmi or DeliveryMode.Smi:
                    if (before.RunState != VcpuRunState.Running)
                    {
                        Expect(outcome == AcceptOutcome.DroppedNotRunning, $"NMI/SMI while waiting for SIPI gave {outcome}");
                        ExpectUnchanged(before, "NMI/SMI while waiting for SIPI");
                        return;
                    }
                    var counted = message.Mode == DeliveryMode.Nmi ? Apic.NmiCount == before.NmiCount + 1 : Apic.SmiCount == before.SmiCount + 1;
                    Expect(counted, $"{message.Mode} not taken: {outcome}");
                    ExpectUnchanged(before with { NmiCount = Apic.NmiCount, SmiCount = Apic.SmiCount }, "NMI/SMI bypass IRR and ISR");
                    return;
                case DeliveryMode.Init:
                    if (message.Trigger == TriggerMode.Level && !message.Assert)
                    {
                        // Decision 8: INIT level de-assert is ignored.
                        ExpectUnchanged(before, "INIT level de-assert");
                        return;
                    }
                    // "INIT / SIPI": power-on registers except the ID and IA32_APIC_BASE; an AP waits for SIPI.
                    Expect(outcome == AcceptOutcome.InitReset, $"INIT gave {outcome}");
                    Expect(Apic.ApicBase == before.ApicBase, "INIT changed IA32_APIC_BASE");
                    Expect(Apic.RunState == (Apic.Config.IsBsp ? VcpuRunState.Running : VcpuRunState.WaitForSipi), $"INIT left run state {Apic.RunState}");
                    Expect(Apic.NmiCount == before.NmiCount && Apic.SmiCount == before.SmiCount && Apic.SipiVector == before.SipiVector, "INIT cleared the NMI/SMI counts or the SIPI vector");
                    _timerRunning = false;
                    CheckPowerOnRegisters("after INIT", keepX2ApicIdentity: Apic.Mode == ApicMode.X2Apic, checkId: true);
                    Expect(Apic.TimerDue is null, "INIT left the timer armed");
                    return;
                case DeliveryMode.StartUp:
                    if (before.RunState == VcpuRunState.WaitForSipi)
                    {
                        Expect(outcome == AcceptOutcome.Started && Apic.RunState == VcpuRunState.Running && Apic.SipiVector == message.Vector, $"SIPI gave {outcome}");
                        ExpectUnchanged(before with { RunState = VcpuRunState.Running, SipiVector = message.Vector }, "SIPI touches only the run state");
                    }
                    else
                    {
                        Expect(outcome == AcceptOutcome.DroppedNotWaitingForSipi, $"SIPI to a running vCPU gave {outcome}");
                        ExpectUnchanged(before, "SIPI to a running vCPU");
                    }
                    return;
                default:
                    // "IPIs": reserved delivery mode 3 and ExtINT carry nothing.
                    ExpectUnchanged(before, $"{message.Mode} message");
                    return;
            }
        }

        /// <summary>IRR is as before, but for the Error LVT's vector: a newly recorded error fires it when unmasked (decision 4).</summary>
        private bool OnlyErrorInterrupt(VectorSet irrBefore)
        {
            var error = Page[ApicOffsets.LvtError];
            return Apic.Irr == irrBefore || ((error & LvtMasked) == 0 && Apic.Irr == irrBefore.With((int)(error & 0xFF)));
        }

        private void Acknowledge()
        {
            Note("acknowledge");
            var before = Save();
            var pending = Apic.PendingVector;
            var irrBefore = Apic.Irr;
            var isrBefore = Apic.Isr;
            var result = Apic.Acknowledge(_h.Now, _h.Fx);
            if (!Running)
            {
                Expect(result.Status == AccessStatus.NotRunning, $"acknowledge while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "acknowledge while waiting for SIPI");
                return;
            }
            if (pending < 0)
            {
                Expect(result.Status == AccessStatus.None, $"acknowledge with nothing pending gave {result}");
                ExpectUnchanged(before, "acknowledge with nothing pending");
                return;
            }
            // Survey ACK(): the highest IRR bit moves into ISR.
            Expect(result.IsOk && (int)result.Value == pending, $"acknowledge gave {result}, pending was 0x{pending:X2}");
            Expect(!Apic.Irr.Contains(pending) && Apic.Irr.Count == irrBefore.Count - 1, $"acknowledge of 0x{pending:X2}: IRR {irrBefore} → {Apic.Irr}");
            Expect(Apic.Isr == isrBefore.With(pending), $"acknowledge of 0x{pending:X2}: ISR {isrBefore} → {Apic.Isr}");
        }

        private void Eoi()
        {
            if (Apic.Mode == ApicMode.X2Apic || _rng.Next(2) == 0)
            {
                Note("EOI");
                var before = Save();
                var isrBefore = Apic.Isr;
                var eoiBefore = _h.Fx.EoiBroadcasts.Count;
                var result = Apic.Eoi(_h.Now, _h.Fx);
                if (!Running)
                {
                    Expect(result.Status == AccessStatus.NotRunning, $"EOI while waiting for SIPI gave {result}");
                    ExpectUnchanged(before, "EOI while waiting for SIPI");
                    return;
                }
                Expect(result.IsOk, $"EOI gave {result}");
                if (Apic.Mode != ApicMode.Disabled) CheckEoi(isrBefore, eoiBefore, before);
                else ExpectUnchanged(before, "EOI of a hardware-disabled APIC");
                return;
            }
            MmioWriteAt(ApicOffsets.Eoi, (uint)_rng.Next());
        }

        private void MmioWriteAt(uint offset, uint value)
        {
            Note($"MMIO write 0x{offset:X3} value 0x{value:X}");
            var before = Save();
            var isrBefore = Apic.Isr;
            var eoiBefore = _h.Fx.EoiBroadcasts.Count;
            var result = Apic.WriteMmio(_h.PageBase + offset, 4, value, _h.Now, _h.Fx);
            if (!Running || Apic.Mode != ApicMode.XApic)
            {
                if (!Running) Expect(result.Status == AccessStatus.NotRunning, $"write while waiting for SIPI gave {result}");
                ExpectUnchanged(before, "EOI write to a page that does not answer");
                return;
            }
            // Survey E1: in xAPIC mode the value written to EOI is ignored.
            CheckEoi(isrBefore, eoiBefore, before);
        }

        /// <summary>
        /// The whole state moves to a fresh APIC of the same vCPU, restored later in virtual time; the walk goes on
        /// there. Everything observable must be as it was, the timer shifted by the same amount.
        /// </summary>
        private void SaveAndRestore()
        {
            var shift = _rng.Next(3) == 0 ? 0 : _rng.Next(1, 1_000_000);
            Note($"save, restore {shift} ns later");
            var state = Save();
            var snapshot = Apic.Snapshot(_h.Now);
            var config = Apic.Config;
            var copy = ApicHarness.PowerOn(config.InitialApicId, config.IsBsp, config.StartInX2Apic, config.StartRunning, config.TimerHz, config.TscHz, config.Index);
            copy.Now = _h.Now + shift;
            copy.Apic.Restore(state, copy.Now, copy.Fx);
            _h.Dispose();
            _h = copy;
            _timerStart += shift;
            // An expiry the shift moves past the last representable ns is never reached: not armed.
            long? due = snapshot.TimerDueNs is long d ? (d > long.MaxValue - shift ? null : d + shift) : null;
            var restored = Apic.Snapshot(_h.Now);
            Expect(restored == snapshot with { TimerDueNs = due }, $"restored {restored}, saved {snapshot}");
            Expect(state.Page.AsSpan().SequenceEqual(Page.Bytes), "the restored page differs");
            var resaved = Save();
            var dueIn = due is long at ? at - _h.Now : -1;
            Expect(SameState(resaved, state with { TimerDueInNs = dueIn }), $"saving the restored APIC gives {resaved with { Page = default }}, not {state with { Page = default }}");
        }

        // ------------------------------------------------------------ time, timer and local sources

        private void ProgramTimer()
        {
            if (!Running || Apic.Mode == ApicMode.Disabled) return;
            // A timer worth watching: an LVT mode and vector, a divide and a small count.
            var lvt = (uint)_rng.Next(16, 0x100) | ((uint)_rng.Next(3) << 17) | (_rng.Next(4) == 0 ? LvtMasked : 0);
            Note("program the timer");
            WriteRegister(ApicOffsets.LvtTimer, lvt);
            if (_rng.Next(3) == 0) WriteRegister(ApicOffsets.TimerDivide, (uint)_rng.Next(0, 16));
            if (((lvt >> 17) & 3) == 2) MsrWrite(ApicMsrs.TscDeadline, RandomDeadline());
            else WriteRegister(ApicOffsets.TimerInitialCount, (uint)_rng.Next(1, 4000));
        }

        /// <summary>A checked 32-bit write through the access path of the current mode.</summary>
        private void WriteRegister(uint slot, uint value)
        {
            if (Apic.Mode == ApicMode.X2Apic) MsrWrite(ApicOffsets.ToMsr(slot), value);
            else MmioWrite(_h.PageBase + slot, slot, 4, value);
        }

        /// <summary>Time passes; every expiry on the way happens at its own time, in order ("Timer arithmetic").</summary>
        private void Advance()
        {
            var until = _h.Now + _rng.Next(0, 20_000);
            Note($"advance to {until}");
            while (Apic.TimerDue is long due && due <= until)
            {
                _h.Now = Math.Max(_h.Now, due);
                Expire();
            }
            _h.Now = until;
        }

        private void Expire()
        {
            var before = Save();
            var lvt = Page[ApicOffsets.LvtTimer];
            var mode = TimerMode;
            var irrBefore = Apic.Irr;
            var tmict = Page[ApicOffsets.TimerInitialCount];
            var swEnabled = (Page[ApicOffsets.Svr] & 0x100) != 0;
            Note($"expiry at {_h.Now} (LVTT 0x{lvt:X8}, TMICT 0x{tmict:X})");
            Expect(Apic.ExpireTimer(_h.Now, _h.Fx), "the timer due now did not expire");
            var vector = (int)(lvt & 0xFF);
            if ((lvt & LvtMasked) != 0 || !swEnabled)
            {
                // SDM 10.5.4: a masked timer still counts but delivers nothing.
                Expect(Apic.Irr == irrBefore && Save().EsrPending == before.EsrPending, $"masked timer delivered: IRR {irrBefore} → {Apic.Irr}");
            }
            else if (vector < FirstLegalVector)
            {
                Expect(OnlyErrorInterrupt(irrBefore) && (Save().EsrPending & EsrReceiveIllegalVector) != 0, "timer LVT vector below 16 was not refused with ESR 0x40");
            }
            else
            {
                Expect(Apic.Irr.Contains(vector), $"timer expiry did not set IRR bit 0x{vector:X2}");
            }
            if (mode == 2)
            {
                // Survey I7: the MSR reads 0 after firing.
                Expect(Apic.Snapshot(_h.Now).TscDeadline == 0, "IA32_TSC_DEADLINE still set after firing");
            }
            else if (mode == 1)
            {
                // Survey I3: a periodic timer reloads and is never stuck at 0.
                Expect(CurrentCount() > 0 && Apic.TimerDue is not null, $"periodic timer after expiry: TMCCT 0x{CurrentCount():X}, due {Apic.TimerDue}");
            }
            else
            {
                // Survey I2: one-shot: TMCCT 0 until reprogrammed, TMICT unchanged.
                _timerRunning = false;
                Expect(CurrentCount() == 0 && Page[ApicOffsets.TimerInitialCount] == tmict && Apic.TimerDue is null, "one-shot timer after expiry");
            }
        }

        private void Lint()
        {
            var pin = _rng.Next(2);
            var level = _rng.Next(2) == 0;
            Note($"LINT{pin} = {level}");
            var localBefore = _h.Fx.Local.Count;
            var before = Save();
            var previous = _lint[pin];
            _lint[pin] = level;
            var slot = pin == 0 ? ApicOffsets.LvtLint0 : ApicOffsets.LvtLint1;
            var lvt = Page[slot];
            var irrBefore = Apic.Irr;
            Apic.SetLint(pin, level, _h.Now, _h.Fx);
            var pins = before with { Lint0 = _lint[0], Lint1 = _lint[1] };
            if (Apic.Mode == ApicMode.Disabled)
            {
                // "A hardware-disabled APIC": LINT1 is the NMI pin, LINT0 the INTR pin (no PIC: no effect).
                var nmi = pin == 1 && level && !previous && before.RunState == VcpuRunState.Running;
                ExpectUnchanged(pins with { NmiCount = before.NmiCount + (nmi ? 1 : 0) }, $"LINT{pin} of a hardware-disabled APIC");
                return;
            }
            var active = level != ((lvt & LvtActiveLow) != 0);
            var wasActive = previous != ((lvt & LvtActiveLow) != 0);
            var mode = (DeliveryMode)((lvt >> 8) & 7);
            var vector = (int)(lvt & 0xFF);
            if ((lvt & LvtMasked) != 0)
            {
                // "A masked LVT drops edges" (and a masked level source does not fire).
                ExpectUnchanged(pins, $"masked LINT{pin}");
                return;
            }
            if (mode == DeliveryMode.Fixed && (lvt & LvtLevel) != 0)
            {
                // "LINT pins": a level-triggered fixed LINT fires while active with remote IRR clear, and sets remote IRR when accepted.
                if (!active || (lvt & LvtRemoteIrr) != 0)
                {
                    ExpectUnchanged(pins, $"level LINT{pin} inactive or with remote IRR set");
                    return;
                }
                if (vector < FirstLegalVector)
                {
                    Expect((Page[slot] & LvtRemoteIrr) == 0 && (Save().EsrPending & EsrReceiveIllegalVector) != 0, $"level LINT{pin} with vector 0x{vector:X}: LVT 0x{Page[slot]:X8}");
                    return;
                }
                Expect(Apic.Irr.Contains(vector) && Apic.Tmr.Contains(vector) && (Page[slot] & LvtRemoteIrr) != 0,
                    $"active level LINT{pin} 0x{vector:X2}: IRR {Apic.Irr}, TMR {Apic.Tmr}, LVT 0x{Page[slot]:X8}");
                return;
            }
            if (!active || wasActive)
            {
                // Edge sources fire on the inactive→active edge only.
                ExpectUnchanged(pins, $"LINT{pin} without an inactive→active edge");
                return;
            }
            switch (mode)
            {
                case DeliveryMode.Fixed:
                    if (vector >= FirstLegalVector) Expect(Apic.Irr.Contains(vector) && !Apic.Tmr.Contains(vector), $"edge LINT{pin} 0x{vector:X2}: IRR {Apic.Irr}, TMR {Apic.Tmr}");
                    else Expect(OnlyErrorInterrupt(irrBefore), $"edge LINT{pin} with vector 0x{vector:X} reached IRR");
                    break;
                case DeliveryMode.Nmi:
                case DeliveryMode.Smi:
                    var taken = before.RunState == VcpuRunState.Running ? 1 : 0;
                    ExpectUnchanged(pins with
                    {
                        NmiCount = before.NmiCount + (mode == DeliveryMode.Nmi ? taken : 0),
                        SmiCount = before.SmiCount + (mode == DeliveryMode.Smi ? taken : 0),
                    }, $"LINT{pin} {mode}");
                    break;
                case DeliveryMode.Init:
                    break;
                default:
                    // ExtINT has no visible effect (no PIC); reserved modes carry nothing.
                    ExpectUnchanged(pins, $"LINT{pin} {mode}");
                    break;
            }
            AfterLocalSource(localBefore);
        }

        /// <summary>An LVT in INIT mode makes the APIC INIT itself (docs/decisions.md 15): power-on registers.</summary>
        private void AfterLocalSource(int localBefore)
        {
            if (!_h.Fx.Local.Skip(localBefore).Any(l => l.Outcome == AcceptOutcome.InitReset)) return;
            _timerRunning = false;
            CheckPowerOnRegisters("after INIT through an LVT", keepX2ApicIdentity: Apic.Mode == ApicMode.X2Apic, checkId: true);
        }

        private void RaiseLocal()
        {
            // The Error LVT fires on recorded errors, which CheckEffects follows; the other sources may be raised at will.
            var source = (LvtSource)_rng.Next(0, 6) is var picked && picked == LvtSource.Error ? LvtSource.Cmci : picked;
            Note($"raise {source}");
            var before = Save();
            var localBefore = _h.Fx.Local.Count;
            var outcome = Apic.RaiseLocal(source, _h.Now, _h.Fx);
            AfterLocalSource(localBefore);
            if (before.ApicBase != Apic.ApicBase) Fail("a local source changed IA32_APIC_BASE");
            if (Apic.Mode == ApicMode.Disabled)
            {
                ExpectUnchanged(before, "local source of a hardware-disabled APIC");
                return;
            }
            var lvt = BitConverter.ToUInt32(before.Page.AsSpan((int)ApicOffsets.OfLvt(source), 4));
            if ((lvt & LvtMasked) != 0)
            {
                // "A masked LVT drops edges."
                Expect(outcome == AcceptOutcome.DroppedMasked, $"masked {source} LVT gave {outcome}");
                ExpectUnchanged(before, $"masked {source} LVT");
            }
        }
    }
}
