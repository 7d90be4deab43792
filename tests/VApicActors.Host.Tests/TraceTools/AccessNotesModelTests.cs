using System.Collections.Immutable;
using System.Text.Json;
using VApicActors.Host.TraceTools;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// <c>trace view</c>'s reasons for a #GP follow the register model's rules: every x2APIC-range RDMSR and WRMSR the
/// model answers with #GP, in either mode and over every single bit of the value, gets a reason, so that no #GP in a
/// trace is left unexplained and a change of the model's rules shows here.
/// </summary>
public sealed class AccessNotesModelTests
{
    private static readonly ulong[] Values =
        [0, 0xFFFF_FFFF, ulong.MaxValue, .. Enumerable.Range(0, 64).Select(bit => 1UL << bit)];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryFaultingX2ApicMsrAccessOfTheModel_GetsAReason(bool x2Apic)
    {
        using var apic = new LocalApic(new ApicConfig(0, 1, true, StartInX2Apic: x2Apic));
        var notes = new AccessNotes();
        Assert.Null(notes.Explain(Record("ApicCreated", 0, null, "index=0 bsp=true x2apic=" + (x2Apic ? "true" : "false"))));
        var unexplained = new List<string>();
        for (var msr = ApicMsrs.X2ApicFirst; msr <= ApicMsrs.X2ApicLast; msr++)
        {
            if (apic.ReadMsr(msr, 0, NullApicEffects.Instance).Status == AccessStatus.GeneralProtection
                && notes.Explain(Record("MsrRead", msr, null, "msr=0x" + msr.ToString("X") + " result=#GP")) is not string read)
            {
                unexplained.Add("RDMSR 0x" + msr.ToString("x"));
            }
            foreach (var value in Values)
            {
                if (apic.WriteMsr(msr, value, 0, NullApicEffects.Instance).Status != AccessStatus.GeneralProtection)
                {
                    continue;
                }
                var why = notes.Explain(Record("MsrWrite", msr, value, "msr=0x" + msr.ToString("X") + " result=#GP"));
                if (why is null || !why.StartsWith("#GP: ", StringComparison.Ordinal))
                {
                    unexplained.Add("WRMSR 0x" + msr.ToString("x") + " 0x" + value.ToString("x"));
                }
            }
        }
        Assert.True(unexplained.Count == 0, string.Join(", ", unexplained.Take(20)));
    }

    private static TraceRecord Record(string name, uint msr, ulong? value, string detail) => new(
        1, null, null, "vm", 1, 1, name, 0, null, value, null, null, null, detail, null,
        ImmutableDictionary<string, JsonElement>.Empty);
}
