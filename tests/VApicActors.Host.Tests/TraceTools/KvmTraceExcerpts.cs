namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// Trace excerpts in the text format of <c>trace-cmd report</c>, the ftrace <c>trace</c> file and <c>perf script</c>, written for these
/// tests from the tracepoint formats of arch/x86/kvm/trace.h.
/// </summary>
internal static class KvmTraceExcerpts
{
    /// <summary>
    /// A Linux guest in x2APIC mode, two vCPUs: vCPU 0 sends a reschedule IPI (0xfd) to vCPU 1, which takes and ends
    /// it; vCPU 1 sends a call-function-single IPI (0xfb) back. KVM prints an x2APIC ICR write's IPI and accept lines
    /// before the kvm_apic and kvm_msr lines of the write itself, and prints both of those for one access.
    /// </summary>
    public const string X2ApicReschedule = """
        version = 6
        cpus=4
         CPU 0/KVM-4321  [002] 12345.678900: kvm_exit:             vcpu 0 reason MSR_WRITE rip 0xffffffff8107a1b4 info1 0x0 info2 0x0
         CPU 0/KVM-4321  [002] 12345.678903: kvm_apic_ipi:         dst 1 vec 253 (Fixed|physical|de-assert|edge|dst)
         CPU 0/KVM-4321  [002] 12345.678903: kvm_apic_accept_irq:  apicid 1 vec 253 (Fixed|edge)
         CPU 0/KVM-4321  [002] 12345.678903: kvm_apic:             apic_write APIC_ICR = 0xfd
         CPU 0/KVM-4321  [002] 12345.678904: kvm_msr:              msr_write 830 = 0x1000000fd
         CPU 0/KVM-4321  [002] 12345.678905: kvm_entry:            vcpu 0, rip 0xffffffff8107a1b6
         CPU 1/KVM-4322  [005] 12345.678950: kvm_apic:             apic_write APIC_EOI = 0x0
         CPU 1/KVM-4322  [005] 12345.678950: kvm_eoi:              apicid 1 vector 253
         CPU 1/KVM-4322  [005] 12345.678951: kvm_msr:              msr_write 80b = 0x0
         CPU 1/KVM-4322  [005] 12345.679010: kvm_apic_ipi:         dst 0 vec 251 (Fixed|physical|de-assert|edge|dst)
         CPU 1/KVM-4322  [005] 12345.679010: kvm_apic_accept_irq:  apicid 0 vec 251 (Fixed|edge)
         CPU 1/KVM-4322  [005] 12345.679010: kvm_apic:             apic_write APIC_ICR = 0xfb
         CPU 1/KVM-4322  [005] 12345.679011: kvm_msr:              msr_write 830 = 0xfb
         CPU 0/KVM-4321  [002] 12345.679060: kvm_apic:             apic_write APIC_EOI = 0x0
         CPU 0/KVM-4321  [002] 12345.679060: kvm_eoi:              apicid 0 vector 251
         CPU 0/KVM-4321  [002] 12345.679061: kvm_msr:              msr_write 80b = 0x0
        """;

