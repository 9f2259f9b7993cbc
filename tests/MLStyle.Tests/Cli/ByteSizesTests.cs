using MLStyle.Cli;

namespace MLStyle.Tests.Cli;

/// <summary>Memory sizes as --max-memory takes them.</summary>
public class ByteSizesTests
{
    [Theory]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("300MB", 300_000_000L)]
    [InlineData("123456", 123456L)]
    public void ParsesMemorySizes(string text, long bytes) => Assert.Equal(bytes, ByteSizes.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-1G")]
    [InlineData("0")]
    [InlineData("12 parsecs")]
    public void RefusesBadMemorySizes(string text) => Assert.Throws<MLStyleException>(() => ByteSizes.Parse(text));
}
