#nullable enable
using MLStyle.Imaging;

namespace MLStyle.Tests.Imaging;

public class ColorTransferTests
{
    [Fact]
    public void PreserveColorsKeepsContentChromaAndStylisedLuminance()
    {
        // Content: saturated but mid-luminance colours. Stylised: grey-ish with its own luminance structure.
        var content = new ImageTensor(16, 16);
        var stylised = new ImageTensor(16, 16);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
            {
                content[0, y, x] = 90 + 6 * x;
                content[1, y, x] = 140 - 3 * y;
                content[2, y, x] = 100 + 2 * (x + y);
                float g = 60 + 8 * ((x * 7 + y * 3) % 16);
                stylised[0, y, x] = g + 10;
                stylised[1, y, x] = g - 5;
                stylised[2, y, x] = g;
            }
        var result = ColorTransfer.PreserveColors(stylised, content);
        var (ry, ri, rq) = ColorTransfer.RgbToYiq(result);
        var (cy, ci, cq) = ColorTransfer.RgbToYiq(content);
        var (sy, _, _) = ColorTransfer.RgbToYiq(stylised);
        for (int p = 0; p < 256; p++)
        {
            Assert.Equal(sy[p], ry[p], 0.05f);
            Assert.Equal(ci[p], ri[p], 0.05f);
            Assert.Equal(cq[p], rq[p], 0.05f);
        }
        Assert.NotEqual(cy[0], ry[0]);
    }

    [Fact]
    public void PreserveColorsResizesContentWhenSizesDiffer()
    {
        var content = ImageTensor.Filled(40, 20, 200, 60, 60); // reddish
        var stylised = ImageTensor.Filled(10, 5, 120, 120, 120);
        var result = ColorTransfer.PreserveColors(stylised, content);
        Assert.Equal((10, 5), (result.Width, result.Height));
        Assert.True(result[0, 2, 5] > result[1, 2, 5] + 50, "the content's red hue must be kept");
        Assert.Equal(120f, ColorTransfer.RgbToLuminance(result)[0], 0.1f);
    }

    [Fact]
    public void YiqRoundTrip()
    {
        var img = TestFiles.RandomIntegers(10, 10, seed: 9);
        var (y, i, q) = ColorTransfer.RgbToYiq(img);
        var back = ColorTransfer.YiqToRgb(y, i, q, 10, 10);
        for (int k = 0; k < img.Data.Length; k++) Assert.Equal(img.Data[k], back.Data[k], 0.01f);
    }

    [Fact]
    public void MatchLuminanceMakesStyleGrayWithContentStatistics()
    {
        var style = TestFiles.Gradient(30, 20);
        var content = TestFiles.RandomIntegers(25, 25, seed: 10);
        for (int k = 0; k < content.Data.Length; k++) content.Data[k] = 60 + content.Data[k] * 0.4f; // in range, stats unlike style
        ColorTransfer.MatchLuminance(style, content);
        Assert.Equal(style.Channel(0).ToArray(), style.Channel(1).ToArray());
        Assert.Equal(style.Channel(0).ToArray(), style.Channel(2).ToArray());
        var (ms, ss) = ColorTransfer.MeanStd(ColorTransfer.RgbToLuminance(style));
        var (mc, sc) = ColorTransfer.MeanStd(ColorTransfer.RgbToLuminance(content));
        Assert.Equal(mc, ms, 0.5);
        Assert.Equal(sc, ss, 0.5);
    }
}
