namespace VApicActors.Host.Stress;

/// <summary>A small seeded pseudo-random generator (SplitMix64): the same seed gives the same numbers everywhere.</summary>
internal sealed class SplitMix64
{
    private ulong _state;

    public SplitMix64(long seed, int stream) => _state = (ulong)seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(stream + 1));

    public ulong NextUInt64()
    {
        var z = _state += 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, <paramref name="bound"/>).</summary>
    public int Next(int bound) => bound <= 1 ? 0 : (int)(NextUInt64() % (ulong)bound);
}