    /// <summary>
    /// <see cref="X2ApicReschedule"/> as <c>perf script</c> prints it after <c>perf record -e 'kvm:*'</c>: the task
    /// right-aligned in 16 columns and its thread id apart, no flags, the event with its system and right-aligned to
    /// the longest name, a callchain frame under one line, and lines of events the importer does not read.
    /// </summary>
    public const string PerfScriptReschedule = """
               CPU 0/KVM    4321 [002] 12345.678900:             kvm:kvm_exit: vcpu 0 reason MSR_WRITE rip 0xffffffff8107a1b4 info1 0x0 info2 0x0
               CPU 0/KVM    4321 [002] 12345.678903:         kvm:kvm_apic_ipi: dst 1 vec 253 (Fixed|physical|de-assert|edge|dst)
               CPU 0/KVM    4321 [002] 12345.678903:  kvm:kvm_apic_accept_irq: apicid 1 vec 253 (Fixed|edge)
            	ffffffffc0a1b2c3 __apic_accept_irq+0x1f3 ([kernel.kallsyms])
               CPU 0/KVM    4321 [002] 12345.678903:             kvm:kvm_apic: apic_write APIC_ICR = 0xfd
               CPU 0/KVM    4321 [002] 12345.678904:              kvm:kvm_msr: msr_write 830 = 0x1000000fd
               CPU 0/KVM    4321 [002] 12345.678905:            kvm:kvm_entry: vcpu 0, rip 0xffffffff8107a1b6
               CPU 1/KVM    4322 [005] 12345.678950:             kvm:kvm_apic: apic_write APIC_EOI = 0x0
               CPU 1/KVM    4322 [005] 12345.678950:              kvm:kvm_eoi: apicid 1 vector 253
               CPU 1/KVM    4322 [005] 12345.678951:              kvm:kvm_msr: msr_write 80b = 0x0
               CPU 1/KVM    4322 [005] 12345.679010:         kvm:kvm_apic_ipi: dst 0 vec 251 (Fixed|physical|de-assert|edge|dst)
               CPU 1/KVM    4322 [005] 12345.679010:  kvm:kvm_apic_accept_irq: apicid 0 vec 251 (Fixed|edge)
               CPU 1/KVM    4322 [005] 12345.679010:             kvm:kvm_apic: apic_write APIC_ICR = 0xfb
               CPU 1/KVM    4322 [005] 12345.679011:              kvm:kvm_msr: msr_write 830 = 0xfb
               CPU 0/KVM    4321 [002] 12345.679060:             kvm:kvm_apic: apic_write APIC_EOI = 0x0
               CPU 0/KVM    4321 [002] 12345.679060:              kvm:kvm_eoi: apicid 0 vector 251
               CPU 0/KVM    4321 [002] 12345.679061:              kvm:kvm_msr: msr_write 80b = 0x0
        """;

    /// <summary>
    /// The same exchange from an xAPIC guest, in the ftrace format with flag columns, and with the quirks real traces
    /// have: a <c>&lt;...&gt;</c> task, an accept printed before the ICR write that caused it, an ICR write whose
    /// ICR2 write happened before the excerpt, reads, an unrelated MSR, unknown events and a torn line.
    /// </summary>
    public const string XApicQuirks = """
        # tracer: nop
        #
        #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
        #              | |         |   |||||     |         |
               CPU 0/KVM-4321    [002] d..1. 12345.100000: kvm_apic: apic_read APIC_ICR = 0xfd
               CPU 0/KVM-4321    [002] d..1. 12345.100001: kvm_apic: apic_write APIC_ICR2 = 0x1000000
               CPU 0/KVM-4321    [002] d..1. 12345.100002: kvm_apic: apic_write APIC_ICR = 0xfd
               CPU 0/KVM-4321    [002] d..1. 12345.100002: kvm_apic_ipi: dst 1 vec 253 (Fixed|physical|de-assert|edge|dst)
               CPU 0/KVM-4321    [002] d..1. 12345.100002: kvm_apic_accept_irq: apicid 1 vec 253 (Fixed|edge)
               CPU 0/KVM-4321    [002] d..1. 12345.100003: kvm_msr: msr_read 3a = 0x5
               CPU 0/KVM-4321    [002] d..1. 12345.100004: kvm_exit: vcpu 0 reason APIC_ACCESS rip 0xffffffff81060bd4
                   <...>-4322    [005] d..1. 12345.100010: kvm_apic: apic_read APIC_ID = 0x1000000
                   <...>-4322    [005] d..1. 12345.100011: kvm_apic: apic_write APIC_TASKPRI = 0x10
                   <...>-4322    [005] d..1. 12345.100012: kvm_apic: apic_read APIC_TASKPRI = 0x10
                   <...>-4322    [005] d..1. 12345.100013: kvm_apic: apic_read APIC_LVR = 0x50014
                   <...>-4322    [005] d..1. 12345.100020: kvm_apic: apic_write APIC_EOI = 0x0
                   <...>-4322    [005] d..1. 12345.100020: kvm_eoi: apicid 1 vector 253
               CPU 1/KVM-4322    [005] d..1. 12345.100030: kvm_apic_accept_irq: apicid 0 vec 251 (Fixed|edge)
               CPU 1/KVM-4322    [005] d..1. 12345.100030: kvm_apic: apic_write APIC_ICR = 0xfb
               CPU 1/KVM-4322    [005] d..1. 12345.100030: kvm_apic_ipi: dst 0 vec 251 (Fixed|physical|de-assert|edge|dst)
               CPU 1/KVM-4322    [005] d..1. 12345.100031: kvm_apic: apic_read APIC_TMCCT = 0x12345
               CPU 1/KVM-4322    [005] d..1. 12345.1000
               CPU 0/KVM-4321    [002] d..1. 12345.100040: kvm_apic: apic_write APIC_EOI = 0x0
               CPU 0/KVM-4321    [002] d..1. 12345.100040: kvm_eoi: apicid 0 vector 251
               CPU 0/KVM-4321    [002] d..1. 12345.100041: kvm_entry: vcpu 0, rip 0xffffffff81060bd6
        """;

