using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Engines;

public class StyleQualityTests
{
    /// <summary>
    /// A photo-like image: white noise blurred by a binomial filter (a spectrum falling smoothly to zero at the Nyquist
    /// frequency, with no side lobes), stretched around mid-grey, plus faint white noise as a camera adds.
    /// </summary>
    static ImageTensor SmoothNoise(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var img = new ImageTensor(w, h);
        for (int c = 0; c < 3; c++)
        {
            var ch = img.Channel(c);
            for (int i = 0; i < ch.Length; i++) ch[i] = (float)rng.NextDouble();
            for (int pass = 0; pass < 6; pass++) Binomial(ch, w, h);
            float mean = 0; foreach (var v in ch) mean += v; mean /= ch.Length;
            for (int i = 0; i < ch.Length; i++) ch[i] = 128 + 1500 * (ch[i] - mean) + (float)(rng.NextDouble() - 0.5) * 4;
        }
        img.ClampInPlace();
        return img;
    }

    /// <summary>One [1 2 1]/4 pass along x and along y (edges clamped).</summary>
    static void Binomial(Span<float> ch, int w, int h)
    {
        var src = ch.ToArray();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                ch[y * w + x] = 0.25f * src[y * w + Math.Max(0, x - 1)] + 0.5f * src[y * w + x] + 0.25f * src[y * w + Math.Min(w - 1, x + 1)];
        ch.CopyTo(src);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                ch[y * w + x] = 0.25f * src[Math.Max(0, y - 1) * w + x] + 0.5f * src[y * w + x] + 0.25f * src[Math.Min(h - 1, y + 1) * w + x];
    }

    /// <summary>Adds ±<paramref name="amplitude"/> in a pattern of period <paramref name="period"/> along x and y (a stride grid).</summary>
    static ImageTensor WithGrid(ImageTensor img, int period, float amplitude)
    {
        var o = img.Clone();
        for (int c = 0; c < 3; c++)
        {
            var ch = o.Channel(c);
            for (int y = 0; y < o.Height; y++)
                for (int x = 0; x < o.Width; x++)
                    ch[y * o.Width + x] += (x % period == 0 ? amplitude : 0) + (y % period == 0 ? amplitude : 0);
        }
        return o;
    }

    [Fact]
    public void GridPeak_SmoothImagesMeasureAboutOne()
    {
        foreach (var (w, h, seed) in new[] { (256, 192, 1), (200, 256, 2) })
        {
            var g = StyleQuality.GridPeak(SmoothNoise(w, h, seed));
            Assert.True(g is > 0.5 and < 1.5, $"{w}x{h}: {g:F3}");
        }
    }

    [Fact]
    public void GridPeak_WhiteNoiseHasNoPeak()
    {
        var rng = new Random(4);
        var img = new ImageTensor(256, 256);
        for (int i = 0; i < img.Data.Length; i++) img.Data[i] = (float)(rng.NextDouble() * 255);
        Assert.InRange(StyleQuality.GridPeak(img), 0.6, 1.6);
    }

    [Theory]
    [InlineData(2, 3f)]
    [InlineData(4, 3f)]
    [InlineData(2, 1f)]   // a faint grid, ±1 of 255, still stands out
    public void GridPeak_PlantedGridScoresHigh(int period, float amplitude)
    {
        var clean = SmoothNoise(256, 192, 5);
        double before = StyleQuality.GridPeak(clean), after = StyleQuality.GridPeak(WithGrid(clean, period, amplitude));
        Assert.True(after > 3, $"grid of period {period} measured {after:F2}");
        Assert.True(after > 2 * before, $"before {before:F2}, after {after:F2}");
    }

    [Fact]
    public void GridPeak_OnlyColumnsGridStillFound()
    {
        var clean = SmoothNoise(128, 256, 6);
        var o = clean.Clone();
        for (int c = 0; c < 3; c++) { var ch = o.Channel(c); for (int i = 0; i < ch.Length; i++) if (i % 128 % 2 == 0) ch[i] += 3; }
        Assert.True(StyleQuality.GridPeak(o) > 3);
    }

    [Fact]
    public void Measure_IdentitiesOnResNet18()
    {
        using var q = new StyleQuality(settings: new SessionSettings { Threads = 2 });
        var content = SmoothNoise(64, 64, 7);
        var style = TestImages.Synthetic(64, 64, 8);

        var asStyle = q.Measure(style, content, style);
        Assert.All(asStyle.StyleRatios, r => Assert.Equal(0, r, 6));
        Assert.Equal(0, asStyle.OverallStyleRatio, 6);
        Assert.Equal(1, asStyle.ContentRatio, 3);   // exactly as far from the photo as the painting

        var asContent = q.Measure(content, content, style);
        Assert.All(asContent.StyleRatios, r => Assert.Equal(1, r, 3));
        Assert.Equal(1, asContent.OverallStyleRatio, 3);
        Assert.Equal(0, asContent.ContentRatio, 6);

        // Halfway between photo and painting lies between both on every measure.
        var mix = content.Clone();
        for (int i = 0; i < mix.Data.Length; i++) mix.Data[i] = 0.5f * (content.Data[i] + style.Data[i]);
        var half = q.Measure(mix, content, style);
        Assert.All(half.StyleRatios, r => Assert.InRange(r, 0.0, 1.0));
        Assert.InRange(half.ContentRatio, 0.01, 0.99);
        Assert.Equal(new[] { "conv1", "layer1.1", "layer2.1", "layer3.1", "layer4.2" }, q.Stages);
        Assert.Equal(q.Stages.Count, half.StyleRatios.Count);
    }

    [Theory]
    [InlineData(256, 192, 256, 192)]
    [InlineData(250, 171, 256, 160)]
    [InlineData(20, 10, 32, 32)]
    public void AnalysisSize_MultiplesOf32(int w, int h, int ew, int eh) =>
        Assert.Equal((ew, eh), StyleQuality.AnalysisSize(w, h));
}
