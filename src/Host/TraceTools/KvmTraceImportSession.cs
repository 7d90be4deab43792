using System.Globalization;
using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;
using VApicActors.Registers;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// One import: reads every line, pairs the lines that belong to one guest action, then writes the script in trace
/// order, keeping enough bookkeeping (<see cref="TrackedVcpu"/>) to write only expectations that are sound.
/// The rules are listed in the generated header and in the project's trace-import documentation.
/// </summary>
internal sealed partial class KvmTraceImportSession(int defaultVcpu, string? sourceName)
{
    /// <summary>The most vCPUs a generated VM may have; events naming a higher vCPU are skipped.</summary>
    public const int MaxVcpus = 255;

    /// <summary>How far apart (in one thread's lines) the kvm_apic and kvm_msr lines of one access may be.</summary>
    private const int TwinWindow = 3;
    /// <summary>How far apart an EOI register write and its kvm_eoi line may be.</summary>
    private const int EoiWindow = 3;
    /// <summary>How many lines of one IPI (write, kvm_apic_ipi, one accept per destination) are searched.</summary>
    private const int IpiWindow = MaxVcpus + 2;
    /// <summary>How many lines ahead a cause is looked for when the lines carry no timestamp.</summary>
    private const int PullWindowWithoutTime = 8;

    private const uint InitialSvr = 0x1FF;
    private const uint FirstLegalVector = 16;
    private const int VectorWordShift = 5;
    private const int VectorBitMask = 31;
    private const uint MsiAddressBase = 0xFEE0_0000;
    private const int MsiDestinationShift = 12;
    private const uint MaxMsiDestination = 0xFE;
    private const uint MsiLevelAssert = 0xC000;
    private const ulong Low32 = 0xFFFF_FFFF;
    private const int X2ApicDestinationShift = 32;

    private readonly List<KvmTraceEvent> _events = [];
    private readonly List<TornTraceLine> _torn = [];
    private readonly SortedDictionary<string, int> _unknown = new(StringComparer.Ordinal);
    private readonly List<string> _notes = [];
    /// <summary>The vCPU number (as printed in its task's name) of each thread id seen in a <c>CPU n/KVM</c> task.</summary>
    private readonly Dictionary<int, string> _vcpuByPid = [];
    private readonly HashSet<int> _uncertainVectors = [];
    private readonly ScenarioScriptBuilder _script = new();

    private int?[] _actor = [];
    private bool[] _absorbed = [];
    private IpiGroup?[] _ipiGroup = [];
    private EoiGroup?[] _eoiGroup = [];
    private bool[] _done = [];
    private TrackedVcpu[] _vcpus = [];
    private bool _acceptsTraced;
    private int _duplicates;
    private int _otherMsrs;
    private int _lines;

    [GeneratedRegex(@"^CPU (?<n>[0-9]+)/KVM$")]
    private static partial Regex VcpuThread();

    public KvmTraceImportResult Run(IEnumerable<string> lines)
    {
        Read(lines);
        ResolveActors();
        var vcpuCount = CountVcpus();
        var x2Apic = StartsInX2Apic();
        _vcpus = Enumerable.Range(0, vcpuCount)
            .Select(i => new TrackedVcpu(i, x2Apic ? TrackedMode.X2Apic : TrackedMode.XApic))
            .ToArray();
        _acceptsTraced = _events.Any(e => e is AcceptEvent);

        var streams = Streams(includeAbsorbed: true);
        PairTwins(streams);
        streams = Streams(includeAbsorbed: false);
        GroupIpis(streams);
        GroupEois(streams);

        WriteHeader(vcpuCount, x2Apic);
        WriteStart(vcpuCount, x2Apic);
        for (var i = 0; i < _events.Count; i++)
        {
            EmitAt(i);
        }

        var report = new KvmTraceImportReport(
            _events.Count, _script.Commands, _script.Expectations,
            new Dictionary<string, int>(_unknown, StringComparer.Ordinal), _torn.ToList(),
            _duplicates, _otherMsrs, vcpuCount, x2Apic, _notes.ToList());
        return new KvmTraceImportResult(_script.ToString(), report);
    }

    // ---------------------------------------------------------------- reading

    private void Read(IEnumerable<string> lines)
    {
        foreach (var text in lines)
        {
            _lines++;
            var parse = KvmTraceLineParser.Parse(text, _lines);
            switch (parse.Kind)
            {
                case TraceLineKind.Event:
                    _events.Add(parse.Event!);
                    LearnThread(parse.Event!.Origin);
                    break;
                case TraceLineKind.Unknown:
                    _unknown[parse.EventName!] = _unknown.GetValueOrDefault(parse.EventName!) + 1;
                    break;
                case TraceLineKind.Torn:
                    _torn.Add(new TornTraceLine(_lines, parse.Reason!));
                    break;
            }
        }
        _actor = new int?[_events.Count];
        _absorbed = new bool[_events.Count];
        _ipiGroup = new IpiGroup?[_events.Count];
        _eoiGroup = new EoiGroup?[_events.Count];
        _done = new bool[_events.Count];
    }

    private void LearnThread(TraceOrigin origin)
    {
        if (origin.Pid is int pid && VcpuNumber(origin.Task) is { } number)
        {
            _vcpuByPid[pid] = number;
        }
    }

    /// <summary>The vCPU number a <c>CPU n/KVM</c> task names, as printed; null for any other task.</summary>
    private static string? VcpuNumber(string? task) =>
        task is not null && VcpuThread().Match(task) is { Success: true } m ? m.Groups["n"].Value : null;

    /// <summary>The vCPU a printed number names; a number past int's range is past any VM too.</summary>
    private static int Vcpu(string number) =>
        int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;

    /// <summary>
    /// The vCPU whose thread printed each line: <c>CPU n/KVM</c> is vCPU n; a thread shown as <c>&lt;...&gt;</c> is
    /// known by its thread id from its other lines; a line without a task belongs to the default vCPU. A kvm_eoi
    /// line names its vCPU itself. A vCPU beyond the VM's is skipped, however many digits it has.
    /// </summary>
    private void ResolveActors()
    {
        for (var i = 0; i < _events.Count; i++)
        {
            var e = _events[i];
            var number = e switch
            {
                EoiEvent eoi => eoi.ApicId.ToString(CultureInfo.InvariantCulture),
                _ when !e.Origin.HasTask => defaultVcpu.ToString(CultureInfo.InvariantCulture),
                _ => VcpuNumber(e.Origin.Task) ?? (e.Origin.Pid is int pid && _vcpuByPid.TryGetValue(pid, out var v) ? v : null),
            };
            int? actor = number is null ? null : Vcpu(number);
            if (actor >= MaxVcpus)
            {
                Note(e, $"vCPU {ScenarioException.Quote(number!)} is beyond the {MaxVcpus} vCPUs a generated VM may have: skipped");
                _done[i] = true;
                actor = null;
            }
            _actor[i] = actor;
        }
    }

