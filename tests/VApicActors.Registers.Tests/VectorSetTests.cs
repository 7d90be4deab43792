using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

public sealed class VectorSetTests
{
    [Fact]
    public void With_EveryVector_IsContainedAloneAndHighest()
    {
        for (var vector = 0; vector < 256; vector++)
        {
            var set = VectorSet.Empty.With(vector);

            Assert.True(set.Contains(vector));
            Assert.Equal(1, set.Count);
            Assert.Equal(vector, set.Highest);
            Assert.Equal([vector], set.Vectors());
            for (var other = 0; other < 256; other++)
            {
                if (other != vector) Assert.False(set.Contains(other));
            }
        }
    }

    [Fact]
    public void Of_SeveralVectors_HasValueEqualityAndAscendingText()
    {
        var set = VectorSet.Of(0x41, 0x31, 0xFE);

        Assert.Equal(VectorSet.Of(0xFE, 0x31, 0x41), set);
        Assert.Equal(0xFE, set.Highest);
        Assert.Equal("0x31 0x41 0xfe", set.ToString());
        Assert.Equal("none", VectorSet.Empty.ToString());
        Assert.Equal(-1, VectorSet.Empty.Highest);
        Assert.True(VectorSet.Empty.IsEmpty);
    }
}
