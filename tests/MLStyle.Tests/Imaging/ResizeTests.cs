#nullable enable
using MLStyle.Imaging;

namespace MLStyle.Tests.Imaging;

public class ResizeTests
{
    [Theory]
    [InlineData(640, 480, 512, 512, 384)]
    [InlineData(480, 640, 512, 384, 512)]
    [InlineData(100, 100, 7, 7, 7)]
    [InlineData(1000, 1, 10, 10, 1)]
    [InlineData(3, 2, 400, 400, 267)]
    public void ResizeToLongSideKeepsAspect(int w, int h, int longSide, int ew, int eh)
    {
        var img = ImageTensor.Filled(w, h, 10, 20, 30);
        var r = ImageIO.ResizeToLongSide(img, longSide);
        Assert.Equal((ew, eh), (r.Width, r.Height));
        Assert.Equal(10f, r[0, r.Height - 1, r.Width - 1], 3);
        Assert.Equal(30f, r[2, 0, 0], 3);
    }

    [Fact]
    public void ResizeGivesRequestedSizeAndPreservesFlatColour()
    {
        var img = ImageTensor.Filled(37, 21, 200, 100, 50);
        foreach (var (w, h) in new[] { (5, 90), (37, 7), (100, 21), (1, 1) })
        {
            var r = ImageIO.Resize(img, w, h);
            Assert.Equal((w, h), (r.Width, r.Height));
            Assert.All(r.Channel(0).ToArray(), v => Assert.Equal(200f, v, 2));
            Assert.All(r.Channel(2).ToArray(), v => Assert.Equal(50f, v, 2));
        }
    }

    [Fact]
    public void BigDownscaleDoesNotAlias()
    {
        // A one-pixel checkerboard must average to mid grey, not turn into a pattern or a flat 0/255.
        var img = new ImageTensor(400, 300);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 300; y++)
                for (int x = 0; x < 400; x++)
                    img[c, y, x] = ((x + y) & 1) == 0 ? 255f : 0f;
        var r = ImageIO.Resize(img, 37, 29);
        foreach (float v in r.Data) Assert.InRange(v, 117f, 138f);
    }

    [Fact]
    public void UpscaleIsSmoothAndStaysInRange()
    {
        var img = new ImageTensor([0f, 255f, 0f, 255f, 0f, 255f], 2, 1);
        var r = ImageIO.Resize(img, 20, 3);
        Assert.All(r.Data, v => Assert.InRange(v, 0f, 255f));
        Assert.True(r[0, 1, 0] < 60f && r[0, 1, 19] > 195f, $"{r[0, 1, 0]} .. {r[0, 1, 19]}");
        for (int x = 1; x < 20; x++) Assert.True(r[0, 1, x] >= r[0, 1, x - 1] - 1e-3f, "monotone ramp expected");
    }

    [Fact]
    public void SameSizeReturnsCopy()
    {
        var img = TestFiles.RandomIntegers(9, 4, seed: 2);
        var r = ImageIO.Resize(img, 9, 4);
        Assert.NotSame(img.Data, r.Data);
        Assert.Equal(img.Data, r.Data);
    }

    [Fact]
    public void InvalidSizesThrow()
    {
        var img = ImageTensor.Zeros(4, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageIO.Resize(img, 0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageIO.ResizeToLongSide(img, 0));
    }
}