    /// <summary>
    /// Lines pasted into a mail: no task, no CPU, no timestamp. The register writes belong to the vCPU given on the
    /// command line; the accept and EOI lines name theirs. The EOI is virtualized (no EOI register write).
    /// </summary>
    public const string MailedWithoutTasks = """
        kvm_apic: apic_write APIC_ICR2 = 0x2000000
        kvm_apic: apic_write APIC_ICR = 0x40f6
        kvm_apic_ipi: dst 2 vec 246 (Fixed|physical|assert|edge|dst)
        kvm_apic_accept_irq: apicid 2 vec 246 (Fixed|edge)
        kvm_eoi: apicid 2 vector 246
        """;

    /// <summary>
    /// An x2APIC guest with the less common lines: reads the simulator must agree with, a faulting access, the
    /// TSC-deadline timer firing (its accept printed by the idle task), an NMI IPI, an EOI with nothing in service,
    /// an EOI of an interrupt taken before the excerpt, an EOI printed before the IPI that delivered its vector (same
    /// timestamp, different host CPUs), a tgid column, and two lines run together.
    /// </summary>
    public const string X2ApicQuirks = """
         CPU 1/KVM-4322  (   4300) [005] 200.000001: kvm_apic: apic_read APIC_LDR = 0x2
         CPU 1/KVM-4322  (   4300) [005] 200.000001: kvm_msr: msr_read 80d = 0x2
         CPU 1/KVM-4322  (   4300) [005] 200.000002: kvm_msr: msr_read 1b = 0xfee00c00
         CPU 1/KVM-4322  (   4300) [005] 200.000003: kvm_msr: msr_write 831 = 0x0 (#GP)
         CPU 0/KVM-4321  (   4300) [002] 200.000010: kvm_apic: apic_write APIC_LVTT = 0x400ec
         CPU 0/KVM-4321  (   4300) [002] 200.000010: kvm_msr: msr_write 832 = 0x400ec
         CPU 0/KVM-4321  (   4300) [002] 200.000011: kvm_msr: msr_read 832 = 0x400ec
         CPU 0/KVM-4321  (   4300) [002] 200.000012: kvm_msr: msr_write 6e0 = 0x2a5c8e6f1c0
                 <idle>-0        (-------) [002] 200.000100: kvm_apic_accept_irq: apicid 0 vec 236 (Fixed|edge)
         CPU 0/KVM-4321  (   4300) [002] 200.000110: kvm_inj_virq: irq 236 reinjected
         CPU 0/KVM-4321  (   4300) [002] 200.000120: kvm_apic: apic_write APIC_EOI = 0x0
         CPU 0/KVM-4321  (   4300) [002] 200.000120: kvm_eoi: apicid 0 vector 236
         CPU 0/KVM-4321  (   4300) [002] 200.000121: kvm_msr: msr_write 80b = 0x0
         CPU 0/KVM-4321  (   4300) [002] 200.000130: kvm_apic_ipi: dst 1 vec 0 (NMI|physical|de-assert|edge|dst)
         CPU 0/KVM-4321  (   4300) [002] 200.000130: kvm_apic_accept_irq: apicid 1 vec 0 (NMI|edge)
         CPU 0/KVM-4321  (   4300) [002] 200.000130: kvm_apic: apic_write APIC_ICR = 0x400
         CPU 0/KVM-4321  (   4300) [002] 200.000131: kvm_msr: msr_write 830 = 0x100000400
         CPU 1/KVM-4322  (   4300) [005] 200.000140: kvm_eoi: apicid 1 vector -1
         CPU 1/KVM-4322  (   4300) [005] 200.000141: kvm_msr: msr_write 80b = 0x0
         CPU 1/KVM-4322  (   4300) [005] 200.000150: kvm_msr: msr_write 80b = 0x0
         CPU 1/KVM-4322  (   4300) [005] 200.000150: kvm_eoi: apicid 1 vector 239
         CPU 1/KVM-4322  (   4300) [005] 200.000500: kvm_eoi: apicid 1 vector 252
         CPU 0/KVM-4321  (   4300) [002] 200.000500: kvm_apic_ipi: dst 1 vec 252 (Fixed|physical|de-assert|edge|dst)
         CPU 0/KVM-4321  (   4300) [002] 200.000500: kvm_apic_accept_irq: apicid 1 vec 252 (Fixed|edge)
         CPU 0/KVM-4321  (   4300) [002] 200.000500: kvm_msr: msr_write 830 = 0x1000000fc
         CPU 0/KVM-4321  (   4300) [002] 200.0006 CPU 1/KVM-4322  (   4300) [005] 200.000601: kvm_eoi: apicid 1 vector 253
        """;

