using System.Buffers.Binary;
using System.Globalization;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// An APIC's registers as text: every register of the page by name in hexadecimal (TMCCT the current count at the
/// snapshot's time), the vector sets as lists, and the state outside the page.
/// </summary>
public static class RegisterDump
{
    private const uint FirstRegister = ApicOffsets.Id;
    private const uint LastRegister = ApicOffsets.SelfIpi;

    /// <param name="state">The APIC's saved state.</param>
    /// <param name="snapshot">Its registers at the same time (from the model holding <paramref name="state"/>).</param>
    public static IEnumerable<string> Lines(ApicState state, ApicSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(snapshot);
        var inv = CultureInfo.InvariantCulture;
        var page = state.Page;
        yield return string.Create(inv,
            $"  mode {snapshot.Mode}, {(snapshot.RunState == VcpuRunState.Running ? "running" : "wait-for-sipi")}, IA32_APIC_BASE {Hex.Of(state.ApicBase)}, APIC ID {Hex.Of(snapshot.ApicId)}");
        var row = new List<string>(4);
        for (var offset = FirstRegister; offset <= LastRegister; offset += ApicOffsets.Stride)
        {
            if (offset is >= ApicOffsets.Isr0 and < ApicOffsets.Esr)
            {
                continue;
            }
            var name = ApicOffsets.Name(offset);
            // TMCCT is not kept up to date in the page: show what the guest reads (and KVM_GET_LAPIC holds) at the snapshot's time.
            var value = offset == ApicOffsets.TimerCurrentCount
                ? snapshot.TimerCurrentCount
                : BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan((int)offset, sizeof(uint)));
            if (name.StartsWith("0x", StringComparison.Ordinal) && value == 0)
            {
                continue;
            }
            row.Add(string.Create(inv, $"{name,-8} 0x{value:x8}"));
            if (row.Count == 4)
            {
                yield return "  " + string.Join("   ", row);
                row.Clear();
            }
        }
        if (row.Count > 0)
        {
            yield return "  " + string.Join("   ", row);
        }
        yield return "  ISR " + Vectors(snapshot.Isr);
        yield return "  IRR " + Vectors(snapshot.Irr);
        yield return "  TMR " + Vectors(snapshot.Tmr);
        yield return string.Create(inv,
            $"  pending {(snapshot.PendingVector < 0 ? "none" : Hex.Of((ulong)snapshot.PendingVector))}, timer {(snapshot.TimerDueNs is long due ? "due at " + due.ToString(inv) + " ns" : "not armed")}, TSC deadline {Hex.Of(state.TscDeadline)}, LINT0 {(state.Lint0 ? 1 : 0)} LINT1 {(state.Lint1 ? 1 : 0)}");
        yield return string.Create(inv,
            $"  NMIs {snapshot.NmiCount}, SMIs {snapshot.SmiCount}, last SIPI {(snapshot.SipiVector < 0 ? "none" : Hex.Of((ulong)snapshot.SipiVector))}, errors pending for ESR {Hex.Of(state.EsrPending)}");
    }

    private static string Vectors(VectorSet set) =>
        set.IsEmpty ? "none" : string.Join(' ', set.Vectors().Select(v => Hex.Of((ulong)v)));
}
