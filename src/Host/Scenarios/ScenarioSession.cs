using System.Text;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Cli;
using VApicActors.Host.Configuration;
using VApicActors.Host.TraceTools;
using VApicActors.Registers;

namespace VApicActors.Host.Scenarios;

/// <summary>
/// Runs the scenario language one line at a time against one VM: parse, execute, compare with the
/// expectation. Scripts, tests and the service share it. Lines run strictly in order, each after every
/// effect of the previous one. Before any <c>vm</c> line the session uses <see cref="DefaultSpec"/>
/// (one running xAPIC vCPU). The VM is created when a line first needs it, at its power-on state.
/// </summary>
public sealed class ScenarioSession : IAsyncDisposable
{
    public const int MaxVcpus = 4096;
    private const ulong MaxXApicId = 0xFE;
    private const ulong MaxX2ApicId = 0xFFFF_FFFE;
    private const ulong MaxLongValue = long.MaxValue;
    private const int SpuriousNone = -1;

    private readonly ActorSystem _system;
    private readonly ITraceSink? _trace;
    private readonly string _vmBaseName;
    private VmHandle? _vm;
    private bool _ownsVm;
    private VmSpec _spec;
    private int _vmsCreated;

    /// <summary>
    /// A session whose VMs are named after <paramref name="vmName"/> (characters other than letters, digits,
    /// <c>-</c> and <c>_</c> become <c>-</c>): the first VM it creates is <c>NAME</c>, the next <c>NAME-2</c>,
    /// <c>NAME-3</c>, … (each <c>vm</c> line or <c>restore</c> after a VM was created makes a new one). The names
    /// depend on nothing but the session's own lines.
    /// </summary>
    public ScenarioSession(ActorSystem system, string vmName = "scenario", ITraceSink? trace = null)
        : this(SanitizeName(vmName ?? throw new ArgumentNullException(nameof(vmName))), system, trace)
    {
    }

    /// <summary>A session whose VMs are named after <paramref name="vmBaseName"/> as given (a name made unique by <see cref="ScenarioRunner"/>).</summary>
    internal ScenarioSession(string vmBaseName, ActorSystem system, ITraceSink? trace)
    {
        _system = system ?? throw new ArgumentNullException(nameof(system));
        ArgumentException.ThrowIfNullOrEmpty(vmBaseName);
        _trace = trace;
        _vmBaseName = vmBaseName;
        _spec = DefaultSpec(NextVmName());
    }

    /// <summary>The VM a script gets before its first <c>vm</c> line: <c>vm vcpus=1</c>.</summary>
    public static VmSpec DefaultSpec(string name) => new(name, 1);

    /// <summary>The VM the session drives (or will create on first use).</summary>
    public VmSpec Spec => _spec;

    /// <summary>The vCPU that guest actions use (<c>cpu N</c>).</summary>
    public int SelectedCpu { get; private set; }

    /// <summary>The VM the session drives, once it exists.</summary>
    public VmHandle? Vm => _vm;

    /// <summary>
    /// Drives <paramref name="vm"/>, which someone else owns, from vCPU 0: the session's own VM (if any) is
    /// stopped, and neither a later <c>vm</c> line nor <see cref="DisposeAsync"/> stops the adopted one.
    /// </summary>
    public async Task AdoptAsync(VmHandle vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        await DisposeAsync().ConfigureAwait(false);
        _vm = vm;
        _ownsVm = false;
        _spec = vm.Spec;
        SelectedCpu = 0;
    }

    /// <summary>Selects vCPU <paramref name="cpu"/> as <c>cpu N</c> would (for a session whose selection lives elsewhere).</summary>
    public void SelectCpu(int cpu)
    {
        if ((uint)cpu >= (uint)_spec.VcpuCount)
        {
            throw new ScenarioException($"no vCPU {cpu}: the VM has {_spec.VcpuCount} (0 to {_spec.VcpuCount - 1})");
        }
        SelectedCpu = cpu;
    }

