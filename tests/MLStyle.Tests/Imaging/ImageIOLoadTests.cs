#nullable enable
using System.Diagnostics;
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Imaging;

public sealed class ImageIOLoadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void PngRoundTripIsExactForIntegerValues()
    {
        var img = TestFiles.RandomIntegers(37, 23, seed: 1);
        string path = _dir.File("exact.png");
        ImageIO.Save(img, path);
        var back = ImageIO.Load(path);
        Assert.Equal(37, back.Width);
        Assert.Equal(23, back.Height);
        Assert.Equal(img.Data, back.Data);
    }

    [Fact]
    public void JpegRoundTripIsClose()
    {
        var img = TestFiles.Gradient(64, 48);
        string path = _dir.File("photo.jpg");
        ImageIO.Save(img, path, jpegQuality: 95);
        var back = ImageIO.Load(path);
        Assert.Equal((64, 48), (back.Width, back.Height));
        double mae = 0;
        for (int i = 0; i < img.Data.Length; i++) mae += Math.Abs(img.Data[i] - back.Data[i]);
        mae /= img.Data.Length;
        Assert.True(mae < 2.0, $"mean abs error {mae}");
    }

    [Fact]
    public void ExifOrientation6LoadsUprightWithSwappedDimensions()
    {
        // Stored 40x20: left half red, right half blue; top rows lighter than bottom rows is not needed.
        var stored = TestFiles.Quadrants(40, 20);
        byte[] jpeg = TestFiles.WithExifOrientation(TestFiles.Encode(stored, SKEncodedImageFormat.Jpeg, 95), 6);
        string path = Write("rotated.jpg", jpeg);

        var info = ImageIO.Probe(path);
        Assert.Equal(SKEncodedOrigin.RightTop, info.Orientation);
        Assert.Equal((20, 40), (info.Width, info.Height));
        Assert.Equal(SKEncodedImageFormat.Jpeg, info.Format);

        var img = ImageIO.Load(path);
        Assert.Equal((20, 40), (img.Width, img.Height));
        // Orientation 6 = rotate 90 degrees clockwise to display: stored TL (red) -> displayed TR,
        // stored TR (green) -> BR, stored BL (blue) -> TL, stored BR (yellow) -> BL.
        AssertColor(TestFiles.MeanColor(img, 13, 3, 5, 5), (255, 0, 0));   // top right
        AssertColor(TestFiles.MeanColor(img, 13, 32, 5, 5), (0, 255, 0));  // bottom right
        AssertColor(TestFiles.MeanColor(img, 2, 3, 5, 5), (0, 0, 255));    // top left
        AssertColor(TestFiles.MeanColor(img, 2, 32, 5, 5), (255, 255, 0)); // bottom left
    }

    [Theory]
    [InlineData(SKEncodedOrigin.TopLeft, false)]
    [InlineData(SKEncodedOrigin.TopRight, false)]
    [InlineData(SKEncodedOrigin.BottomRight, false)]
    [InlineData(SKEncodedOrigin.BottomLeft, false)]
    [InlineData(SKEncodedOrigin.LeftTop, true)]
    [InlineData(SKEncodedOrigin.RightTop, true)]
    [InlineData(SKEncodedOrigin.RightBottom, true)]
    [InlineData(SKEncodedOrigin.LeftBottom, true)]
    public void ApplyOrientationMatchesSkiaCanvasTransform(SKEncodedOrigin origin, bool swaps)
    {
        var src = TestFiles.RandomIntegers(7, 4, seed: 3);
        var ours = ExifOrientation.Apply(src, origin);
        Assert.Equal(swaps, ExifOrientation.SwapsAxes(origin));
        Assert.Equal(swaps ? (4, 7) : (7, 4), (ours.Width, ours.Height));

        // Reference: draw the stored bitmap through the EXIF matrix with Skia.
        using var storedBmp = src.ToBitmap();
        using var refBmp = new SKBitmap(new SKImageInfo(ours.Width, ours.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(refBmp))
        {
            canvas.SetMatrix(OriginMatrix(origin, src.Width, src.Height));
            canvas.DrawBitmap(storedBmp, 0, 0);
        }
        var expected = ImageTensor.FromBitmap(refBmp);
        Assert.Equal(expected.Data, ours.Data);
    }

    /// <summary>The transform mapping stored pixels to display pixels for each EXIF origin (w, h = stored size).</summary>
    private static SKMatrix OriginMatrix(SKEncodedOrigin o, int w, int h) => o switch
    {
        SKEncodedOrigin.TopLeft => SKMatrix.Identity,
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(o)),
    };

    [Fact]
    public void GrayscalePngBecomesThreeEqualChannels()
    {
        int w = 16, h = 8;
        var raw = new byte[w * h];
        for (int i = 0; i < raw.Length; i++) raw[i] = (byte)(i * 2);
        string path = Write("gray.png", TestFiles.Png(w, h, 8, 0, raw));
        var img = ImageIO.Load(path);
        Assert.Equal((w, h), (img.Width, img.Height));
        for (int i = 0; i < raw.Length; i++)
        {
            Assert.Equal(raw[i], img.Data[i]);
            Assert.Equal(raw[i], img.Data[w * h + i]);
            Assert.Equal(raw[i], img.Data[2 * w * h + i]);
        }
    }

    [Fact]
    public void TransparentPixelsAreCompositedOverWhite()
    {
        // 3x1 RGBA: fully transparent black, opaque dark red, half-transparent black.
        byte[] raw = [0, 0, 0, 0, 100, 10, 20, 255, 0, 0, 0, 128];
        string path = Write("alpha.png", TestFiles.Png(3, 1, 8, 6, raw));
        var img = ImageIO.Load(path);
        Assert.Equal((255f, 255f, 255f), (img[0, 0, 0], img[1, 0, 0], img[2, 0, 0]));
        Assert.Equal((100f, 10f, 20f), (img[0, 0, 1], img[1, 0, 1], img[2, 0, 1]));
        Assert.InRange(img[0, 0, 2], 126f, 128f); // 255 * (1 - 128/255) = 127
    }

    [Fact]
    public void SixteenBitPngLoadsWithCorrectValues()
    {
        // 2x2 RGB, 16 bits per sample (big-endian).
        ushort[] samples =
        [
            0x0000, 0xFFFF, 0x8080, /**/ 0xFFFF, 0x0000, 0x0000,
            0x1234, 0xABCD, 0x4000, /**/ 0xFFFF, 0xFFFF, 0xFFFF,
        ];
        var raw = new byte[samples.Length * 2];
        for (int i = 0; i < samples.Length; i++)
        {
            raw[2 * i] = (byte)(samples[i] >> 8);
            raw[2 * i + 1] = (byte)samples[i];
        }
        string path = Write("deep.png", TestFiles.Png(2, 2, 16, 2, raw));
        var img = ImageIO.Load(path);
        Assert.Equal((2, 2), (img.Width, img.Height));
        for (int p = 0; p < 4; p++)
            for (int c = 0; c < 3; c++)
            {
                double expected = samples[p * 3 + c] / 65535.0 * 255.0;
                // Tighter than 8-bit rounding (0x1234 = 18.13 would load as 18 with 8-bit decoding): precision beyond 8 bits is kept.
                Assert.InRange(img.Data[c * 4 + p], expected - 0.1, expected + 0.1);
            }
    }

    [Fact]
    public void SixteenBitGrayAlphaPngLoads()
    {
        // 2x1 gray+alpha, 16 bits: opaque mid grey, fully transparent black.
        byte[] raw = [0x80, 0x80, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00];
        string path = Write("deep-ga.png", TestFiles.Png(2, 1, 16, 4, raw));
        var img = ImageIO.Load(path);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(128f, img[c, 0, 0], 0.1f);
            Assert.Equal(255f, img[c, 0, 1], 0.1f);
        }
    }

    [Fact]
    public void PalettePngWithTransparencyLoads()
    {
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
        byte[] trns = [255, 255, 0]; // third entry fully transparent
        byte[] raw = [0, 1, 2, 1]; // 4x1, 8-bit indices
        string path = Write("palette.png", TestFiles.Png(4, 1, 8, 3, raw, palette, trns));
        var img = ImageIO.Load(path);
        Assert.Equal((255f, 0f, 0f), (img[0, 0, 0], img[1, 0, 0], img[2, 0, 0]));
        Assert.Equal((0f, 255f, 0f), (img[0, 0, 1], img[1, 0, 1], img[2, 0, 1]));
        Assert.Equal((255f, 255f, 255f), (img[0, 0, 2], img[1, 0, 2], img[2, 0, 2]));
    }

    [Fact]
    public void MissingFileIsReported()
    {
        string path = _dir.File("nope.jpg");
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains("nope.jpg", ex.Message);
        Assert.Contains("not found", ex.Message);
        Assert.Equal(path, ex.FilePath);
        Assert.IsAssignableFrom<MLStyleException>(ex);
        Assert.Throws<ImageLoadException>(() => ImageIO.Probe(path));
    }

    [Fact]
    public void ZeroByteFileIsReported()
    {
        string path = Write("empty.png", []);
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains("empty.png", ex.Message);
        Assert.Contains("empty", ex.Message.Replace("empty.png", ""));
        AssertOneLine(ex.Message);
    }

    [Fact]
    public void DirectoryIsReported()
    {
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(_dir.Path));
        Assert.Contains("directory", ex.Message);
    }

    [Theory]
    [InlineData("cut.jpg", SKEncodedImageFormat.Jpeg)]
    [InlineData("cut.png", SKEncodedImageFormat.Png)]
    public void TruncatedFileIsRefused(string name, SKEncodedImageFormat format)
    {
        byte[] full = TestFiles.Encode(TestFiles.RandomIntegers(64, 64, seed: 5), format, 90);
        string path = Write(name, full.AsSpan(0, 100).ToArray());
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains(name, ex.Message);
        Assert.True(ex.Message.Contains("truncated") || ex.Message.Contains("corrupt"), ex.Message);
        AssertOneLine(ex.Message);
    }

    [Fact]
    public void PngCutInsideImageDataIsRefused()
    {
        byte[] full = TestFiles.Encode(TestFiles.RandomIntegers(64, 64, seed: 6), SKEncodedImageFormat.Png);
        string path = Write("half.png", full.AsSpan(0, full.Length / 2).ToArray());
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains("half.png", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void RandomBytesAreNotAnImage()
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        bytes[0] = 0x42; // avoid accidental magic numbers
        string path = Write("noise.jpg", bytes);
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains("noise.jpg", ex.Message);
        Assert.Contains("not an image", ex.Message);
    }

    [Fact]
    public void TextFileIsNotAnImage()
    {
        string path = _dir.File("notes.png");
        File.WriteAllText(path, "This is not a picture.\nJust some text.\n");
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        Assert.Contains("notes.png", ex.Message);
        Assert.Contains("not an image", ex.Message);
        AssertOneLine(ex.Message);
    }

    [Fact]
    public void HugePngHeaderIsRefusedBeforeDecoding()
    {
        // IHDR claims 100000x100000 RGB (30 GB decoded); the IDAT holds only the first rows' filter bytes.
        byte[] bomb = TestFiles.Png(100_000, 100_000, 8, 2, []);
        Assert.True(bomb.Length < 1000, $"{bomb.Length} bytes");
        string path = Write("bomb.png", bomb);

        var info = ImageIO.Probe(path);
        Assert.Equal((100_000, 100_000), (info.Width, info.Height));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path));
        sw.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("cannot load image '" + path + "': it is 100000x100000 = 10000 MP, above the limit of 50 MP (MaxPixels)", ex.Message);
        Assert.True(sw.ElapsedMilliseconds < 1000, $"took {sw.ElapsedMilliseconds} ms");
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
    }

    [Fact]
    public void MaxPixelsOptionIsHonoured()
    {
        string path = _dir.File("small.png");
        ImageIO.Save(TestFiles.Gradient(100, 50), path);
        var ex = Assert.Throws<ImageLoadException>(() => ImageIO.Load(path, new ImageLoadOptions { MaxPixels = 4999 }));
        Assert.Contains("100x50", ex.Message);
        Assert.Equal(100, ImageIO.Load(path, new ImageLoadOptions { MaxPixels = 5000 }).Width);
        Assert.Equal(100, ImageIO.Load(path, new ImageLoadOptions { MaxPixels = 0 }).Width);
    }

    [Fact]
    public void ProbeReadsHeaderOnly()
    {
        string path = _dir.File("probe.png");
        ImageIO.Save(TestFiles.Gradient(30, 10), path);
        var info = ImageIO.Probe(path);
        Assert.Equal(new ImageInfo(30, 10, SKEncodedImageFormat.Png, SKEncodedOrigin.TopLeft), info);
        Assert.Equal("PNG", info.FormatName);
        Assert.Equal(300, info.PixelCount);
    }

    private static void AssertColor((double R, double G, double B) actual, (double R, double G, double B) expected)
    {
        Assert.True(Math.Abs(actual.R - expected.R) < 20 && Math.Abs(actual.G - expected.G) < 20 && Math.Abs(actual.B - expected.B) < 20,
            $"expected {expected}, got {actual}");
    }

    private static void AssertOneLine(string message) =>
        Assert.DoesNotContain('\n', message);
}
