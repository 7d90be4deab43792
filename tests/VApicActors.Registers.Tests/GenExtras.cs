using CsCheck;

namespace VApicActors.Registers.Tests;

/// <summary>Unambiguous generator combinators: a choice among generators and a weighted choice among generators.</summary>
internal static class GenExtras
{
    public static Gen<T> AnyOf<T>(params IGen<T>[] gens) => Gen.OneOf(gens);

    public static Gen<T> Weighted<T>(params (int Weight, IGen<T> Gen)[] gens) => Gen.Frequency(gens);
}
