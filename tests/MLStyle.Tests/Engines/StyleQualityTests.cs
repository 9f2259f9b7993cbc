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

    /// <summary>
    /// Adds a sinusoidal stripe pattern of <paramref name="period"/> pixels across the direction (dx, dy): ±amplitude of the
    /// luminance when <paramref name="chromaOnly"/> is false; otherwise R and B move against G so that Y = 0.299R + 0.587G + 0.114B
    /// stays unchanged (the colour alternates, the brightness does not).
    /// </summary>
    static ImageTensor WithStripes(ImageTensor img, double period, double dx, double dy, float amplitude, bool chromaOnly)
    {
        var o = img.Clone();
        double n = Math.Sqrt(dx * dx + dy * dy);
        var r = o.Channel(0); var g = o.Channel(1); var b = o.Channel(2);
        for (int y = 0; y < o.Height; y++)
            for (int x = 0; x < o.Width; x++)
            {
                int i = y * o.Width + x;
                float v = amplitude * (float)Math.Sin(2 * Math.PI * (x * dx + y * dy) / n / period);
                if (chromaOnly) { r[i] += v; b[i] += v; g[i] -= v * (0.299f + 0.114f) / 0.587f; }
                else { r[i] += v; g[i] += v; b[i] += v; }
            }
        return o;
    }

    [Fact]
    public void StripePeak_SmoothImagesNoiseAndGradientsMeasureLow()
    {
        foreach (var (w, h, seed) in new[] { (256, 192, 1), (200, 256, 2) })
        {
            double s = StyleQuality.StripePeak(SmoothNoise(w, h, seed));
            Assert.True(s is > 0.5 and < 2.5, $"{w}x{h}: {s:F3}");
        }
        var rng = new Random(4);
        var noise = new ImageTensor(160, 128);
        for (int i = 0; i < noise.Data.Length; i++) noise.Data[i] = (float)(rng.NextDouble() * 255);
        Assert.InRange(StyleQuality.StripePeak(noise), 0.5, 2.5);

        // A noise-free gradient, diagonal and coloured: no fine detail at all.
        var ramp = new ImageTensor(128, 96);
        for (int c = 0; c < 3; c++)
        {
            var ch = ramp.Channel(c);
            for (int y = 0; y < 96; y++) for (int x = 0; x < 128; x++) ch[y * 128 + x] = 20 + x * (1 + c * 0.3f) + 0.7f * y;
        }
        Assert.InRange(StyleQuality.StripePeak(ramp), 0.0, 1.0);
        Assert.Equal(0, StyleQuality.StripePeak(new ImageTensor(16, 16)));   // smaller than a tile
    }

    [Theory]
    [InlineData(3.0, 1.0, 1.0, false)]    // diagonal, period 3
    [InlineData(4.2, 1.0, -2.0, false)]   // steep, period 4.2
    [InlineData(2.5, 3.0, 1.0, false)]
    [InlineData(3.5, 1.0, 1.0, true)]     // colour only: the luminance is untouched
    [InlineData(4.8, -1.0, 2.0, true)]
    public void StripePeak_ObliqueStripesScoreHigh(double period, double dx, double dy, bool chromaOnly)
    {
        var clean = SmoothNoise(256, 192, 5);
        var striped = WithStripes(clean, period, dx, dy, 12f, chromaOnly);
        double before = StyleQuality.StripePeak(clean), after = StyleQuality.StripePeak(striped);
        Assert.True(after > 10, $"stripes of period {period} along ({dx}, {dy}) measured {after:F2}");
        Assert.True(after > 5 * before, $"before {before:F2}, after {after:F2}");
    }

    [Fact]
    public void A_colour_only_diagonal_hatching_escapes_the_grid_peak_but_not_the_stripe_peak()
    {
        var striped = WithStripes(SmoothNoise(256, 192, 3), 4.0, 1.0, 1.0, 6f, chromaOnly: true);
        Assert.True(StyleQuality.GridPeak(striped) < 1.6, $"grid {StyleQuality.GridPeak(striped):F2}");
        Assert.True(StyleQuality.StripePeak(striped) > 10, $"stripes {StyleQuality.StripePeak(striped):F2}");
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
        Assert.Equal(StyleQuality.StripePeak(mix), half.StripePeak);
    }

    [Theory]
    [InlineData(256, 192, 256, 192)]
    [InlineData(250, 171, 256, 160)]
    [InlineData(20, 10, 32, 32)]
    public void AnalysisSize_MultiplesOf32(int w, int h, int ew, int eh) =>
        Assert.Equal((ew, eh), StyleQuality.AnalysisSize(w, h));
}
