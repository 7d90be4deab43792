namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// <c>vapic state export-kvm</c> and <c>import-kvm</c> on the command line: what goes to KVM's layout comes back as the
/// same VM, and the files hold what KVM_SET_LAPIC expects.
/// </summary>
public sealed class KvmStateExchangeTests
{
    [Fact]
    public async Task X2ApicIdsAbove0xFF_SurviveExportAndImport()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("x2.vapic", """
            vm vcpus=3 mode=x2apic apic-ids=0x0,0x1f,0x123
            cpu 2
            wrmsr 0x80f 0x1ff
            """);
        var saved = dir.File("x2.json");
        var kvm = dir.File("kvm");
        var imported = dir.File("imported.json");

        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", script, "-o", saved, "--no-trace")).Code);
        var (code, _, error) = await Vapic.InvokeAsync("state", "export-kvm", saved, "-o", kvm);
        Assert.True(code == 0, error);
        var regs = await File.ReadAllBytesAsync(Path.Combine(kvm, "vcpu-2.lapic"));
        Assert.Equal(0x123u, BitConverter.ToUInt32(regs, 0x20));
        Assert.Equal(0x0012_0008u, BitConverter.ToUInt32(regs, 0xD0));

        (code, var output, error) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "--mode", "x2apic", "-o", imported);
        Assert.True(code == 0, error);
        Assert.Contains("APIC IDs 0x0 0x1f 0x123", output);
        var shown = await Vapic.InvokeAsync("state", "show", imported);
        Assert.Contains("vCPU 2 APIC 0x123", shown.Output);
        Assert.Contains("ID       0x00000123", shown.Output);
    }
}
