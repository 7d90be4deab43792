using System.Runtime.InteropServices;

namespace VApicActors.Registers;

/// <summary>
/// One APIC's 4 KiB register page: a zeroed, 4 KiB-aligned block of native memory, registers at their
/// SDM offsets, released exactly once on <see cref="Dispose"/>. Its address is what a VMCS would hold
/// as the virtual-APIC page address. Others may read it; only its owning <see cref="LocalApic"/> writes it.
/// </summary>
public sealed unsafe class ApicPage : IDisposable
{
    private uint* _words;

    public ApicPage()
    {
        _words = (uint*)NativeMemory.AlignedAlloc(ApicOffsets.PageSize, ApicOffsets.PageSize);
        NativeMemory.Clear(_words, ApicOffsets.PageSize);
    }

    ~ApicPage() => Release();

    /// <summary>The page's host address (the virtual-APIC page address).</summary>
    public nuint Address => (nuint)Words;

    public bool IsDisposed => _words == null;

    private uint* Words => _words != null ? _words : throw new ObjectDisposedException(nameof(ApicPage));

    /// <summary>The 32-bit register at a 16-byte-aligned offset. Only the owning APIC writes it.</summary>
    public uint this[uint offset]
    {
        get => Words[offset >> 2];
        internal set => Words[offset >> 2] = value;
    }

    /// <summary>The page as bytes (valid until <see cref="Dispose"/>).</summary>
    public ReadOnlySpan<byte> Bytes => new(Words, ApicOffsets.PageSize);

    /// <summary>The page as writable bytes, for restoring a saved state.</summary>
    internal Span<byte> WritableBytes => new(Words, ApicOffsets.PageSize);

    /// <summary>Zeroes the whole page.</summary>
    public void Clear() => NativeMemory.Clear(Words, ApicOffsets.PageSize);

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        var words = _words;
        _words = null;
        if (words != null)
        {
            NativeMemory.AlignedFree(words);
        }
    }
}
