using MLStyle.Engines;
using MLStyle.Backbones;
using MLStyle.Losses;
using MLStyle.Optimization;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Optimization;

public class BlurredUpdatesTests
{
    const int W = 11, H = 7, P = 3;

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    public void GradientIsTheAdjoint_AndZeroIsTheOrigin(int taps)
    {
        var origin = GradCheck.Random(1, P * W * H);
        var u = new BlurredUpdates(origin, P, W, H, taps);
        var x = new float[origin.Length];
        u.ToImage(new float[origin.Length], x);
        Assert.Equal(origin, x);

        // <B z, g> = <z, B g> for random z and g: the variable's gradient is exactly the chain rule through x = origin + B z.
        var z = GradCheck.Random(2, origin.Length);
        var g = GradCheck.Random(3, origin.Length);
        u.ToImage(z, x);
        double lhs = 0, rhs = 0;
        var bg = new float[g.Length];
        u.ToVariable(g, bg);
        for (int i = 0; i < x.Length; i++) { lhs += (x[i] - origin[i]) * (double)g[i]; rhs += z[i] * (double)bg[i]; }
        Assert.Equal(lhs, rhs, 4);
        Assert.NotEqual(0, lhs, 2);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void AGridIsNotAnUpdate(int taps)
    {
        // A full checkerboard z moves no pixel that the blur sees whole: period 2 never reaches the image.
        var u = new BlurredUpdates(new float[P * W * H], P, W, H, taps);
        var z = new float[P * W * H];
        for (int p = 0; p < P; p++) for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) z[(p * H + y) * W + x] = (x + y) % 2 == 0 ? 10 : -10;
        var img = new float[z.Length];
        u.ToImage(z, img);
        int r = taps / 2;
        for (int p = 0; p < P; p++) for (int y = r; y < H - r; y++) for (int x = r; x < W - r; x++) Assert.Equal(0f, img[(p * H + y) * W + x], 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlurredUpdates(new float[P * W * H], P, W, H, 4));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    public void BinomialKernel_SumsToOne_KillsPeriodTwo_HasVarianceQuarterOfTapsMinusOne(int taps)
    {
        var k = MLStyle.Imaging.BinomialKernel.Of(taps);
        Assert.Equal(taps, k.Length);
        double sum = 0, alternating = 0, variance = 0, period4 = 0;
        for (int i = 0; i < taps; i++)
        {
            double d = i - taps / 2;
            sum += k[i];
            alternating += (i % 2 == 0 ? 1 : -1) * k[i];
            variance += k[i] * d * d;
            period4 += k[i] * Math.Cos(Math.PI / 2 * d);
            Assert.Equal(k[i], k[taps - 1 - i]);
        }
        Assert.Equal(1, sum, 6);
        Assert.Equal(0, alternating, 6);
        Assert.Equal((taps - 1) / 4.0, variance, 5);
        // The response at period 4 is cos(π/4)^(taps − 1): 1/2, 1/4, 1/8, 1/16.
        Assert.Equal(Math.Pow(Math.Sqrt(0.5), taps - 1), period4, 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => MLStyle.Imaging.BinomialKernel.Of(taps + 1));
    }

    [Fact]
    public void Engine_WithSmoothUpdates_ReducesTheLoss()
    {
        var options = new StyleTransferOptions
        {
            Size = 48, Iterations = 6, Tolerance = 0, SmoothUpdates = 3,
            ContentLayers = new[] { new WeightedLayer("layer1.0", 1f) },
            StyleLayers = new[] { new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.0", 1f) },
        };
        var engine = new StyleTransferEngine(BackboneFactory.ResNet18(), new SessionSettings { Threads = 1 });
        var r = engine.Run(TestImages.Synthetic(56, 40, 1), new[] { TestImages.Synthetic(48, 48, 2) }, options);
        Assert.True(r.Final.Loss < 0.5 * r.Initial.Loss, $"{r.Initial.Loss} -> {r.Final.Loss}");
        Assert.Throws<MLStyleException>(() => options with { SmoothUpdates = 2 } is var o ? engine.Run(TestImages.Synthetic(56, 40, 1), new[] { TestImages.Synthetic(48, 48, 2) }, o) : null);
    }
}