    private int CountVcpus()
    {
        var highest = 0;
        for (var i = 0; i < _events.Count; i++)
        {
            if (_done[i])
            {
                continue;
            }
            if (_actor[i] is int a)
            {
                highest = Math.Max(highest, a);
            }
            if (_events[i] is AcceptEvent { ApicId: < MaxVcpus } accept)
            {
                highest = Math.Max(highest, (int)accept.ApicId);
            }
        }
        return highest + 1;
    }

    /// <summary>
    /// x2APIC when some vCPU touches an x2APIC MSR before the trace shows it enabling x2APIC itself (an excerpt
    /// that contains the switch starts in xAPIC mode and replays it). An access KVM faulted does not count: xAPIC mode
    /// faults every x2APIC MSR (kvm-unit-tests checks that it does), and what x2APIC mode faults (a write to a
    /// read-only register, say) xAPIC mode faults as well.
    /// </summary>
    private bool StartsInX2Apic()
    {
        var switched = new HashSet<int>();
        for (var i = 0; i < _events.Count; i++)
        {
            if (_events[i] is not MsrAccessEvent m || _actor[i] is not int a)
            {
                continue;
            }
            if (m is { Msr: ApicMsrs.ApicBase, IsWrite: true, Faulted: false }
                && (m.Value & (TrackedVcpu.BaseEnable | TrackedVcpu.BaseExtd)) == (TrackedVcpu.BaseEnable | TrackedVcpu.BaseExtd))
            {
                switched.Add(a);
            }
            else if (IsX2ApicMsr(m.Msr) && !m.Faulted && !switched.Contains(a))
            {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- pairing

    private Dictionary<int, List<int>> Streams(bool includeAbsorbed)
    {
        var streams = new Dictionary<int, List<int>>();
        for (var i = 0; i < _events.Count; i++)
        {
            if (_actor[i] is int a && !_done[i] && (includeAbsorbed || !_absorbed[i]))
            {
                if (!streams.TryGetValue(a, out var list))
                {
                    streams[a] = list = [];
                }
                list.Add(i);
            }
        }
        return streams;
    }

    /// <summary>
    /// Positions near <paramref name="position"/> in one thread's lines, nearest first (the earlier one first on a
    /// tie). Each direction stops after the first line that <paramref name="passable"/> rejects.
    /// </summary>
    private IEnumerable<int> Near(List<int> stream, int position, int window, Func<KvmTraceEvent, bool> passable)
    {
        var before = new List<int>();
        var after = new List<int>();
        for (var q = position - 1; q >= 0 && position - q <= window; q--)
        {
            before.Add(stream[q]);
            if (!passable(_events[stream[q]])) break;
        }
        for (var q = position + 1; q < stream.Count && q - position <= window; q++)
        {
            after.Add(stream[q]);
            if (!passable(_events[stream[q]])) break;
        }
        for (var d = 0; d < Math.Max(before.Count, after.Count); d++)
        {
            if (d < before.Count) yield return before[d];
            if (d < after.Count) yield return after[d];
        }
    }

    /// <summary>One x2APIC access prints a kvm_apic line and a kvm_msr line; the kvm_msr one (full 64 bits) stays.</summary>
    private void PairTwins(Dictionary<int, List<int>> streams)
    {
        foreach (var stream in streams.Values)
        {
            for (var p = 0; p < stream.Count; p++)
            {
                if (_events[stream[p]] is not MsrAccessEvent m || !IsX2ApicMsr(m.Msr))
                {
                    continue;
                }
                var offset = ApicOffsets.FromMsr(m.Msr);
                foreach (var q in Near(stream, p, TwinWindow, e => e is IpiEvent or AcceptEvent or EoiEvent))
                {
                    if (_events[q] is ApicAccessEvent a && !_absorbed[q]
                        && a.IsWrite == m.IsWrite && a.Offset == offset && a.Value == (uint)(m.Value & Low32))
                    {
                        _absorbed[q] = true;
                        _done[q] = true;
                        _duplicates++;
                        break;
                    }
                }
            }
        }
    }

    private void GroupIpis(Dictionary<int, List<int>> streams)
    {
        foreach (var (sender, stream) in streams)
        {
            for (var p = 0; p < stream.Count; p++)
            {
                if (_events[stream[p]] is not IpiEvent ipi)
                {
                    continue;
                }
                var group = new IpiGroup(sender) { Ipi = stream[p] };
                _ipiGroup[stream[p]] = group;
                foreach (var q in Near(stream, p, IpiWindow, IsIpiLine))
                {
                    if (_ipiGroup[q] is null && IcrLowOf(_events[q]) is not null && WriteMatches(_events[q], ipi))
                    {
                        group.Write = q;
                        _ipiGroup[q] = group;
                        break;
                    }
                }
            }
            foreach (var i in stream.Where(i => _ipiGroup[i] is null && IcrLowOf(_events[i]) is not null))
            {
                _ipiGroup[i] = new IpiGroup(sender) { Write = i };
            }
            for (var p = 0; p < stream.Count; p++)
            {
                if (_events[stream[p]] is not AcceptEvent accept)
                {
                    continue;
                }
                var near = Near(stream, p, IpiWindow, IsIpiLine).ToList();
                var owner = near.FirstOrDefault(q => _events[q] is IpiEvent i && i.Vector == accept.Vector && i.DeliveryMode == accept.DeliveryMode, -1);
                if (owner < 0)
                {
                    owner = near.FirstOrDefault(q => IcrLowOf(_events[q]) is uint low
                        && (low & IcrFields.VectorMask) == accept.Vector
                        && ((low >> IcrFields.DeliveryModeShift) & IcrFields.DeliveryModeMask) == accept.DeliveryMode, -1);
                }
                if (owner >= 0 && _ipiGroup[owner] is { } group)
                {
                    group.Accepts.Add(stream[p]);
                    _ipiGroup[stream[p]] = group;
                }
            }
        }
    }

    private void GroupEois(Dictionary<int, List<int>> streams)
    {
        foreach (var stream in streams.Values)
        {
            for (var p = 0; p < stream.Count; p++)
            {
                if (_events[stream[p]] is not EoiEvent)
                {
                    continue;
                }
                var group = new EoiGroup(stream[p]);
                _eoiGroup[stream[p]] = group;
                foreach (var q in Near(stream, p, EoiWindow, e => e is AcceptEvent))
                {
                    if (_eoiGroup[q] is null && IsEoiWrite(_events[q]))
                    {
                        group.Write = q;
                        _eoiGroup[q] = group;
                        break;
                    }
                }
            }
        }
    }

    private static bool IsIpiLine(KvmTraceEvent e) => e is IpiEvent or AcceptEvent || IcrLowOf(e) is not null;

    /// <summary>The ICR low word an ICR or SELF IPI write sends, or null for any other line.</summary>
    private static uint? IcrLowOf(KvmTraceEvent e) => e switch
    {
        MsrAccessEvent { IsWrite: true, Faulted: false, Msr: ApicMsrs.X2ApicIcr } m => (uint)(m.Value & Low32),
        MsrAccessEvent { IsWrite: true, Faulted: false, Msr: ApicMsrs.X2ApicSelfIpi } m => SelfIpiLow((uint)m.Value),
        ApicAccessEvent { IsWrite: true, Offset: ApicOffsets.IcrLow } a => a.Value,
        ApicAccessEvent { IsWrite: true, Offset: ApicOffsets.SelfIpi } a => SelfIpiLow(a.Value),
        _ => null,
    };

    /// <summary>KVM sends a SELF IPI write as a fixed, edge IPI with the Self shorthand.</summary>
    private static uint SelfIpiLow(uint value) => (value & IcrFields.VectorMask) | (IcrFields.ShorthandSelf << IcrFields.ShorthandShift);

    private static bool WriteMatches(KvmTraceEvent write, IpiEvent ipi)
    {
        if ((IcrLowOf(write)!.Value & IcrFields.Kept) != (ipi.IcrLow & IcrFields.Kept))
        {
            return false;
        }
        return write is not MsrAccessEvent { Msr: ApicMsrs.X2ApicIcr } m
            || ipi.Shorthand != IcrFields.ShorthandNone
            || (uint)(m.Value >> X2ApicDestinationShift) == ipi.Destination;
    }

    private static bool IsEoiWrite(KvmTraceEvent e) =>
        e is ApicAccessEvent { IsWrite: true, Offset: ApicOffsets.Eoi }
        or MsrAccessEvent { IsWrite: true, Faulted: false, Msr: ApicMsrs.X2ApicEoi };

    private static bool IsX2ApicMsr(uint msr) => msr is >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast;

    // ---------------------------------------------------------------- writing

    private void WriteHeader(int vcpuCount, bool x2Apic)
    {
        _script.Comment($"Generated from a KVM trace{(sourceName is null ? string.Empty : $" ({OneLine(Path.GetFileName(sourceName))})")} by vapic trace import-kvm.");
        _script.Comment($"{Plural.Count(_events.Count, "event")} read from {Plural.Count(_lines, "line")}; {Plural.Count(_unknown.Values.Sum(), "line")} of other events skipped; torn lines: {_torn.Count}.");
        _script.Comment("The trace is an excerpt of a running guest, so the script first rebuilds a starting point:");
        _script.Comment($"  - vcpus={vcpuCount}: the highest vCPU in the trace (task CPU n/KVM, apicid) plus one; vCPU n has APIC ID n.");
        _script.Comment(x2Apic
            ? "  - mode=x2apic: the trace accesses x2APIC MSRs (0x800-0x8FF) without a fault before it enables x2APIC itself."
            : "  - mode=xapic: the trace accesses no x2APIC MSR without a fault before it enables x2APIC itself.");
        _script.Comment($"  - every APIC is software-enabled first (SVR = {Hex.Of(InitialSvr)}), as in a running guest.");
        _script.Comment($"  - lines without a task prefix belong to vCPU {defaultVcpu}.");
        _script.Comment("Rules (the trace-import documentation has them in full):");
        _script.Comment("  - a kvm_apic or kvm_msr access becomes the same access by the vCPU of the line's task; the kvm_apic");
        _script.Comment("    and kvm_msr lines of one x2APIC access are one access; MSRs outside the APIC are skipped.");
        _script.Comment("  - the lines of one IPI (ICR write, kvm_apic_ipi, kvm_apic_accept_irq), in whatever order KVM printed");
        _script.Comment("    them, are replayed as one ICR write; kvm_apic_ipi checks that the ICR reads back idle, and each");
        _script.Comment("    accept checks the target's IRR bit (NMI/SMI count, run state for INIT and SIPI).");
        _script.Comment("  - an accepted interrupt that no IPI of the excerpt explains (timer, device) is injected as an MSI.");
        _script.Comment("  - kvm_eoi: ack (checked when the vector is the one the simulator must present), then eoi, then a");
        _script.Comment("    check that the vector left the ISR. An EOI of an interrupt taken before the excerpt is not replayed.");
        _script.Comment("  - a read is checked only where the excerpt and the reference profile fix its value (ID, LDR in x2APIC,");
        _script.Comment("    version byte, ICR delivery status, registers this vCPU wrote earlier in the excerpt); IRR, ISR, TMR,");
        _script.Comment("    PPR, ESR, TMCCT and the TSC deadline depend on earlier state or on time and are only replayed.");
        _script.Comment("  - an access that faulted in KVM expects #GP. Virtual time never advances: simulated timers never fire.");
        _script.Blank();
    }

    /// <summary>
    /// <paramref name="text"/> fit for a comment: control characters and line separators, which would end the comment and
    /// make the rest of the file's name a script line, become '?'.
    /// </summary>
    private static string OneLine(string text) =>
        string.Create(text.Length, text, static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                chars[i] = char.IsControl(source[i]) || source[i] is '\u2028' or '\u2029' ? '?' : source[i];
            }
        });

    private void WriteStart(int vcpuCount, bool x2Apic)
    {
        _script.Global($"vm vcpus={vcpuCount} mode={(x2Apic ? "x2apic" : "xapic")}");
        for (var v = 0; v < vcpuCount; v++)
        {
            var command = x2Apic
                ? $"wrmsr {Hex.Of(ApicOffsets.ToMsr(ApicOffsets.Svr))} {Hex.Of(InitialSvr)}"
                : $"writel {Hex.Of(TrackedVcpu.DefaultBase + ApicOffsets.Svr)} {Hex.Of(InitialSvr)}";
            _script.On(v, command, "software-enable (start of the excerpt)");
        }
        _script.Blank();
    }

    private void EmitAt(int i)
    {
        if (_done[i])
        {
            return;
        }
        if (_ipiGroup[i] is { } ipi)
        {
            EmitIpi(ipi);
            return;
        }
        if (_eoiGroup[i] is { } eoi)
        {
            EmitEoi(eoi, i);
            return;
        }
        _done[i] = true;
        var e = _events[i];
        if (e is AcceptEvent accept)
        {
            EmitExternal(accept);
            return;
        }
        if (_actor[i] is not int vcpu)
        {
            Note(e, $"printed by task '{ScenarioException.Quote(e.Origin.Task ?? string.Empty)}', which is not a vCPU thread: skipped");
            return;
        }
        switch (e)
        {
            case MsrAccessEvent { Msr: ApicMsrs.ApicBase } m:
                EmitApicBase(_vcpus[vcpu], m);
                break;
            case MsrAccessEvent { Msr: ApicMsrs.TscDeadline } m:
                EmitMsrPlain(_vcpus[vcpu], m);
                break;
            case MsrAccessEvent m when IsX2ApicMsr(m.Msr):
                EmitRegister(_vcpus[vcpu], ApicOffsets.FromMsr(m.Msr), msrForm: true, m.IsWrite, m.Value, m.Faulted, wide: true, m.Describe());
                break;
            case MsrAccessEvent:
                _otherMsrs++;
                break;
            case ApicAccessEvent a when a.Offset >= KvmApicRegisterNames.ExtendedFeature:
                Note(a, "AMD extended APIC register, not part of the simulated profile: skipped");
                break;
            case ApicAccessEvent a:
                var t = _vcpus[vcpu];
                EmitRegister(t, a.Offset, msrForm: t.IsX2Apic, a.IsWrite, a.Value, faulted: false, wide: false, a.Describe());
                break;
        }
    }

    private void EmitRegister(TrackedVcpu t, uint offset, bool msrForm, bool isWrite, ulong value, bool faulted, bool wide, string origin)
    {
        var where = msrForm ? Hex.Of(ApicOffsets.ToMsr(offset)) : Hex.Of(t.Base + offset);
        if (isWrite)
        {
            var write = $"{(msrForm ? "wrmsr" : "writel")} {where} {Hex.Of(value)}";
            if (faulted)
            {
                Expect(t, write, "#GP", origin);
                return;
            }
            _script.On(t.Index, write, origin);
            t.ApplyWrite(offset, value);
            return;
        }

        var read = $"{(msrForm ? "rdmsr" : "readl")} {where}";
        if (faulted)
        {
            Expect(t, read, "#GP", origin);
            return;
        }
        var predicted = t.Running ? ReadbackRules.Predict(t, offset) : null;
        if (predicted is not { } p)
        {
            _script.On(t.Index, read, origin);
            return;
        }
        var mask = wide && msrForm ? p.Mask : p.Mask & Low32;
        CheckRead(t, read, value, p with { Mask = mask }, origin);
    }

    private void CheckRead(TrackedVcpu t, string read, ulong observed, PredictedRead p, string origin)
    {
        if (p.Agrees(observed))
        {
            Expect(t, read, Expected(observed, p.Mask), origin);
            return;
        }
        var why = $"KVM read {Hex.Of(observed)}, the excerpt and the profile give {Expected(p.Value, p.Mask)}: not checked";
        _script.On(t.Index, read, $"{origin}; {why}");
        _notes.Add($"{origin}: {why}");
    }

    private static string Expected(ulong value, ulong mask) =>
        mask == ulong.MaxValue || (mask == Low32 && value <= Low32)
            ? Hex.Of(value)
            : $"{Hex.Of(value & mask)}/{Hex.Of(mask)}";

    private void EmitApicBase(TrackedVcpu t, MsrAccessEvent m)
    {
        var origin = m.Describe();
        if (m.IsWrite)
        {
            var write = $"wrmsr {Hex.Of(ApicMsrs.ApicBase)} {Hex.Of(m.Value)}";
            if (m.Faulted)
            {
                Expect(t, write, "#GP", origin);
                return;
            }
            _script.On(t.Index, write, origin);
            t.ApplyApicBase(m.Value);
            return;
        }
        var read = $"rdmsr {Hex.Of(ApicMsrs.ApicBase)}";
        if (m.Faulted)
        {
            Expect(t, read, "#GP", origin);
            return;
        }
        if (!t.Running)
        {
            _script.On(t.Index, read, origin);
            return;
        }
        CheckRead(t, read, m.Value, ReadbackRules.PredictApicBase(t), origin);
    }

    private void EmitMsrPlain(TrackedVcpu t, MsrAccessEvent m)
    {
        var command = m.IsWrite ? $"wrmsr {Hex.Of(m.Msr)} {Hex.Of(m.Value)}" : $"rdmsr {Hex.Of(m.Msr)}";
        if (m.Faulted)
        {
            Expect(t, command, "#GP", m.Describe());
        }
        else
        {
            _script.On(t.Index, command, m.Describe());
        }
    }

    // ---------------------------------------------------------------- IPIs and deliveries

    private void EmitIpi(IpiGroup g)
    {
        foreach (var member in g.Members)
        {
            _done[member] = true;
        }
        var t = _vcpus[g.Sender];
        var ipi = g.Ipi is int k ? (IpiEvent)_events[k] : null;
        var write = g.Write is int w ? _events[w] : null;
        var origin = string.Join("; ", new[] { write?.Describe(), ipi?.Describe() }.OfType<string>());
        var isIcr = true;
        var destinationKnown = true;

        switch (write)
        {
            case MsrAccessEvent { Msr: ApicMsrs.X2ApicSelfIpi } m:
                isIcr = false;
                _script.On(t.Index, $"wrmsr {Hex.Of(m.Msr)} {Hex.Of(m.Value)}", origin);
                break;
            case MsrAccessEvent m:
                _script.On(t.Index, $"wrmsr {Hex.Of(m.Msr)} {Hex.Of(m.Value)}", origin);
                t.ApplyWrite(ApicOffsets.IcrLow, m.Value);
                break;
            case ApicAccessEvent { Offset: ApicOffsets.SelfIpi } a:
                isIcr = false;
                _script.On(t.Index, t.IsX2Apic
                    ? $"wrmsr {Hex.Of(ApicMsrs.X2ApicSelfIpi)} {Hex.Of(a.Value)}"
                    : $"writel {Hex.Of(t.Base + a.Offset)} {Hex.Of(a.Value)}", origin);
                break;
            case ApicAccessEvent a:
                destinationKnown = WriteIcr(t, a.Value, ipi, SoleAccept(g, a.Value), origin, rebuilt: false);
                break;
            default:
                WriteIcr(t, ipi!.IcrLow, ipi, null, $"{origin}: the ICR write is not in the excerpt, rebuilt from kvm_apic_ipi", rebuilt: true);
                break;
        }
        var unknownDestination = "its destination is not in the excerpt";
        if (destinationKnown && LogicalIdsUnknown(t, write, ipi))
        {
            destinationKnown = false;
            unknownDestination = "it goes to a logical destination, and the excerpt does not write every vCPU's LDR and DFR, which the simulator matches it against";
        }
        if (Unknown(g, t, write, ipi, destinationKnown, unknownDestination) is var (unknown, affected))
        {
            Uncertain(write, ipi, unknown, affected, origin);
        }

        if (ipi is not null && isIcr && t.Running)
        {
            var p = ReadbackRules.Predict(t, ApicOffsets.IcrLow)!.Value;
            var read = t.IsX2Apic ? $"rdmsr {Hex.Of(ApicMsrs.X2ApicIcr)}" : $"readl {Hex.Of(t.Base + ApicOffsets.IcrLow)}";
            var mask = t.IsX2Apic ? p.Mask : p.Mask & Low32;
            Expect(t, read, Expected(p.Value, mask), $"line {ipi.LineNumber}: the ICR holds the IPI KVM sent, idle");
        }

        var lowestPriority = ipi?.DeliveryMode == IcrFields.LowestPriority;
        if (IgnoredByProfile(write, ipi) is { } ignored)
        {
            IgnoredIpi(g, ignored, origin);
            return;
        }
        foreach (var a in g.Accepts)
        {
            EmitDelivery((AcceptEvent)_events[a], lowestPriority, ipi, fromIpi: true,
                destinationKnown ? null : $"the simulator may have sent the IPI elsewhere ({unknownDestination})");
        }
    }

    /// <summary>
    /// Whether an xAPIC IPI goes to a logical destination that the simulator matches against logical IDs the excerpt
    /// does not give: KVM's vCPUs took their LDR and DFR from the guest before the excerpt, the simulator's are still
    /// those of reset unless the excerpt writes them, so where it lands may differ. x2APIC logical IDs follow from the
    /// APIC IDs, and a shorthand ignores the destination.
    /// </summary>
    private bool LogicalIdsUnknown(TrackedVcpu sender, KvmTraceEvent? write, IpiEvent? ipi)
    {
        var low = write is null ? ipi!.IcrLow : IcrLowOf(write) ?? 0;
        return !sender.IsX2Apic
            && write is not (ApicAccessEvent { Offset: ApicOffsets.SelfIpi } or MsrAccessEvent { Msr: ApicMsrs.X2ApicSelfIpi })
            && (low & IcrFields.DestinationLogical) != 0
            && ((low >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask) == IcrFields.ShorthandNone
            && !_vcpus.All(v => v.Written(ApicOffsets.Ldr) is not null && v.Written(ApicOffsets.Dfr) is not null);
    }

    /// <summary>
    /// Why the profile ignores an IPI that KVM delivers: NMI, SMI, INIT and Start-up with the self or all-including-self
    /// shorthand are not valid ICR combinations (SDM 10.6.1), which KVM sends anyway. Null for any other IPI.
    /// </summary>
    private string? IgnoredByProfile(KvmTraceEvent? write, IpiEvent? ipi)
    {
        if (write is MsrAccessEvent { Msr: ApicMsrs.X2ApicSelfIpi } or ApicAccessEvent { Offset: ApicOffsets.SelfIpi })
        {
            return null;
        }
        var low = write is null ? ipi!.IcrLow : IcrLowOf(write) ?? 0;
        var mode = (low >> IcrFields.DeliveryModeShift) & IcrFields.DeliveryModeMask;
        var shorthand = (low >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask;
        if (mode is not (IcrFields.Nmi or IcrFields.Smi or IcrFields.Init or IcrFields.StartUp)
            || shorthand is not (IcrFields.ShorthandSelf or IcrFields.ShorthandAll))
        {
            return null;
        }
        var name = mode switch { IcrFields.Nmi => "NMI", IcrFields.Smi => "SMI", IcrFields.Init => "INIT", _ => "Start-up" };
        var to = shorthand == IcrFields.ShorthandSelf ? "self" : "all-including-self";
        return $"KVM delivered it, but the profile ignores {name} with the {to} shorthand (not a valid ICR combination)";
    }

    /// <summary>
    /// An IPI that KVM delivered and the profile ignores (<see cref="IgnoredByProfile"/>): its accepts are not checked and
    /// change nothing the importer follows. An NMI or SMI leaves the APIC as it was (the count the script checks is the
    /// simulator's); an INIT or Start-up changed the vCPUs KVM delivered it to, and not the simulator's, so their checks are
    /// dropped from here on.
    /// </summary>
    private void IgnoredIpi(IpiGroup g, string why, string origin)
    {
        var changed = new List<TrackedVcpu>();
        foreach (var a in g.Accepts.Select(i => (AcceptEvent)_events[i]))
        {
            _script.Comment($"{a.Describe()}: {why}; not checked");
            if (a.DeliveryMode is IcrFields.Init or IcrFields.StartUp && a.ApicId < _vcpus.Length
                && _vcpus[(int)a.ApicId] is { Unchecked: null } v)
            {
                v.Unchecked = $"{origin.Split(':')[0]}: {why}, and it changed vCPU {v.Index} in KVM";
                changed.Add(v);
            }
        }
        _notes.Add($"{origin}: {why}; {(changed.Count > 0 ? $"{Listed(changed)} not checked from here on" : "its accepts are not checked")}");
    }

    /// <summary>
    /// What the excerpt leaves unknown about an IPI it replays, and the vCPUs that may differ from what the importer
    /// follows because of it; null when the IPI's lines tell it all. Unknown are where it went (no ICR2, kvm_apic_ipi
    /// or accept gives the destination) and what it did to a vCPU it reaches without an accept line for it (KVM prints
    /// one for every APIC it delivers to, so the line was torn or fell outside the excerpt).
    /// </summary>
    private (string Reason, List<TrackedVcpu> Affected)? Unknown(IpiGroup g, TrackedVcpu sender, KvmTraceEvent? write, IpiEvent? ipi, bool destinationKnown,
        string unknownDestination)
    {
        var (reach, exact) = Reach(sender, write, ipi);
        var accepted = g.Accepts.Select(a => ((AcceptEvent)_events[a]).ApicId).Where(id => id < _vcpus.Length).Select(id => _vcpus[(int)id]).ToList();
        if (!destinationKnown)
        {
            return (unknownDestination, reach.Concat(accepted).Distinct().ToList());
        }
        if (!_acceptsTraced)
        {
            return null;
        }
        if (accepted.Count == 0 && g.Accepts.Count == 0 && reach.Count > 0)
        {
            return ("no accept line of it is in the excerpt", reach);
        }
        var missing = exact ? reach.Where(v => v.Mode != TrackedMode.Disabled && !accepted.Contains(v)).ToList() : [];
        return missing.Count > 0 ? ($"the excerpt has no accept line of it for {Listed(missing)}", missing) : null;
    }

    /// <summary>
    /// The vCPUs the simulator delivers an IPI to, as far as the importer can tell, and whether that is exact: by
    /// shorthand or physical destination it is; for a logical destination (the importer does not follow logical IDs)
    /// or one it does not know, every vCPU may be.
    /// </summary>
    private (List<TrackedVcpu> Vcpus, bool Exact) Reach(TrackedVcpu sender, KvmTraceEvent? write, IpiEvent? ipi)
    {
        var low = write is null ? ipi!.IcrLow : IcrLowOf(write) ?? 0;
        var shorthand = (low >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask;
        if (shorthand == IcrFields.ShorthandSelf)
        {
            return ([sender], true);
        }
        if (shorthand != IcrFields.ShorthandNone)
        {
            return (_vcpus.Where(v => shorthand == IcrFields.ShorthandAll || v != sender).ToList(), true);
        }
        ulong? destination = sender.IsX2Apic
            ? sender.Written(ApicOffsets.IcrLow) is { } icr ? icr >> X2ApicDestinationShift : null
            : (sender.Written(ApicOffsets.IcrHigh) ?? 0) >> IcrFields.XApicDestinationShift;
        if ((low & IcrFields.DestinationLogical) != 0 || destination is null)
        {
            return ([.. _vcpus], false);
        }
        if (destination == (sender.IsX2Apic ? ApicId.X2ApicBroadcast : ApicId.XApicBroadcast))
        {
            return ([.. _vcpus], true);
        }
        return (destination < (ulong)_vcpus.Length ? [_vcpus[(int)destination]] : [], true);
    }

    /// <summary>
    /// An IPI whose destination or effect the excerpt does not show in full: a fixed vector counts as uncertain (later ack
    /// checks it could disturb are dropped, as for lowest priority); any other delivery mode (INIT, SIPI, NMI, SMI) may
    /// have changed the <paramref name="affected"/> vCPUs in ways the importer cannot follow, so their checks are dropped
    /// from here on.
    /// </summary>
    private void Uncertain(KvmTraceEvent? write, IpiEvent? ipi, string unknown, List<TrackedVcpu> affected, string origin)
    {
        var low = write is null ? ipi!.IcrLow : IcrLowOf(write) ?? 0;
        var mode = (low >> IcrFields.DeliveryModeShift) & IcrFields.DeliveryModeMask;
        if (mode is IcrFields.Fixed or IcrFields.LowestPriority)
        {
            _uncertainVectors.Add((int)(low & IcrFields.VectorMask));
            _notes.Add($"{origin}: {unknown}; later ack checks its vector could disturb are dropped");
            return;
        }
        var newly = affected.Where(v => v.Unchecked is null).ToList();
        foreach (var v in newly)
        {
            v.Unchecked = $"{origin.Split(':')[0]}: {unknown}, and it may have changed vCPU {v.Index}";
        }
        if (newly.Count > 0)
        {
            _notes.Add($"{origin}: {unknown}; {Listed(newly)} not checked from here on");
        }
    }

    /// <summary>A few vCPUs by number (<c>vCPU 1, 2</c>), or the first of many and how many (<c>vCPUs 1, 2, 3 and 250 more</c>).</summary>
    private static string Listed(List<TrackedVcpu> vcpus)
    {
        const int Shown = 3;
        var first = string.Join(", ", vcpus.Take(Shown).Select(v => v.Index.ToString(CultureInfo.InvariantCulture)));
        return vcpus.Count <= Shown
            ? $"vCPU {first}"
            : string.Create(CultureInfo.InvariantCulture, $"vCPUs {first} and {vcpus.Count - Shown} more");
    }

    /// <summary>
    /// An expectation on <paramref name="t"/>; just the command when an IPI the excerpt does not show in full may have
    /// changed it (<see cref="TrackedVcpu.Unchecked"/>).
    /// </summary>
    private void Expect(TrackedVcpu t, string command, string expected, string note)
    {
        if (t.Unchecked is { } why)
        {
            _script.On(t.Index, command, $"{note}; not checked ({why})");
            return;
        }
        _script.Expect(t.Index, command, expected, note);
    }

    /// <summary>
    /// The one accept of an IPI sent to a single APIC by ID (physical, no shorthand) whose group has exactly one accept:
    /// it tells where the IPI went when neither the ICR2 write nor a kvm_apic_ipi line does. Null otherwise.
    /// </summary>
    private AcceptEvent? SoleAccept(IpiGroup g, uint low) =>
        g.Accepts.Count == 1
        && (low & IcrFields.DestinationLogical) == 0
        && ((low >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask) == IcrFields.ShorthandNone
        && _events[g.Accepts[0]] is AcceptEvent { ApicId: < MaxVcpus } accept
            ? accept
            : null;

    /// <summary>
    /// An ICR write: one 64-bit WRMSR in x2APIC mode; in xAPIC mode ICR2 first when the excerpt lacks it. The destination
    /// comes from the write itself, else from the kvm_apic_ipi line, else from the IPI's sole accept.
    /// </summary>
    private bool WriteIcr(TrackedVcpu t, uint low, IpiEvent? ipi, AcceptEvent? accept, string origin, bool rebuilt)
    {
        var shorthand = ((low >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask) != IcrFields.ShorthandNone;
        if (t.IsX2Apic)
        {
            var destination = ipi?.Destination ?? accept?.ApicId;
            if (destination is null && !shorthand)
            {
                _notes.Add($"{origin}: kvm_apic shows only the low half of the x2APIC ICR and neither a kvm_apic_ipi line nor an accept gives the destination; destination 0 assumed");
            }
            else if (ipi is null && accept is not null)
            {
                origin = $"{origin}: destination {Hex.Of(accept.ApicId)} from line {accept.LineNumber} (kvm_apic_accept_irq)";
            }
            var value = ((ulong)(destination ?? 0) << X2ApicDestinationShift) | low;
            _script.On(t.Index, $"wrmsr {Hex.Of(ApicMsrs.X2ApicIcr)} {Hex.Of(value)}", origin);
            t.ApplyWrite(ApicOffsets.IcrLow, value);
            return destination is not null || shorthand;
        }

        if (ipi is { Shorthand: IcrFields.ShorthandNone })
        {
            WriteIcr2(t, ipi.Destination, $"line {ipi.LineNumber}: ICR2 is not in the excerpt, destination {Hex.Of(ipi.Destination)} from kvm_apic_ipi");
        }
        var known = true;
        if (ipi is null && t.Written(ApicOffsets.IcrHigh) is null && !rebuilt && !shorthand)
        {
            if (accept is not null)
            {
                WriteIcr2(t, accept.ApicId, $"line {accept.LineNumber}: ICR2 is not in the excerpt, destination {Hex.Of(accept.ApicId)} from kvm_apic_accept_irq");
            }
            else
            {
                _notes.Add($"{origin}: neither the ICR2 write, a kvm_apic_ipi line nor an accept gives the destination; the simulator's ICR2 is used");
                known = false;
            }
        }
        _script.On(t.Index, $"writel {Hex.Of(t.Base + ApicOffsets.IcrLow)} {Hex.Of(low)}", origin);
        t.ApplyWrite(ApicOffsets.IcrLow, low);
        return known;
    }

    /// <summary>Writes ICR2 with <paramref name="destination"/> in xAPIC mode, unless it holds it already.</summary>
    private void WriteIcr2(TrackedVcpu t, uint destination, string origin)
    {
        var high = ((ulong)destination << IcrFields.XApicDestinationShift) & IcrFields.XApicDestinationMask;
        if (t.Written(ApicOffsets.IcrHigh) != high)
        {
            _script.On(t.Index, $"writel {Hex.Of(t.Base + ApicOffsets.IcrHigh)} {Hex.Of(high)}", origin);
            t.ApplyWrite(ApicOffsets.IcrHigh, high);
        }
    }

    /// <summary>An accepted interrupt that no IPI of the excerpt explains: a timer, a device or an I/O APIC sent it.</summary>
    private void EmitExternal(AcceptEvent a)
    {
        var origin = a.Describe();
        if (a.DeliveryMode is IcrFields.StartUp or IcrFields.ExtInt or IcrFields.Reserved3 || a.ApicId > MaxMsiDestination)
        {
            _script.Comment($"{origin}: no IPI of the excerpt explains it and an MSI cannot carry it; not replayed");
            _notes.Add($"{origin}: not replayed (no IPI of the excerpt explains it and an MSI cannot carry it)");
            return;
        }
        var mode = a.DeliveryMode == IcrFields.LowestPriority ? IcrFields.Fixed : a.DeliveryMode;
        var address = MsiAddressBase | (a.ApicId << MsiDestinationShift);
        var data = a.Vector | (mode << IcrFields.DeliveryModeShift) | (a.Level ? MsiLevelAssert : 0);
        _script.Global($"msi {Hex.Of(address)} {Hex.Of(data)}", $"{origin}: no IPI of the excerpt sent it (timer, device): injected");
        EmitDelivery(a, lowestPriority: false, ipi: null, fromIpi: false);
    }

    /// <param name="fromIpi">An IPI delivered it (else an MSI the script injected).</param>
    private void EmitDelivery(AcceptEvent a, bool lowestPriority, IpiEvent? ipi, bool fromIpi, string? elsewhere = null)
    {
        var origin = a.Describe();
        if (a.ApicId >= _vcpus.Length)
        {
            _notes.Add($"{origin}: vCPU {a.ApicId} is not in the generated VM; not checked");
            return;
        }
        var t = _vcpus[(int)a.ApicId];
        if (t.Mode == TrackedMode.Disabled)
        {
            _script.Comment($"{origin}: vCPU {t.Index}'s APIC is disabled, it receives nothing; not checked");
            return;
        }
        switch (a.DeliveryMode)
        {
            case IcrFields.Fixed or IcrFields.LowestPriority:
                if (a.Vector < FirstLegalVector)
                {
                    _script.Comment($"{origin}: vectors below 16 are never accepted in the profile; not checked");
                    _notes.Add($"{origin}: vector below 16, not checked");
                    return;
                }
                if (!t.AcceptsFixed)
                {
                    _script.Comment($"{origin}: vCPU {t.Index}'s APIC is software-disabled, so the interrupt is discarded; not checked");
                    return;
                }
                t.Irr.Add(a.Vector);
                if (lowestPriority || elsewhere is not null)
                {
                    _uncertainVectors.Add(a.Vector);
                    var why = lowestPriority
                        ? "lowest priority, the simulator picks the destination by its own rules" + (elsewhere is null ? "" : $"; {elsewhere}")
                        : elsewhere;
                    _script.Comment($"{origin}: {why}; not checked");
                    return;
                }
                if (t.Running)
                {
                    ExpectVectorBit(t, ApicOffsets.Irr0, a.Vector, set: true, $"{origin}: pending in IRR");
                    if (a.Level && fromIpi)
                    {
                        // KVM keeps a fixed IPI's level; the profile, like Pentium 4 and later processors, sends it edge-triggered.
                        _script.Comment($"{origin}: level-triggered for KVM, but fixed IPIs are edge-triggered in the profile; TMR not checked");
                    }
                    else if (a.Level)
                    {
                        ExpectVectorBit(t, ApicOffsets.Tmr0, a.Vector, set: true, $"{origin}: level-triggered, TMR set");
                    }
                }
                return;
            case IcrFields.Nmi or IcrFields.Smi:
                if (!t.Running)
                {
                    _script.Comment($"{origin}: vCPU {t.Index} waits for SIPI, the message is dropped; not checked");
                    return;
                }
                var nmi = a.DeliveryMode == IcrFields.Nmi;
                var count = nmi ? ++t.Nmis : ++t.Smis;
                Expect(t, nmi ? "nmi" : "smi", count.ToString(CultureInfo.InvariantCulture), $"{origin}: delivered");
                return;
            case IcrFields.Init:
                if (ipi?.IsLevelDeassert == true)
                {
                    _script.Comment($"{origin}: INIT level de-assert, which has no effect; nothing to check");
                    return;
                }
                t.Init();
                Expect(t, "state", t.Running ? "running" : "wait-for-sipi", $"{origin}: INIT");
                return;
            case IcrFields.StartUp:
                if (!t.Running)
                {
                    t.Running = true;
                    t.LastSipi = a.Vector;
                }
                Expect(t, "state", "running", $"{origin}: SIPI");
                if (t.LastSipi is int sipi)
                {
                    Expect(t, "sipi", Hex.Of((ulong)sipi), $"{origin}: the start-up vector");
                }
                return;
            default:
                _script.Comment($"{origin}: no effect the simulator shows; nothing to check");
                return;
        }
    }

    private void ExpectVectorBit(TrackedVcpu t, uint firstWord, int vector, bool set, string origin)
    {
        var offset = firstWord + ApicOffsets.Stride * (uint)(vector >> VectorWordShift);
        var bit = 1UL << (vector & VectorBitMask);
        var read = t.IsX2Apic ? $"rdmsr {Hex.Of(ApicOffsets.ToMsr(offset))}" : $"readl {Hex.Of(t.Base + offset)}";
        Expect(t, read, $"{Hex.Of(set ? bit : 0)}/{Hex.Of(bit)}", origin);
    }

    // ---------------------------------------------------------------- EOIs

    private void EmitEoi(EoiGroup g, int at)
    {
        foreach (var member in g.Members)
        {
            _done[member] = true;
        }
        var eoi = (EoiEvent)_events[g.Eoi];
        var origin = g.Write is int w ? $"{_events[w].Describe()}; {eoi.Describe()}" : eoi.Describe();
        if (eoi.ApicId >= _vcpus.Length)
        {
            _notes.Add($"{origin}: vCPU {eoi.ApicId} is not in the generated VM; skipped");
            return;
        }
        var t = _vcpus[(int)eoi.ApicId];
        if (t.Mode == TrackedMode.Disabled || !t.Running)
        {
            _script.Comment($"{origin}: vCPU {t.Index} is not running with an enabled APIC here; not replayed");
            _notes.Add($"{origin}: not replayed (vCPU not running with an enabled APIC)");
            return;
        }
        if (eoi.Vector < 0)
        {
            _script.On(t.Index, "eoi", $"{origin}: nothing was in service");
            t.EndOfInterrupt();
            return;
        }

        var v = eoi.Vector;
        if (!t.Irr.Contains(v) && !t.Isr.Contains(v))
        {
            PullCauseForward(t.Index, v, eoi.Origin.Timestamp, at);
        }
        var taken = $"{origin}: the guest took {Hex.Of((ulong)v)} before ending it";
        if (t.Isr.Count > 0 && t.Isr.Max == v)
        {
            // Already in service: nothing to take.
        }
        else if (t.Irr.Contains(v))
        {
            var predicted = t.PredictAck();
            if (predicted == v && !_uncertainVectors.Any(u => u >= v))
            {
                Expect(t, "ack", Hex.Of((ulong)v), taken);
            }
            else
            {
                var why = predicted switch
                {
                    int p when p == v => "a lowest-priority IPI, or one whose lines are not all in the excerpt, may be pending too; not checked",
                    int p => $"the simulator has {Hex.Of((ulong)p)} to present first (its state differs from KVM's here); not checked",
                    _ => "the simulator has nothing it may present here (its state differs from KVM's); not checked",
                };
                _script.On(t.Index, "ack", $"{taken}; {why}");
                _notes.Add($"{origin}: ack not checked ({why})");
            }
            if (predicted is int took)
            {
                t.Acknowledge(took);
            }
        }
        else if (!_acceptsTraced)
        {
            _script.On(t.Index, "ack", $"{taken}; the trace has no accept lines, so what is pending is unknown: not checked");
            _script.On(t.Index, "eoi", origin);
            return;
        }
        else
        {
            _script.Comment($"{origin}: {Hex.Of((ulong)v)} was delivered before the excerpt began; nothing to replay");
            _notes.Add($"{origin}: not replayed ({Hex.Of((ulong)v)} was delivered before the excerpt began)");
            return;
        }

        var cleared = t.EndOfInterrupt();
        _script.On(t.Index, "eoi", origin);
        if (cleared == v)
        {
            ExpectVectorBit(t, ApicOffsets.Isr0, v, set: false, $"{origin}: left service");
        }
    }

    /// <summary>
    /// Threads on different host CPUs may print an EOI before the IPI that delivered its vector when both carry the
    /// same timestamp. Replays that delivery first.
    /// </summary>
    private void PullCauseForward(int vcpu, int vector, string? timestamp, int at)
    {
        for (var j = at + 1; j < _events.Count; j++)
        {
            var e = _events[j];
            if (timestamp is not null ? e.Origin.Timestamp != timestamp : j - at > PullWindowWithoutTime)
            {
                return;
            }
            if (!_done[j] && e is AcceptEvent a && a.ApicId == vcpu && a.Vector == vector)
            {
                EmitAt(j);
                return;
            }
        }
    }

    private void Note(KvmTraceEvent e, string text) => _notes.Add($"line {e.LineNumber}: {text}");
}
