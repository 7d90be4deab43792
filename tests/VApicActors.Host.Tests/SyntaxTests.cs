using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests;

public sealed class SyntaxTests
{
    [Theory]
    [InlineData("65", 65UL)]
    [InlineData("0x41", 0x41UL)]
    [InlineData("0X4f", 0x4FUL)]
    [InlineData("0x0000_0001_0000_4055", 0x0000_0001_0000_4055UL)]
    [InlineData("1_000_000", 1_000_000UL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("0x0000000000000000000000000000000000000001", 1UL)]
    [InlineData("0x0_0_a", 0xaUL)]
    public void TryParse_ValidNumber_GivesValue(string token, ulong expected)
    {
        Assert.True(NumberSyntax.TryParse(token, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("1__0")]
    [InlineData("0x_1")]
    [InlineData("12a")]
    [InlineData("0xfg")]
    [InlineData("-1")]
    [InlineData("0x1_0000_0000_0000_0000")]
    [InlineData("18446744073709551616")]
    [InlineData("99999999999999999999x")]
    [InlineData("0x\u0661")]
    [InlineData("\uff11")]
    public void TryParse_InvalidNumber_Fails(string token) => Assert.False(NumberSyntax.TryParse(token, out _));

    [Fact]
    public void TryParse_MillionsOfDigits_ReadsThemWithoutRunningOutOfStack()
    {
        Assert.True(NumberSyntax.TryParse("0x" + new string('0', 8_000_000) + "41", out var value));
        Assert.Equal(0x41UL, value);
        Assert.False(NumberSyntax.TryParse(new string('1', 8_000_000), out _));
    }

    [Fact]
    public void Parse_CommentAfterCommand_IsDropped()
    {
        var line = ScenarioLine.Parse("writel 0xfee000f0 0x1ff        # software-enable");
        Assert.Equal(["writel", "0xfee000f0", "0x1ff"], line.Command);
        Assert.Null(line.Expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t ")]
    [InlineData("# only a comment")]
    [InlineData("   # indented comment -> 5")]
    public void Parse_BlankOrComment_IsEmpty(string text) => Assert.True(ScenarioLine.Parse(text).IsEmpty);

    [Theory]
    [InlineData("wrmsr 0x802 1 -> #GP")]
    [InlineData("wrmsr 0x802 1 -> #gp # comment after")]
    [InlineData("wrmsr 0x802 1\t->\t#Gp#comment")]
    public void Parse_GpAfterArrow_IsAnExpectation(string text)
    {
        var line = ScenarioLine.Parse(text);
        Assert.Equal(["wrmsr", "0x802", "1"], line.Command);
        Assert.Single(line.Expected!);
        Assert.Equal("#gp", line.Expected![0].ToLowerInvariant());
    }

    [Fact]
    public void Parse_GpWithoutArrow_IsAComment()
    {
        var line = ScenarioLine.Parse("wrmsr 0x802 1 #GP");
        Assert.Equal(["wrmsr", "0x802", "1"], line.Command);
        Assert.Null(line.Expected);
    }

    [Fact]
    public void Parse_VectorListExpectation_KeepsEveryToken()
    {
        var line = ScenarioLine.Parse("irr  -> 0x31 0x41   # two");
        Assert.Equal(["irr"], line.Command);
        Assert.Equal(["0x31", "0x41"], line.Expected);
    }

    [Theory]
    [InlineData("irr ->", "without an expected result")]
    [InlineData("-> 5", "without a command")]
    [InlineData("irr -> 1 -> 2", "more than one")]
    [InlineData("irr -> # nothing", "without an expected result")]
    public void Parse_MalformedArrow_Throws(string text, string message)
    {
        var e = Assert.Throws<ScenarioException>(() => ScenarioLine.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("0x00050014", "0x50014", true)]
    [InlineData("327700", "0x50014", true)]
    [InlineData("0x00050014", "0x50015", false)]
    [InlineData("0x14/0xff", "0x1060014", true)]
    [InlineData("0x15/0xff", "0x1060014", false)]
    [InlineData("0/0x1000", "0x4031", true)]
    public void Matches_NumberAndMask_ComparesValue(string expected, string resultHex, bool matches)
    {
        var e = Expectation.Parse(expected.Split(' '));
        var result = ScenarioResult.Value(Convert.ToUInt64(resultHex, 16));
        Assert.Equal(matches, e.Matches(result));
    }

    [Theory]
    [InlineData("#GP", "#GP", true)]
    [InlineData("#gp", "#GP", true)]
    [InlineData("ok", "OK", true)]
    [InlineData("NONE", "none", true)]
    [InlineData("Wait-For-SIPI", "wait-for-sipi", true)]
    [InlineData("OK", "#GP", false)]
    [InlineData("not-running", "running", false)]
    public void Matches_Word_IgnoresCase(string expected, string word, bool matches) =>
        Assert.Equal(matches, Expectation.Parse([expected]).Matches(ScenarioResult.Word(word)));

    [Fact]
    public void Matches_VectorList_IsASetInAnyOrder()
    {
        var result = ScenarioResult.Vectors([0x31, 0x41]);
        Assert.Equal("0x31 0x41", result.Text);
        Assert.True(Expectation.Parse(["0x41", "0x31"]).Matches(result));
        Assert.True(Expectation.Parse(["0x31", "65"]).Matches(result));
        Assert.False(Expectation.Parse(["0x31"]).Matches(result));
        Assert.False(Expectation.Parse(["0x31", "0x41", "0x42"]).Matches(result));
        Assert.False(Expectation.Parse(["none"]).Matches(result));
    }

    [Fact]
    public void Matches_EmptyVectorList_IsNone()
    {
        var result = ScenarioResult.Vectors([]);
        Assert.Equal("none", result.Text);
        Assert.True(Expectation.Parse(["none"]).Matches(result));
        Assert.False(Expectation.Parse(["0"]).Matches(result));
    }

    [Fact]
    public void Matches_SingleVector_EqualsOneElementList()
    {
        Assert.True(Expectation.Parse(["0x41"]).Matches(ScenarioResult.Vectors([0x41])));
        Assert.True(Expectation.Parse(["0x41"]).Matches(ScenarioResult.Vector(0x41)));
        Assert.False(Expectation.Parse(["0x41"]).Matches(ScenarioResult.Word("none")));
        // A list is a set: a vector repeated in it still names one vector, whatever command gave the result.
        Assert.True(Expectation.Parse(["0x41", "0x41"]).Matches(ScenarioResult.Vector(0x41)));
        Assert.True(Expectation.Parse(["0x41", "0x41"]).Matches(ScenarioResult.Vectors([0x41])));
        Assert.False(Expectation.Parse(["0x41", "0x42"]).Matches(ScenarioResult.Vector(0x41)));
        Assert.False(Expectation.Parse(["0x41", "0x41"]).Matches(ScenarioResult.Word("none")));
    }

    [Fact]
    public void Matches_MaskOnAVectorList_ComparesItsOneVector()
    {
        Assert.True(Expectation.Parse(["0x31/0xff"]).Matches(ScenarioResult.Vectors([0x31])));
        Assert.True(Expectation.Parse(["0x30/0xf0"]).Matches(ScenarioResult.Vectors([0x3E])));
        Assert.False(Expectation.Parse(["0x40/0xf0"]).Matches(ScenarioResult.Vectors([0x3E])));
        Assert.False(Expectation.Parse(["0x31/0xff"]).Matches(ScenarioResult.Vectors([0x31, 0x41])));
        Assert.False(Expectation.Parse(["0/0"]).Matches(ScenarioResult.Vectors([])));
    }

    [Theory]
    [InlineData("0xzz")]
    [InlineData("0x41/")]
    [InlineData("1/x")]
    [InlineData("0x31 none")]
    public void Parse_MalformedExpectation_Throws(string text) =>
        Assert.Throws<ScenarioException>(() => Expectation.Parse(text.Split(' ')));

    [Fact]
    public void Format_ValuesHexCountsDecimal()
    {
        Assert.Equal("0xfee00900", ScenarioResult.Value(0xFEE00900).Text);
        Assert.Equal("0x0e", ScenarioResult.Vector(0x0E).Text);
        Assert.Equal("4040000", ScenarioResult.Count(4_040_000).Text);
    }
}
