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

    [Theory]
    [InlineData(0, "0")]
    [InlineData(18.4, "18")]
    [InlineData(999.4, "999")]
    [InlineData(999.6, "1.0 k")]
    [InlineData(30_199, "30.2 k")]
    [InlineData(999_960, "1.00 M")]
    [InlineData(2_480_000, "2.48 M")]
    public void Rate_ShowsSmallRatesAsTheyAre(double perSecond, string shown) =>
        Assert.Equal(shown, StressOutput.Rate(perSecond));

    [Theory]
    [InlineData(1.5, "(of 1.5 s)")]
    [InlineData(0.3, "(of 0.3 s)")]
    [InlineData(5, "(of 5 s)")]
    public void ProgressLine_ShowsTheDurationAsGiven(double seconds, string limit)
    {
        var settings = new StressSettings { Duration = TimeSpan.FromSeconds(seconds) };

        var line = StressCommand.ProgressLine(settings, TimeSpan.FromSeconds(0.5), 7_500, 30_000, 0);

        Assert.Equal("0.5 s " + limit + ", 7,500 operations, 15.0 k ops/s, 60.0 k exits/s", line);
    }
}