    /// <summary>
    /// An xAPIC guest bringing up vCPU 1 (INIT assert, INIT de-assert, SIPI), after which vCPU 1 software-enables its
    /// APIC and switches to x2APIC mode itself, so the VM starts in xAPIC mode although x2APIC MSRs appear.
    /// </summary>
    public const string XApicBringUp = """
         CPU 0/KVM-100   [000] 1.000001: kvm_apic: apic_write APIC_ICR2 = 0x1000000
         CPU 0/KVM-100   [000] 1.000002: kvm_apic: apic_write APIC_ICR = 0xc500
         CPU 0/KVM-100   [000] 1.000002: kvm_apic_ipi: dst 1 vec 0 (INIT|physical|assert|level|dst)
         CPU 0/KVM-100   [000] 1.000002: kvm_apic_accept_irq: apicid 1 vec 0 (INIT|level)
         CPU 0/KVM-100   [000] 1.000003: kvm_apic: apic_write APIC_ICR = 0x8500
         CPU 0/KVM-100   [000] 1.000003: kvm_apic_ipi: dst 1 vec 0 (INIT|physical|de-assert|level|dst)
         CPU 0/KVM-100   [000] 1.000003: kvm_apic_accept_irq: apicid 1 vec 0 (INIT|level)
         CPU 0/KVM-100   [000] 1.000004: kvm_apic: apic_write APIC_ICR = 0x69a
         CPU 0/KVM-100   [000] 1.000004: kvm_apic_ipi: dst 1 vec 154 (SIPI|physical|de-assert|edge|dst)
         CPU 0/KVM-100   [000] 1.000004: kvm_apic_accept_irq: apicid 1 vec 154 (SIPI|edge)
         CPU 1/KVM-101   [001] 1.000100: kvm_apic: apic_read APIC_SPIV = 0xff
         CPU 0/KVM-100   [000] 1.000101: kvm_apic_ipi: dst 1 vec 65 (Fixed|physical|de-assert|edge|dst)
         CPU 0/KVM-100   [000] 1.000101: kvm_apic_accept_irq: apicid 1 vec 65 (Fixed|edge)
         CPU 0/KVM-100   [000] 1.000101: kvm_apic: apic_write APIC_ICR = 0x41
         CPU 1/KVM-101   [001] 1.000102: kvm_apic: apic_write APIC_SPIV = 0x1ff
         CPU 1/KVM-101   [001] 1.000103: kvm_apic: apic_write APIC_LVT0 = 0x700
         CPU 1/KVM-101   [001] 1.000104: kvm_apic: apic_read APIC_LVT0 = 0x10700
         CPU 1/KVM-101   [001] 1.000105: kvm_msr: msr_write 1b = 0xfee00c00
         CPU 1/KVM-101   [001] 1.000106: kvm_msr: msr_read 802 = 0x1
         CPU 1/KVM-101   [001] 1.000107: kvm_msr: msr_read 1b = 0xfee00c00
        """;