    /// <summary>Runs one line. Never throws for script errors: they come back as <see cref="LineOutcomeKind.Error"/>.</summary>
    public async Task<LineOutcome> ExecuteAsync(string line)
    {
        ScenarioLine parsed;
        Expectation? expected;
        try
        {
            parsed = ScenarioLine.Parse(line);
            if (parsed.IsEmpty)
            {
                return LineOutcome.Empty;
            }
            expected = parsed.Expected is null ? null : Expectation.Parse(parsed.Expected);
        }
        catch (ScenarioException e)
        {
            return LineOutcome.Failure(e.Message);
        }

        ScenarioResult result;
        try
        {
            result = await RunAsync(parsed.Command).ConfigureAwait(false);
        }
        catch (ScenarioException e)
        {
            return LineOutcome.Failure(e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return LineOutcome.Failure($"the simulator failed: {e.GetType().Name}: {e.Message}");
        }

        if (expected is null)
        {
            return new LineOutcome(LineOutcomeKind.Executed, result);
        }
        return new LineOutcome(expected.Matches(result) ? LineOutcomeKind.Passed : LineOutcomeKind.Failed, result, expected);
    }

    public async ValueTask DisposeAsync()
    {
        if (_vm is not null)
        {
            var vm = _vm;
            var owned = _ownsVm;
            _vm = null;
            _ownsVm = false;
            if (owned)
            {
                await vm.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every command of the language, for the hint that names the one a mistyped command was probably meant to be.</summary>
    internal static readonly string[] Verbs =
    [
        "vm", "cpu", "readb", "readw", "readl", "readq", "writeb", "writew", "writel", "writeq", "rdmsr", "wrmsr", "msi",
        "lint0", "lint1", "pending", "ack", "eoi", "irr", "isr", "tmr", "state", "nmi", "smi", "sipi", "eoi-broadcasts",
        "rdtsc", "clock_step", "clock_set", "clock", "save", "restore",
    ];

    private async Task<ScenarioResult> RunAsync(IReadOnlyList<string> command)
    {
        var verb = command[0].ToLowerInvariant();
        var args = command.Skip(1).ToArray();
        switch (verb)
        {
            case "vm":
                return await NewVmAsync(args).ConfigureAwait(false);
            case "cpu":
                Expect(verb, args, 1, "N");
                var index = Number(args[0], "vCPU index");
                if (index >= (ulong)_spec.VcpuCount)
                {
                    throw new ScenarioException($"no vCPU {Quote(args[0])}: the VM has {_spec.VcpuCount} (0 to {_spec.VcpuCount - 1})");
                }
                SelectedCpu = (int)index;
                return ScenarioResult.Ok;
            case "readb" or "readw" or "readl" or "readq":
            {
                Expect(verb, args, 1, "ADDR");
                var address = Number(args[0], "address");
                var vm = await VmAsync().ConfigureAwait(false);
                return ValueOf(await vm.ReadMmioAsync(SelectedCpu, address, Width(verb)).ConfigureAwait(false));
            }
            case "writeb" or "writew" or "writel" or "writeq":
            {
                Expect(verb, args, 2, "ADDR VALUE");
                var address = Number(args[0], "address");
                var width = Width(verb);
                var value = Fits(Number(args[1], "value"), width * 8, args[1]);
                var vm = await VmAsync().ConfigureAwait(false);
                return StatusOf(await vm.WriteMmioAsync(SelectedCpu, address, width, value).ConfigureAwait(false));
            }
            case "rdmsr":
            {
                Expect(verb, args, 1, "MSR");
                var msr = (uint)Fits(Number(args[0], "MSR"), 32, args[0]);
                var vm = await VmAsync().ConfigureAwait(false);
                return ValueOf(await vm.ReadMsrAsync(SelectedCpu, msr).ConfigureAwait(false));
            }
            case "wrmsr":
            {
                Expect(verb, args, 2, "MSR VALUE");
                var msr = (uint)Fits(Number(args[0], "MSR"), 32, args[0]);
                var value = Number(args[1], "value");
                var vm = await VmAsync().ConfigureAwait(false);
                return StatusOf(await vm.WriteMsrAsync(SelectedCpu, msr, value).ConfigureAwait(false));
            }
            case "msi":
            {
                Expect(verb, args, 2, "ADDR DATA");
                var address = Number(args[0], "address");
                var data = (uint)Fits(Number(args[1], "data"), 32, args[1]);
                var vm = await VmAsync().ConfigureAwait(false);
                await vm.SendMsiAsync(address, data).ConfigureAwait(false);
                return ScenarioResult.Ok;
            }
            case "lint0" or "lint1":
            {
                Expect(verb, args, 1, "LEVEL");
                var level = Number(args[0], "level");
                if (level > 1)
                {
                    throw new ScenarioException($"{verb}: LEVEL must be 0 or 1, got {Quote(args[0])}");
                }
                var vm = await VmAsync().ConfigureAwait(false);
                await vm.SetLintAsync(SelectedCpu, verb == "lint0" ? 0 : 1, level == 1).ConfigureAwait(false);
                return ScenarioResult.Ok;
            }
            case "pending":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                var vector = await vm.PendingAsync(SelectedCpu).ConfigureAwait(false);
                return vector == SpuriousNone ? ScenarioResult.None : ScenarioResult.Vector(vector);
            }
            case "ack":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                var r = await vm.AcknowledgeAsync(SelectedCpu).ConfigureAwait(false);
                return r.Status == AccessStatus.Ok ? ScenarioResult.Vector((int)r.Value) : StatusOf(r);
            }
            case "eoi":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                return StatusOf(await vm.EoiAsync(SelectedCpu).ConfigureAwait(false));
            }
            case "irr" or "isr" or "tmr":
            {
                Expect(verb, args, 0, string.Empty);
                var snapshot = await SnapshotAsync().ConfigureAwait(false);
                var set = verb switch { "irr" => snapshot.Irr, "isr" => snapshot.Isr, _ => snapshot.Tmr };
                return ScenarioResult.Vectors(set.Vectors());
            }
            case "state":
            {
                Expect(verb, args, 0, string.Empty);
                var snapshot = await SnapshotAsync().ConfigureAwait(false);
                return ScenarioResult.Word(snapshot.RunState == VcpuRunState.Running ? "running" : "wait-for-sipi");
            }
            case "nmi" or "smi":
            {
                Expect(verb, args, 0, string.Empty);
                var snapshot = await SnapshotAsync().ConfigureAwait(false);
                return ScenarioResult.Count(verb == "nmi" ? snapshot.NmiCount : snapshot.SmiCount);
            }
            case "sipi":
            {
                Expect(verb, args, 0, string.Empty);
                var snapshot = await SnapshotAsync().ConfigureAwait(false);
                return snapshot.SipiVector < 0 ? ScenarioResult.None : ScenarioResult.Vector(snapshot.SipiVector);
            }
            case "eoi-broadcasts":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                var vectors = await vm.TakeEoiBroadcastsAsync().ConfigureAwait(false);
                return ScenarioResult.Vectors(vectors.Select(v => (int)v));
            }
            case "rdtsc":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                return ValueOf(await vm.ReadTscAsync(SelectedCpu).ConfigureAwait(false));
            }
            case "clock_step":
            {
                if (args.Length > 1)
                {
                    throw new ScenarioException("clock_step takes at most one argument: clock_step [NS]");
                }
                long? ns = args.Length == 1 ? (long)Fits(Number(args[0], "NS"), MaxLongValue, args[0]) : null;
                var vm = await VmAsync().ConfigureAwait(false);
                return ScenarioResult.Count(await vm.StepClockAsync(ns).ConfigureAwait(false));
            }
            case "clock_set":
            {
                Expect(verb, args, 1, "NS");
                var ns = (long)Fits(Number(args[0], "NS"), MaxLongValue, args[0]);
                var vm = await VmAsync().ConfigureAwait(false);
                return ScenarioResult.Count(await vm.SetClockAsync(ns).ConfigureAwait(false));
            }
            case "clock":
            {
                Expect(verb, args, 0, string.Empty);
                var vm = await VmAsync().ConfigureAwait(false);
                return ScenarioResult.Count(await vm.ClockAsync().ConfigureAwait(false));
            }
            case "save":
                Expect(verb, args, 1, "FILE");
                await SaveAsync(args[0]).ConfigureAwait(false);
                return ScenarioResult.Ok;
            case "restore":
                Expect(verb, args, 1, "FILE");
                await RestoreAsync(args[0]).ConfigureAwait(false);
                return ScenarioResult.Ok;
            default:
                throw new ScenarioException($"unknown command '{Quote(command[0])}'{Cli.Suggestions.Hint(verb, Verbs)}");
        }
    }

    private async Task<ScenarioResult> NewVmAsync(string[] args)
    {
        int? vcpus = null;
        var x2Apic = false;
        string? idsText = null;
        var bootAll = true;
        var timerHz = ApicConfig.DefaultHz;
        var tscHz = ApicConfig.DefaultHz;
        var seen = new HashSet<string>();

        foreach (var arg in args)
        {
            var eq = arg.IndexOf('=');
            if (eq <= 0 || eq == arg.Length - 1)
            {
                throw new ScenarioException($"vm: expected KEY=VALUE, got '{Quote(arg)}'");
            }
            var key = arg[..eq].ToLowerInvariant();
            var value = arg[(eq + 1)..];
            if (!seen.Add(key))
            {
                throw new ScenarioException($"vm: '{Quote(key)}' given twice");
            }
            switch (key)
            {
                case "vcpus":
                    var n = Number(value, "vcpus");
                    if (n < 1 || n > MaxVcpus)
                    {
                        throw new ScenarioException($"vm: vcpus must be between 1 and {MaxVcpus}, got {Quote(value)}");
                    }
                    vcpus = (int)n;
                    break;
                case "mode":
                    x2Apic = value.ToLowerInvariant() switch
                    {
                        "xapic" => false,
                        "x2apic" => true,
                        _ => throw new ScenarioException($"vm: mode must be xapic or x2apic, got '{Quote(value)}'"),
                    };
                    break;
                case "apic-ids":
                    idsText = value;
                    break;
                case "boot":
                    bootAll = value.ToLowerInvariant() switch
                    {
                        "all" => true,
                        "bsp" => false,
                        _ => throw new ScenarioException($"vm: boot must be all or bsp, got '{Quote(value)}'"),
                    };
                    break;
                case "timer-hz":
                    timerHz = Hz(value, key);
                    break;
                case "tsc-hz":
                    tscHz = Hz(value, key);
                    break;
                default:
                    throw new ScenarioException($"vm: unknown option '{Quote(key)}' (known: vcpus, mode, apic-ids, boot, timer-hz, tsc-hz)");
            }
        }

        if (vcpus is null)
        {
            throw new ScenarioException("vm: missing vcpus=N");
        }
        if (!x2Apic && (ulong)vcpus.Value > MaxXApicId + 1)
        {
            // xAPIC IDs are 0 to 0xFE (0xFF is the broadcast destination): there are not enough of them.
            throw new ScenarioException($"vm: xapic mode has at most {MaxXApicId + 1} vCPUs (APIC IDs 0 to 0x{MaxXApicId:X}), got vcpus={vcpus.Value}; use mode=x2apic");
        }
        var ids = idsText is null ? null : ApicIds(idsText, vcpus.Value, x2Apic);

        await DisposeAsync().ConfigureAwait(false);
        _spec = new VmSpec(NextVmName(), vcpus.Value, x2Apic, ids, bootAll, timerHz, tscHz);
        SelectedCpu = 0;
        return ScenarioResult.Ok;
    }

    private static IReadOnlyList<uint> ApicIds(string text, int vcpus, bool x2Apic)
    {
        var parts = text.Split(',');
        if (parts.Length != vcpus)
        {
            throw new ScenarioException($"vm: apic-ids must list one ID per vCPU ({vcpus}), got {parts.Length}");
        }
        var max = x2Apic ? MaxX2ApicId : MaxXApicId;
        var ids = new uint[parts.Length];
        var seen = new HashSet<uint>();
        for (var i = 0; i < parts.Length; i++)
        {
            var id = Number(parts[i], "APIC ID");
            if (id > max)
            {
                throw new ScenarioException($"vm: APIC ID {Quote(parts[i])} is above 0x{max:X}, the highest in {(x2Apic ? "x2apic" : "xapic")} mode");
            }
            if (!seen.Add((uint)id))
            {
                throw new ScenarioException($"vm: APIC ID {Quote(parts[i])} appears twice");
            }
            ids[i] = (uint)id;
        }
        return ids;
    }

    private static long Hz(string value, string key)
    {
        var hz = Number(value, key);
        if (hz < 1 || hz > VapicSettings.MaxHz)
        {
            throw new ScenarioException($"vm: {key} must be between 1 and {VapicSettings.MaxHz}, got {Quote(value)}");
        }
        return (long)hz;
    }

    /// <summary>
    /// Where <c>save</c> and <c>restore</c> resolve relative file names (the script's folder when a runner sets it);
    /// null for the current directory.
    /// </summary>
    public string? BaseDirectory { get; init; }

    /// <summary><c>save FILE</c>: writes the VM's state (every APIC, the virtual time, pending EOI broadcasts) as a state file.</summary>
    private async Task SaveAsync(string file)
    {
        var state = await TakeStateAsync().ConfigureAwait(false);
        var path = StatePath(file);
        try
        {
            CommandLineFiles.CreateFolders(path);
            VmStateFile.Write(state, path);
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            throw new ScenarioException($"save: cannot write {path}: {CommandLineFiles.WriteReason(path, e)}");
        }
    }

    /// <summary>
    /// <c>restore FILE</c>: replaces the VM with a new one shaped like the saved VM (vCPUs, APIC IDs, clocks) and
    /// restores it; vCPU 0 is selected.
    /// </summary>
    private async Task RestoreAsync(string file)
    {
        var path = StatePath(file);
        VmState state;
        try
        {
            state = VmStateFile.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or InvalidDataException)
        {
            throw new ScenarioException($"restore: cannot read {path}: {CommandLineFiles.ReadReason(path, e)}");
        }
        await RestoreStateAsync(state).ConfigureAwait(false);
    }

    /// <summary>The state <c>save</c> writes: the VM's as it is now (made first if the session has none yet).</summary>
    internal async Task<VmState> TakeStateAsync()
    {
        var vm = await VmAsync().ConfigureAwait(false);
        return await vm.SaveAsync().ConfigureAwait(false);
    }

    /// <summary>What <c>restore</c> does with the state it read: a new VM shaped like the saved one, restored; vCPU 0 selected.</summary>
    internal async Task RestoreStateAsync(VmState state)
    {
        await DisposeAsync().ConfigureAwait(false);
        _spec = state.Spec with { Name = NextVmName() };
        SelectedCpu = 0;
        var vm = await VmAsync().ConfigureAwait(false);
        await vm.RestoreAsync(state).ConfigureAwait(false);
    }

    private string StatePath(string file) => BaseDirectory is null ? Path.GetFullPath(file) : Path.GetFullPath(file, BaseDirectory);

    private async Task<VmHandle> VmAsync()
    {
        if (_vm is null)
        {
            _vm = await VmHandle.CreateAsync(_system, _spec, _trace).ConfigureAwait(false);
            _ownsVm = true;
            _vmsCreated++;
        }
        return _vm;
    }

    private async Task<ApicSnapshot> SnapshotAsync()
    {
        var vm = await VmAsync().ConfigureAwait(false);
        return await vm.SnapshotAsync(SelectedCpu).ConfigureAwait(false);
    }

    private static ScenarioResult ValueOf(AccessResult r) =>
        r.Status == AccessStatus.Ok ? ScenarioResult.Value(r.Value) : StatusOf(r);

    private static ScenarioResult StatusOf(AccessResult r) => r.Status switch
    {
        AccessStatus.Ok => ScenarioResult.Ok,
        AccessStatus.GeneralProtection => ScenarioResult.GeneralProtection,
        AccessStatus.NotRunning => ScenarioResult.NotRunning,
        _ => ScenarioResult.None,
    };

    private static int Width(string verb) => verb[^1] switch
    {
        'b' => 1,
        'w' => 2,
        'l' => 4,
        _ => 8,
    };

    private static void Expect(string verb, string[] args, int count, string usage)
    {
        if (args.Length < count)
        {
            throw new ScenarioException($"{verb}: missing argument (usage: {verb} {usage})");
        }
        if (args.Length > count)
        {
            throw new ScenarioException(count == 0
                ? $"{verb} takes no arguments, got '{Quote(args[0])}'"
                : $"{verb}: too many arguments (usage: {verb} {usage})");
        }
    }

    private static ulong Number(string token, string what) =>
        NumberSyntax.TryParse(token, out var n) ? n : throw new ScenarioException($"bad number '{Quote(token)}' for {what}");

    private static ulong Fits(ulong value, int bits, string token) =>
        bits >= 64 || value >> bits == 0 ? value : throw new ScenarioException($"'{Quote(token)}' does not fit in {bits} bits");

    private static ulong Fits(ulong value, ulong max, string token) =>
        value <= max ? value : throw new ScenarioException($"'{Quote(token)}' is too large (at most {max})");

    private static string Quote(string word) => ScenarioException.Quote(word);

    /// <summary>The name of the next VM the session creates: the base name for the first, then <c>-2</c>, <c>-3</c>, ….</summary>
    private string NextVmName() => VmName(_vmBaseName, _vmsCreated + 1);

    /// <summary>The name of the <paramref name="ordinal"/>-th VM (from 1) of a session named <paramref name="baseName"/>.</summary>
    public static string VmName(string baseName, int ordinal) =>
        ordinal <= 1 ? baseName : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{baseName}-{ordinal}");

    /// <summary>The base name of a script's VMs: its file name without the extension, with characters other than letters, digits, <c>-</c> and <c>_</c> as <c>-</c>.</summary>
    public static string SanitizeName(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-');
        }
        return sb.Length == 0 ? "vm" : sb.ToString();
    }
}
