using VApicActors.Host.Stress;
using Xunit;

namespace VApicActors.Host.Tests.Stress;

public sealed class StressOutputTests
{
    [Theory]
    [InlineData(0, "0 ns")]
    [InlineData(850, "850 ns")]
    [InlineData(999, "999 ns")]
    [InlineData(1_000, "1.00 µs")]
    [InlineData(36_863, "36.9 µs")]
    [InlineData(99_960, "100 µs")]
    [InlineData(999_499, "999 µs")]
    [InlineData(999_600, "1.00 ms")]
    [InlineData(18_874_367, "18.9 ms")]
    [InlineData(153_157_514, "153 ms")]
    [InlineData(1_530_000_000, "1.53 s")]
    [InlineData(61_000_000_000, "61.0 s")]
    public void Duration_ShowsThreeSignificantDigitsInTheFittingUnit(long ns, string shown) =>
        Assert.Equal(shown, StressOutput.Duration(ns));
}