    /// <summary>
    /// <see cref="XApicBringUp"/>'s start with the accept line of the INIT torn: what the INIT did to vCPU 1 is not in
    /// the excerpt (it left its APIC software-disabled, so the fixed IPI that follows is discarded).
    /// </summary>
    public const string XApicInitAcceptTorn = """
         CPU 0/KVM-100   [000] 1.000001: kvm_apic: apic_write APIC_ICR2 = 0x1000000
         CPU 0/KVM-100   [000] 1.000002: kvm_apic: apic_write APIC_ICR = 0xc500
         CPU 0/KVM-100   [000] 1.000002: kvm_apic_ipi: dst 1 vec 0 (INIT|physical|assert|level|dst)
         CPU 0/KVM-100   [000] 1.000002: kvm_apic_accept_irq: apicid 1 vec 0 (IN
         CPU 0/KVM-100   [000] 1.000101: kvm_apic_ipi: dst 1 vec 65 (Fixed|physical|de-assert|edge|dst)
         CPU 0/KVM-100   [000] 1.000101: kvm_apic_accept_irq: apicid 1 vec 65 (Fixed|edge)
         CPU 0/KVM-100   [000] 1.000101: kvm_apic: apic_write APIC_ICR = 0x41
        """;

    /// <summary><see cref="MailedWithoutTasks"/> without its ICR2 write and its kvm_apic_ipi line: only the accept says where the IPI went.</summary>
    public const string MailedDestinationInTheAcceptOnly = """
        kvm_apic: apic_write APIC_ICR = 0x40f6
        kvm_apic_accept_irq: apicid 2 vec 246 (Fixed|edge)
        kvm_eoi: apicid 2 vector 246
        """;

    /// <summary>
    /// An x2APIC ICR write whose kvm_msr line (the 64 bits, destination included) and kvm_apic_ipi line fell outside
    /// the excerpt: the kvm_apic line has the low half only, and the accept says where the IPI went.
    /// </summary>
    public const string X2ApicDestinationInTheAcceptOnly = """
         CPU 0/KVM-4321  [002] 12345.678903: kvm_apic_accept_irq:  apicid 1 vec 253 (Fixed|edge)
         CPU 0/KVM-4321  [002] 12345.678903: kvm_apic:             apic_write APIC_ICR = 0xfd
         CPU 1/KVM-4322  [005] 12345.678950: kvm_apic:             apic_write APIC_EOI = 0x0
         CPU 1/KVM-4322  [005] 12345.678950: kvm_eoi:              apicid 1 vector 253
         CPU 1/KVM-4322  [005] 12345.678951: kvm_msr:              msr_write 80b = 0x0
        """;

    /// <summary>
    /// An x2APIC ICR write with neither its kvm_msr line, nor its kvm_apic_ipi line, nor an accept: where it went and
    /// what it did are unknown, while a timer interrupt is taken and ended on vCPU 0.
    /// </summary>
    public const string X2ApicIcrWriteAlone = """
                 <idle>-0        [002] 200.000100: kvm_apic_accept_irq: apicid 0 vec 236 (Fixed|edge)
         CPU 0/KVM-4321  [002] 200.000110: kvm_apic: apic_write APIC_ICR = 0xf6
         CPU 0/KVM-4321  [002] 200.000120: kvm_eoi: apicid 0 vector 236
         CPU 0/KVM-4321  [002] 200.000121: kvm_msr: msr_write 80b = 0x0
        """;

