#nullable enable
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Imaging;

public class ImageTensorTests
{
    [Theory]
    [InlineData(SKColorType.Rgba8888)]
    [InlineData(SKColorType.Bgra8888)]
    public void BitmapRoundTripIsExact(SKColorType colorType)
    {
        var img = TestFiles.RandomIntegers(13, 7, seed: 4);
        using var bmp = img.ToBitmap(colorType);
        Assert.Equal(colorType, bmp.ColorType);
        var px = bmp.GetPixel(3, 2);
        Assert.Equal((byte)img[0, 2, 3], px.Red);
        Assert.Equal((byte)img[1, 2, 3], px.Green);
        Assert.Equal((byte)img[2, 2, 3], px.Blue);
        Assert.Equal(img.Data, ImageTensor.FromBitmap(bmp).Data);
    }

    [Fact]
    public void PremultipliedBitmapIsCompositedOverWhite()
    {
        using var bmp = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Premul));
        bmp.SetPixel(0, 0, new SKColor(0, 0, 0, 0));
        bmp.SetPixel(1, 0, new SKColor(10, 20, 30, 255));
        var t = ImageTensor.FromBitmap(bmp);
        Assert.Equal((255f, 255f, 255f), (t[0, 0, 0], t[1, 0, 0], t[2, 0, 0]));
        Assert.Equal((10f, 20f, 30f), (t[0, 0, 1], t[1, 0, 1], t[2, 0, 1]));
    }

    [Fact]
    public void GrayBitmapBecomesEqualChannels()
    {
        using var bmp = new SKBitmap(new SKImageInfo(3, 1, SKColorType.Gray8, SKAlphaType.Opaque));
        bmp.SetPixel(0, 0, new SKColor(7, 7, 7));
        bmp.SetPixel(2, 0, new SKColor(200, 200, 200));
        var t = ImageTensor.FromBitmap(bmp);
        Assert.Equal((7f, 7f, 7f), (t[0, 0, 0], t[1, 0, 0], t[2, 0, 0]));
        Assert.Equal((200f, 200f, 200f), (t[0, 0, 2], t[1, 0, 2], t[2, 0, 2]));
    }

    [Fact]
    public void ChannelsAreContiguousPlanes()
    {
        var t = ImageTensor.Zeros(3, 2);
        Assert.Equal(18, t.Data.Length);
        t.Channel(1).Fill(7);
        Assert.Equal(7f, t.Data[6]);
        Assert.Equal(0f, t.Data[5]);
        Assert.Equal(0f, t.Data[12]);
        t[2, 1, 2] = 9;
        Assert.Equal(9f, t.Data[17]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Channel(3));
    }

    [Fact]
    public void CloneIsDeepAndClampHandlesNaN()
    {
        var t = new ImageTensor([-1f, 300f, float.NaN, 5f, 0f, 255f], 2, 1);
        var c = t.Clone();
        t.ClampInPlace();
        Assert.Equal([0f, 255f, 0f, 5f, 0f, 255f], t.Data);
        Assert.True(float.IsNaN(c.Data[2]));
    }

    [Fact]
    public void WrongDataLengthThrows()
    {
        Assert.Throws<ArgumentException>(() => new ImageTensor(new float[10], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageTensor.Zeros(0, 3));
    }
}
