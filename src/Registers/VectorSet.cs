using System.Numerics;
using System.Text;

namespace VApicActors.Registers;

/// <summary>
/// An immutable set of the 256 interrupt vectors, as IRR, ISR and TMR hold them
/// (vector v is bit v &amp; 63 of word v &gt;&gt; 6). Value equality comes with the record.
/// </summary>
public readonly record struct VectorSet(ulong W0, ulong W1, ulong W2, ulong W3)
{
    public static VectorSet Empty => default;

    public bool IsEmpty => (W0 | W1 | W2 | W3) == 0;

    public int Count => BitOperations.PopCount(W0) + BitOperations.PopCount(W1) + BitOperations.PopCount(W2) + BitOperations.PopCount(W3);

    public bool Contains(int vector) => ((Word(vector >> 6) >> (vector & 63)) & 1) != 0;

    /// <summary>The highest vector in the set, or -1.</summary>
    public int Highest
    {
        get
        {
            if (W3 != 0) return 192 + 63 - BitOperations.LeadingZeroCount(W3);
            if (W2 != 0) return 128 + 63 - BitOperations.LeadingZeroCount(W2);
            if (W1 != 0) return 64 + 63 - BitOperations.LeadingZeroCount(W1);
            if (W0 != 0) return 63 - BitOperations.LeadingZeroCount(W0);
            return -1;
        }
    }

    public VectorSet With(int vector) => (vector >> 6) switch
    {
        0 => this with { W0 = W0 | (1UL << (vector & 63)) },
        1 => this with { W1 = W1 | (1UL << (vector & 63)) },
        2 => this with { W2 = W2 | (1UL << (vector & 63)) },
        _ => this with { W3 = W3 | (1UL << (vector & 63)) },
    };

    public static VectorSet Of(params int[] vectors)
    {
        var set = Empty;
        foreach (var v in vectors)
        {
            set = set.With(v);
        }
        return set;
    }

    /// <summary>The vectors in ascending order.</summary>
    public IEnumerable<int> Vectors()
    {
        for (var v = 0; v < 256; v++)
        {
            if (Contains(v)) yield return v;
        }
    }

    private ulong Word(int index) => index switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 };

    /// <summary><c>0x31 0x41</c>, or <c>none</c>: the scenario language's vector-list form.</summary>
    public override string ToString()
    {
        if (IsEmpty) return "none";
        var sb = new StringBuilder();
        foreach (var v in Vectors())
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append("0x").Append(v.ToString("x2"));
        }
        return sb.ToString();
    }
}