    /// <summary>
    /// A level-triggered fixed IPI (Linux sends none, but the ICR allows it): KVM keeps the level and sets the TMR bit;
    /// the profile sends every fixed IPI edge-triggered, as Pentium 4 and later processors do.
    /// </summary>
    public const string XApicLevelTriggeredFixedIpi = """
         CPU 0/KVM-7  [000] 5.000001: kvm_apic: apic_write APIC_ICR2 = 0x1000000
         CPU 0/KVM-7  [000] 5.000002: kvm_apic: apic_write APIC_ICR = 0xc041
         CPU 0/KVM-7  [000] 5.000002: kvm_apic_ipi: dst 1 vec 65 (Fixed|physical|assert|level|dst)
         CPU 0/KVM-7  [000] 5.000002: kvm_apic_accept_irq: apicid 1 vec 65 (Fixed|level)
        """;

    /// <summary>
    /// A fixed IPI to all but the sender whose accept line for vCPU 2 is torn; vCPU 2 then takes and ends a device
    /// interrupt of a lower vector, with the IPI's vector still pending in the simulator.
    /// </summary>
    public const string XApicBroadcastAcceptTorn = """
         CPU 0/KVM-4321  [002] 300.000010: kvm_apic: apic_write APIC_ICR = 0xc0041
         CPU 0/KVM-4321  [002] 300.000010: kvm_apic_ipi: dst 0 vec 65 (Fixed|physical|de-assert|edge|all-but-self)
         CPU 0/KVM-4321  [002] 300.000010: kvm_apic_accept_irq: apicid 1 vec 65 (Fixed|edge)
         CPU 0/KVM-4321  [002] 300.000010: kvm_apic_accept_irq: apicid 2 vec 65 (Fi
         qemu-system-x86-4300  [000] 300.000021: kvm_apic_accept_irq: apicid 2 vec 48 (Fixed|edge)
         CPU 2/KVM-4323  [001] 300.000030: kvm_eoi: apicid 2 vector 48
        """;

    /// <summary>
    /// xAPIC, 3 vCPUs: an NMI and an INIT to all including self, which KVM delivers and the profile ignores (not valid ICR
    /// combinations), then an NMI to vCPU 1 alone (its first NMI in the profile, its second in KVM) and a fixed IPI to
    /// vCPU 2, which KVM's INIT left in wait-for-SIPI and the profile did not.
    /// </summary>
    public const string XApicNmiAndInitToAllIncludingSelf = """
         CPU 0/KVM-4321  [002] 400.000010: kvm_apic: apic_write APIC_ICR = 0x80400
         CPU 0/KVM-4321  [002] 400.000010: kvm_apic_ipi: dst 0 vec 0 (NMI|physical|de-assert|edge|all)
         CPU 0/KVM-4321  [002] 400.000010: kvm_apic_accept_irq: apicid 0 vec 0 (NMI|edge)
         CPU 0/KVM-4321  [002] 400.000010: kvm_apic_accept_irq: apicid 1 vec 0 (NMI|edge)
         CPU 0/KVM-4321  [002] 400.000010: kvm_apic_accept_irq: apicid 2 vec 0 (NMI|edge)
         CPU 0/KVM-4321  [002] 400.000011: kvm_apic: apic_write APIC_ICR2 = 0x1000000
         CPU 0/KVM-4321  [002] 400.000012: kvm_apic: apic_write APIC_ICR = 0x400
         CPU 0/KVM-4321  [002] 400.000012: kvm_apic_ipi: dst 1 vec 0 (NMI|physical|de-assert|edge|dst)
         CPU 0/KVM-4321  [002] 400.000012: kvm_apic_accept_irq: apicid 1 vec 0 (NMI|edge)
         CPU 1/KVM-4322  [003] 400.000013: kvm_apic: apic_write APIC_ICR = 0x8c500
         CPU 1/KVM-4322  [003] 400.000013: kvm_apic_ipi: dst 0 vec 0 (INIT|physical|assert|level|all)
         CPU 1/KVM-4322  [003] 400.000013: kvm_apic_accept_irq: apicid 0 vec 0 (INIT|level)
         CPU 1/KVM-4322  [003] 400.000013: kvm_apic_accept_irq: apicid 1 vec 0 (INIT|level)
         CPU 1/KVM-4322  [003] 400.000013: kvm_apic_accept_irq: apicid 2 vec 0 (INIT|level)
         CPU 0/KVM-4321  [002] 400.000014: kvm_apic: apic_write APIC_ICR2 = 0x2000000
         CPU 0/KVM-4321  [002] 400.000015: kvm_apic: apic_write APIC_ICR = 0x4041
         CPU 0/KVM-4321  [002] 400.000015: kvm_apic_ipi: dst 2 vec 65 (Fixed|physical|assert|edge|dst)
         CPU 0/KVM-4321  [002] 400.000015: kvm_apic_accept_irq: apicid 2 vec 65 (Fixed|edge)
        """;

