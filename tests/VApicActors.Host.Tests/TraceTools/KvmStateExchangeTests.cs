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

    [Fact]
    public async Task ExportToAnEmptyFolderName_IsSaidSo_NotWithDotNetsParameterName()
    {
        using var dir = new TempDirectory();
        var saved = dir.File("s.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", "vm vcpus=1\n"), "-o", saved, "--no-trace")).Code);

        var (code, _, error) = await Vapic.InvokeAsync("state", "export-kvm", saved, "-o", "");

        // It said ": error: cannot write: The value cannot be an empty string. (Parameter 'path')".
        Assert.Equal(2, code);
        Assert.Equal("vapic: -o: the folder name is empty", error.Trim());
    }

    [Fact]
    public async Task ExportIntoAFolderOfABiggerVm_LeavesOnlyThisVmsFiles()
    {
        // Files of a VM with more vCPUs left beside the new ones would be read back as vCPUs of this VM.
        using var dir = new TempDirectory();
        var four = dir.File("four.json");
        var two = dir.File("two.json");
        var kvm = dir.File("kvm");
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("four.vapic", "vm vcpus=4\n"), "-o", four, "--no-trace")).Code);
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("two.vapic", "vm vcpus=2\n"), "-o", two, "--no-trace")).Code);
        await File.WriteAllTextAsync(Path.Combine(Directory.CreateDirectory(kvm).FullName, "notes.txt"), "kept");

        Assert.Equal(0, (await Vapic.InvokeAsync("state", "export-kvm", four, "-o", kvm)).Code);
        var (code, _, error) = await Vapic.InvokeAsync("state", "export-kvm", two, "-o", kvm);

        Assert.True(code == 0, error);
        Assert.Equal(["notes.txt", "vcpu-0.lapic", "vcpu-1.lapic"], Directory.GetFiles(kvm).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var (imported, output, _) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "-o", dir.File("back.json"));
        Assert.Equal(0, imported);
        Assert.Contains("2 vCPUs from", output);
    }

    [Fact]
    public async Task ExportOntoAFile_SaysItIsAFileNotAFolder()
    {
        using var dir = new TempDirectory();
        var state = dir.File("s.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", "vm vcpus=1\n"), "-o", state, "--no-trace")).Code);
        var file = dir.Write("taken", "a file");

        var (code, output, error) = await Vapic.InvokeAsync("state", "export-kvm", state, "-o", file);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal($"{file}: error: cannot write: '{file}' is a file, not a folder", error.Trim());
        Assert.Equal("a file", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task BitsNoApicCanHold_AreDroppedOnImport_AndSaidPerVcpuOnStandardError()
    {
        // KVM's structure may hold the LVT delivery-status bit, vectors 0-15 in IRR, reserved ICR bits: the import keeps
        // the rest, says what it left out of which vCPU's registers, and still writes the state.
        using var dir = new TempDirectory();
        var kvm = await ExportedAsync(dir, "vm vcpus=3 mode=x2apic apic-ids=0x0,0x1,0x2\n");
        var file = Path.Combine(kvm, "vcpu-2.lapic");
        var regs = await File.ReadAllBytesAsync(file);
        void Or(int offset, uint bits) => BitConverter.TryWriteBytes(regs.AsSpan(offset), BitConverter.ToUInt32(regs, offset) | bits);
        Or(0x350, 0x1000);          // LVT0 delivery status
        Or(0x200, 0x0000_4020);     // IRR vectors 5 and 14
        Or(0x300, 0x0010_1000);     // ICR bit 20 (reserved) and delivery status
        await File.WriteAllBytesAsync(file, regs);
        var imported = dir.File("imported.json");

        var (code, output, error) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "--mode", "x2apic", "-o", imported);

        Assert.True(code == 0, error);
        Assert.Equal($"{file}: dropped bits the APIC cannot hold: IRR vectors 0x5 0xe, ICR 0x101000, LVT0 0x1000", error.Trim());
        Assert.Contains("3 vCPUs from", output);
        var shown = await Vapic.InvokeAsync("state", "show", imported);
        Assert.Contains("LVT0     0x00010000", shown.Output);
        Assert.Contains("ICR      0x00000000", shown.Output);
        Assert.DoesNotContain("IRR 0x5", shown.Output);
    }

    [Fact]
    public async Task UnmaskedLvtsOfASoftwareDisabledApic_AreMaskedOnImport_AndSaidInTheVcpusLine()
    {
        // While SVR bit 8 (software enable) is clear every LVT is masked: the import sets the masks a structure left clear.
        using var dir = new TempDirectory();
        var kvm = await ExportedAsync(dir, "vm vcpus=2\n");
        var file = Path.Combine(kvm, "vcpu-1.lapic");
        var regs = await File.ReadAllBytesAsync(file);
        Assert.Equal(0u, BitConverter.ToUInt32(regs, 0xF0) & 0x100);
        BitConverter.TryWriteBytes(regs.AsSpan(0x320), 0x0000_10ECu);  // LVTT unmasked, with delivery status
        BitConverter.TryWriteBytes(regs.AsSpan(0x350), 0x0000_0700u);  // LVT0 unmasked
        await File.WriteAllBytesAsync(file, regs);
        var imported = dir.File("imported.json");

        var (code, _, error) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "-o", imported);

        Assert.True(code == 0, error);
        Assert.Equal($"{file}: dropped bits the APIC cannot hold: LVTT 0x1000; masked, as SVR bit 8 (software enable) is clear: LVTT, LVT0", error.Trim());
        var shown = await Vapic.InvokeAsync("state", "show", imported);
        Assert.Contains("LVTT     0x000100ec", shown.Output);
        Assert.Contains("LVT0     0x00010700", shown.Output);
    }

    [Fact]
    public async Task X2ApicStatesImportedAsXApic_AreRefusedNamingTheFileAndTheMode()
    {
        // An x2APIC VM's ID register holds the ID in its low bits; read as xAPIC (id << 24) APIC 0x1f became APIC 0x0.
        using var dir = new TempDirectory();
        var kvm = await ExportedAsync(dir, "vm vcpus=1 mode=x2apic apic-ids=0x1f\n");
        var imported = dir.File("imported.json");

        var (code, output, error) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "-o", imported);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal(
            $"{Path.Combine(kvm, "vcpu-0.lapic")}: error: the ID register 0x0000001f has bits below 24 set, which an xAPIC ID (id << 24) does not: the states of an x2APIC VM need --mode x2apic",
            error.Trim());
        Assert.False(File.Exists(imported));
    }

    /// <summary>The <c>vcpu-N.lapic</c> folder <c>state export-kvm</c> writes for the state a one-line script saves.</summary>
    private static async Task<string> ExportedAsync(TempDirectory dir, string script)
    {
        var state = dir.File("s.json");
        var kvm = dir.File("kvm");
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", script), "-o", state, "--no-trace")).Code);
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "export-kvm", state, "-o", kvm)).Code);
        return kvm;
    }
}
