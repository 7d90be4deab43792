using System.Text;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Service;

public sealed class LineFramerTests
{
    private const int Limit = 16;

    private static List<FramedLine> Feed(LineFramer framer, params string[] chunks)
    {
        var lines = new List<FramedLine>();
        foreach (var chunk in chunks)
        {
            framer.Feed(Encoding.UTF8.GetBytes(chunk), lines);
        }
        return lines;
    }

    [Fact]
    public void Feed_LinesSplitAcrossChunks_AreJoined()
    {
        var framer = new LineFramer(Limit);
        var lines = Feed(framer, "rea", "dl 0x30\nir", "r\r\n");
        Assert.Equal(["readl 0x30", "irr"], lines.Select(l => l.Text));
        Assert.False(framer.HasPartialLine);
    }

    [Fact]
    public void Feed_LineOfExactlyTheLimit_IsAccepted_WithOrWithoutCr()
    {
        var framer = new LineFramer(Limit);
        var line = new string('a', Limit);
        var lines = Feed(framer, line + "\n" + line + "\r\n");
        Assert.Equal([line, line], lines.Select(l => l.Text));
    }

    [Fact]
    public void Feed_OversizeLine_IsOneErrorAndTheNextLineIsFine()
    {
        var framer = new LineFramer(Limit);
        var lines = Feed(framer, new string('a', 10), new string('b', 10), new string('c', 100), "\nok\n");
        Assert.Equal(2, lines.Count);
        Assert.Equal($"line too long (at most {Limit} bytes)", lines[0].Error);
        Assert.Equal("ok", lines[1].Text);
    }

    [Theory]
    [InlineData(new byte[] { 0xc3, 0x28, 0x0a }, "line is not valid UTF-8")]
    [InlineData(new byte[] { 0x61, 0x00, 0x62, 0x0a }, "control character 0x00 in the line at column 2")]
    [InlineData(new byte[] { 0x61, 0x1b, 0x0a }, "control character 0x1b in the line at column 2")]
    [InlineData(new byte[] { 0x61, 0x0d, 0x62, 0x0a }, "control character 0x0d in the line at column 2")]
    public void Feed_BinaryLine_IsRefused(byte[] bytes, string error)
    {
        var lines = new List<FramedLine>();
        new LineFramer(Limit).Feed(bytes, lines);
        Assert.Equal(error, Assert.Single(lines).Error);
    }

    [Fact]
    public void Feed_TabsAndNonAsciiText_AreAccepted()
    {
        var lines = Feed(new LineFramer(Limit), "irr\t# é\n");
        Assert.Equal("irr\t# é", Assert.Single(lines).Text);
    }

    [Fact]
    public void Feed_ByteOrderMarkBeforeTheFirstLine_IsDropped_AndLaterOnesAreNot()
    {
        var framer = new LineFramer(Limit);
        var lines = new List<FramedLine>();
        // The mark split across two reads, as TCP may deliver it.
        framer.Feed([0xEF, 0xBB], lines);
        framer.Feed([0xBF, .. "irr\n\uFEFFirr\n"u8], lines);
        // (Ordinal: the default comparison of strings overlooks a zero-width U+FEFF.)
        Assert.Equal(["irr", "\uFEFFirr"], lines.Select(l => l.Text!), StringComparer.Ordinal);
    }

    [Fact]
    public void Feed_UnfinishedLine_StaysPending()
    {
        var framer = new LineFramer(Limit);
        Assert.Empty(Feed(framer, "writel 0xfee0"));
        Assert.True(framer.HasPartialLine);
    }
}
