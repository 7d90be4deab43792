using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Globalization;
using VApicActors.Actors;
using VApicActors.Host.Cli;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic state import-kvm DIR -o STATE.json</c>: a VM state built from one <c>struct kvm_lapic_state</c> per vCPU
/// (<c>DIR/vcpu-N.lapic</c>, 1 KiB each, as <c>KVM_GET_LAPIC</c> returns it and <c>state export-kvm</c> writes it), so
/// that the local APICs of a real VM — from a VMM's snapshot, say — can be restored into the simulator and run on.
/// </summary>
public static class KvmLapicImport
{
    /// <summary>The file of vCPU <paramref name="index"/> in a folder of KVM APIC states.</summary>
    public static string FileName(int index) => string.Create(CultureInfo.InvariantCulture, $"vcpu-{index}.lapic");

    /// <summary>The <c>vcpu-N.lapic</c> files in <paramref name="folder"/>, each with its N, in no particular order.</summary>
    public static IEnumerable<(int Index, string Path)> VcpuFiles(string folder)
    {
        foreach (var path in Directory.EnumerateFiles(folder, "vcpu-*.lapic"))
        {
            var name = Path.GetFileNameWithoutExtension(path)["vcpu-".Length..];
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && FileName(n) == Path.GetFileName(path))
            {
                yield return (n, path);
            }
        }
    }

    /// <summary>
    /// Reads <c>vcpu-0.lapic</c>, <c>vcpu-1.lapic</c>, … from <paramref name="folder"/> (every one up to the highest
    /// there, none missing) and builds the VM's state at virtual time 0 (see <see cref="LocalApic.StateFromKvmLapicState"/>).
    /// Throws <see cref="InvalidDataException"/> (<c>FILE: error: REASON</c>) when the folder does not hold such a set.
    /// </summary>
    public static VmState Read(string folder, bool x2Apic, long timerHz, long tscHz) => Read(folder, x2Apic, timerHz, tscHz, out _);

    /// <summary>
    /// As <see cref="Read(string, bool, long, long)"/>, and says in <paramref name="dropped"/>, one line per vCPU that had
    /// any, which register bits were left out because no APIC of the model can hold them, and which LVTs were masked because
    /// the APIC is software-disabled (<see cref="DroppedLine"/>).
    /// </summary>
    public static VmState Read(string folder, bool x2Apic, long timerHz, long tscHz, out IReadOnlyList<string> dropped)
    {
        var lines = new List<string>();
        var numbers = new SortedSet<int>(VcpuFiles(folder).Select(f => f.Index));
        if (numbers.Count == 0)
        {
            throw Refused(folder, $"no vcpu-N.lapic file in it (one struct kvm_lapic_state per vCPU, from vcpu-0.lapic on)");
        }
        if (numbers.Max + 1 != numbers.Count)
        {
            var missing = Enumerable.Range(0, numbers.Max + 1).First(i => !numbers.Contains(i));
            throw Refused(Path.Combine(folder, FileName(missing)), $"missing (the vCPUs go up to vcpu-{numbers.Max}.lapic)");
        }

        var apics = ImmutableArray.CreateBuilder<ApicState>(numbers.Count);
        var owners = new Dictionary<uint, int>();
        for (var i = 0; i < numbers.Count; i++)
        {
            var path = Path.Combine(folder, FileName(i));
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length != LocalApic.KvmLapicStateSize)
            {
                throw Refused(path, string.Create(CultureInfo.InvariantCulture,
                    $"{Plural.Count(bytes.Length, "byte")}, not the {LocalApic.KvmLapicStateSize} of a struct kvm_lapic_state"));
            }
            // The ID is checked before an APIC is built with it: one no APIC can have is the file's fault, said as such.
            var idWord = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)ApicOffsets.Id));
            if (!x2Apic && (idWord & 0x00FF_FFFF) != 0)
            {
                throw Refused(path, string.Create(CultureInfo.InvariantCulture,
                    $"the ID register 0x{idWord:x8} has bits below 24 set, which an xAPIC ID (id << 24) does not: the states of an x2APIC VM need --mode x2apic"));
            }
            var id = LocalApic.ApicIdOfKvmLapicState(bytes, x2Apic);
            if (!x2Apic && id > 0xFE)
            {
                throw Refused(path, $"APIC ID {Hex.Of(id)} is the xAPIC broadcast ID; an xAPIC VM's IDs go up to 0xfe");
            }
            if (id == ApicId.X2ApicBroadcast)
            {
                throw Refused(path, $"APIC ID {Hex.Of(id)} is the x2APIC broadcast ID, which no APIC has");
            }
            if (owners.TryGetValue(id, out var other))
            {
                throw Refused(path, $"APIC ID {Hex.Of(id)} is vCPU {other}'s as well");
            }
            var state = LocalApic.StateFromKvmLapicState(i, bytes, x2Apic, timerHz, out var left);
            if (left.Count > 0)
            {
                lines.Add(DroppedLine(path, left));
            }
            owners[state.InitialApicId] = i;
            apics.Add(state);
        }
        var ids = apics.Select(a => a.InitialApicId).ToArray();
        var spec = new VmSpec(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), ids.Length, x2Apic, ids,
            BootAll: true, TimerHz: timerHz, TscHz: tscHz);
        var vm = new VmState(spec, 0, [], apics.MoveToImmutable());
        // Through the state file's own checks, so that what is written is what restore takes.
        dropped = lines;
        return VmStateFile.FromJson(VmStateFile.ToJson(vm));
    }

    /// <summary>
    /// <c>FILE: dropped bits the APIC cannot hold: REG 0xBITS, ...</c>: each register by its name, with the bits left
    /// out; ISR, TMR and IRR with the illegal vectors (0–15) that were set, as <c>IRR vectors 0x5 0xe</c>. The LVTs masked
    /// because the APIC is software-disabled follow, by name: <c>masked, as SVR bit 8 (software enable) is clear: LVTT,
    /// LVT0</c> (after <c>; </c> when bits were dropped too).
    /// </summary>
    public static string DroppedLine(string file, IEnumerable<KvmLapicDroppedBits> dropped)
    {
        ArgumentNullException.ThrowIfNull(dropped);
        var all = dropped.ToList();
        var registers = all.Where(d => !d.Added).Select(d => d.IsVectorSet
            ? $"{ApicOffsets.Name(d.Offset)[..3]} vectors {string.Join(' ', Enumerable.Range(0, 32).Where(v => (d.Bits & (1u << v)) != 0).Select(v => Hex.Of((ulong)v)))}"
            : $"{ApicOffsets.Name(d.Offset)} {Hex.Of(d.Bits)}").ToList();
        var masked = all.Where(d => d.Added).Select(d => ApicOffsets.Name(d.Offset)).ToList();
        var parts = new List<string>(2);
        if (registers.Count > 0)
        {
            parts.Add($"dropped bits the APIC cannot hold: {string.Join(", ", registers)}");
        }
        if (masked.Count > 0)
        {
            parts.Add($"masked, as SVR bit 8 (software enable) is clear: {string.Join(", ", masked)}");
        }
        return $"{file}: {string.Join("; ", parts)}";
    }

    /// <summary>The refusal of <paramref name="file"/>, worded as the other commands word theirs: <c>FILE: error: REASON</c>.</summary>
    private static InvalidDataException Refused(string file, string reason) => new($"{file}: error: {reason}");
}
