using VApicActors.Host.Cli;

namespace VApicActors.Host.Tests;

public class SuggestionsTests
{
    private static readonly string[] Commands = ["readb", "readw", "readl", "readq", "rdmsr", "wrmsr", "msi", "nmi", "sipi", "eoi", "clock_step", "clock"];

    [Theory]
    [InlineData("rdmr", "rdmsr")] // a letter left out
    [InlineData("rdmssr", "rdmsr")] // one too many
    [InlineData("rdsmr", "rdmsr")] // two neighbours swapped
    [InlineData("wrmrs", "wrmsr")]
    [InlineData("clock-step", "clock_step")]
    [InlineData("RDMSR", "rdmsr")] // letter case alone
    [InlineData("read", "readb,readw,readl,readq")] // equally near: all, in the order known
    [InlineData("nsi", "msi,nmi")]
    [InlineData("ipi", "sipi")]
    [InlineData("eio", "eoi")]
    public void Nearest_NamesTheKnownWordsOneSlipAway(string given, string expected) =>
        Assert.Equal(expected.Split(','), Suggestions.Nearest(given, Commands));

    [Theory]
    [InlineData("rdmsr")] // known: nothing to suggest
    [InlineData("x")] // too short to guess from
    [InlineData("ab")]
    [InlineData("frob")] // two edits from anything, for a word of four letters
    [InlineData("")]
    [InlineData("frobnicatefrobnicatefrobnicate")]
    public void Nearest_NamesNothing_WhenNoKnownWordIsNearEnough(string given) =>
        Assert.Empty(Suggestions.Nearest(given, Commands));

    [Fact]
    public void Nearest_AllowsMoreSlipsInLongerWords()
    {
        Assert.Equal(["simulation"], Suggestions.Nearest("simlatoin", ["simulation", "service"])); // 2 edits in 9 letters
        Assert.Empty(Suggestions.Nearest("smlatoin", ["simulation"])); // 3 edits in 8 letters
        Assert.Equal(["spin-rounds"], Suggestions.Nearest("spinrouns", ["spin-rounds", "threads"]));
    }

    [Theory]
    [InlineData("rdmr", " (did you mean 'rdmsr'?)")]
    [InlineData("nsi", " (did you mean 'msi' or 'nmi'?)")]
    [InlineData("read", " (did you mean 'readb', 'readw', 'readl' or 'readq'?)")]
    [InlineData("frob", "")]
    public void Hint_ListsTheNearestWords(string given, string expected) =>
        Assert.Equal(expected, Suggestions.Hint(given, Commands));
}