    /// <summary>
    /// xAPIC, 3 vCPUs of a running Linux guest in flat logical mode (LDR 1 &lt;&lt; (24 + n), set at boot, before the
    /// excerpt): a fixed IPI to logical destination 6 reaches vCPUs 1 and 2, which end it.
    /// </summary>
    public const string XApicLogicalIpiLdrBeforeTheExcerpt = """
         CPU 0/KVM-4321  [002] 500.000010: kvm_apic: apic_write APIC_ICR2 = 0x6000000
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic: apic_write APIC_ICR = 0x8fa
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_ipi: dst 6 vec 250 (Fixed|logical|de-assert|edge|dst)
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_accept_irq: apicid 1 vec 250 (Fixed|edge)
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_accept_irq: apicid 2 vec 250 (Fixed|edge)
         CPU 1/KVM-4322  [003] 500.000020: kvm_apic: apic_write APIC_EOI = 0x0
         CPU 1/KVM-4322  [003] 500.000020: kvm_eoi: apicid 1 vector 250
         CPU 2/KVM-4323  [001] 500.000021: kvm_apic: apic_write APIC_EOI = 0x0
         CPU 2/KVM-4323  [001] 500.000021: kvm_eoi: apicid 2 vector 250
        """;

    /// <summary>
    /// <see cref="XApicLogicalIpiLdrBeforeTheExcerpt"/> with the bring-up's LDR and DFR writes of every vCPU in the
    /// excerpt: the simulator then matches the logical destination as KVM did.
    /// </summary>
    public const string XApicLogicalIpiLdrInTheExcerpt = """
         CPU 0/KVM-4321  [002] 500.000001: kvm_apic: apic_write APIC_DFR = 0xffffffff
         CPU 0/KVM-4321  [002] 500.000002: kvm_apic: apic_write APIC_LDR = 0x1000000
         CPU 1/KVM-4322  [003] 500.000003: kvm_apic: apic_write APIC_DFR = 0xffffffff
         CPU 1/KVM-4322  [003] 500.000004: kvm_apic: apic_write APIC_LDR = 0x2000000
         CPU 2/KVM-4323  [001] 500.000005: kvm_apic: apic_write APIC_DFR = 0xffffffff
         CPU 2/KVM-4323  [001] 500.000006: kvm_apic: apic_write APIC_LDR = 0x4000000
         CPU 0/KVM-4321  [002] 500.000010: kvm_apic: apic_write APIC_ICR2 = 0x6000000
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic: apic_write APIC_ICR = 0x8fa
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_ipi: dst 6 vec 250 (Fixed|logical|de-assert|edge|dst)
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_accept_irq: apicid 1 vec 250 (Fixed|edge)
         CPU 0/KVM-4321  [002] 500.000011: kvm_apic_accept_irq: apicid 2 vec 250 (Fixed|edge)
         CPU 1/KVM-4322  [003] 500.000020: kvm_apic: apic_write APIC_EOI = 0x0
         CPU 1/KVM-4322  [003] 500.000020: kvm_eoi: apicid 1 vector 250
         CPU 2/KVM-4323  [001] 500.000021: kvm_apic: apic_write APIC_EOI = 0x0
         CPU 2/KVM-4323  [001] 500.000021: kvm_eoi: apicid 2 vector 250
        """;
}
