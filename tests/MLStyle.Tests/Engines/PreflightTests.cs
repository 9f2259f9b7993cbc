#nullable enable
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;

namespace MLStyle.Tests.Engines;

public sealed class PreflightTests
{
    static readonly Lazy<Backbone> ResNet = new(() => BackboneFactory.ResNet18());
    static readonly StyleTransferOptions Options = new() { Size = 512, Iterations = 100 };

    [Fact]
    public void MemoryAndTimeGrowWithSizeDepthAndHistory()
    {
        var b = ResNet.Value;
        var small = Preflight.Estimate(b, Options with { Size = 256 }, 600, 400);
        var large = Preflight.Estimate(b, Options, 600, 400);
        Assert.Equal((512, 341), (large.Width, large.Height));
        Assert.True(large.ActivationBytes > 3.5 * small.ActivationBytes && large.ActivationBytes < 4.5 * small.ActivationBytes);
        Assert.True(large.Iterating > 2.5 * small.Iterating);

        // L-BFGS keeps 2·m·n history elements (float32 by default, float16 with half precision) plus 3 working float
        // vectors, n = 3·W·H; smooth updates 3 more vectors.
        long n = 3L * 512 * 341;
        Assert.Equal((2L * 25 + 3 + 3) * n * 4, large.OptimizerBytes);
        Assert.Equal((2L * 100 + 3) * n * 4, Preflight.Estimate(b, Options with { LbfgsHistory = 100, SmoothUpdates = 0 }, 600, 400).OptimizerBytes);
        Assert.Equal(2L * 100 * n * 2 + 3 * n * 4, Preflight.Estimate(b, Options with { LbfgsHistory = 100, SmoothUpdates = 0,
            LbfgsHistoryPrecision = MLStyle.Optimization.HistoryPrecision.Half }, 600, 400).OptimizerBytes);
        // Only as many pairs as iterations are ever filled (the buffers are allocated uninitialised).
        Assert.Equal((2L * 10 + 3 + 3) * n * 4, Preflight.Estimate(b, Options with { Iterations = 10 }, 600, 400).OptimizerBytes);
        var adam = Preflight.Estimate(b, Options with { Optimizer = "adam", SmoothUpdates = 0 }, 600, 400);
        Assert.Equal(3L * n * 4, adam.OptimizerBytes);
        Assert.Equal(0, adam.History);

        var shallow = Preflight.Estimate(b, Options with { ContentLayers = [new("conv1", 1)], StyleLayers = [new("conv1", 1)] }, 600, 400);
        Assert.True(shallow.ActivationBytes < large.ActivationBytes);
        Assert.True(shallow.WeightBytes < large.WeightBytes / 10);
        Assert.True(shallow.Iterating < large.Iterating);

        // Coarse to fine: the peak is the largest scale's; the time adds up.
        var scales = Preflight.Estimate(b, Options with { Scales = [256, 512] }, 600, 400);
        Assert.Equal(large.PeakBytes, scales.PeakBytes);
        Assert.True(scales.Time > large.Time);
        Assert.Equal(large.BaseBytes + 2 * large.WorkerBytes, large.PeakBytesWith(2));
    }

    [Fact]
    public void PlanKeepsTheRequestWhenItFitsThenShortensTheHistoryThenSwitchesToAdamThenRefuses()
    {
        var b = ResNet.Value;
        var full = Preflight.Estimate(b, Options, 512, 512);
        var fits = Preflight.Plan(b, Options, 512, 512, full.PeakBytes);
        Assert.Null(fits.Fallback);
        Assert.Same(Options, fits.Options);

        // Just below the request: the longest history (halving) that fits.
        var shorter = Preflight.Plan(b, Options, 512, 512, full.PeakBytes - 1);
        int half = Options.LbfgsHistory / 2;
        Assert.Equal(half, shorter.Options.LbfgsHistory);
        Assert.Equal("lbfgs", shorter.Options.Optimizer);
        Assert.Contains($"using history {half}", shorter.Fallback);
        Assert.True(shorter.Estimate.PeakBytes <= full.PeakBytes - 1);

        var h6 = Preflight.Estimate(b, Options with { LbfgsHistory = 6 }, 512, 512);
        var adamEstimate = Preflight.Estimate(b, Options with { Optimizer = "adam" }, 512, 512);
        Assert.True(adamEstimate.PeakBytes < h6.PeakBytes);
        var adam = Preflight.Plan(b, Options, 512, 512, adamEstimate.PeakBytes);
        Assert.Equal("adam", adam.Options.Optimizer);
        Assert.Null(adam.Options.LearningRate); // Adam's own default, not L-BFGS's
        Assert.Contains("using Adam", adam.Fallback);

        var refused = Assert.Throws<MemoryLimitException>(() => Preflight.Plan(b, Options, 512, 512, adamEstimate.PeakBytes - 1));
        Assert.Contains("smaller size", refused.Message);
        Assert.DoesNotContain("\n", refused.Message);

        // Two workers need two images' worth of memory.
        Assert.Throws<MemoryLimitException>(() => Preflight.Plan(b, Options with { Optimizer = "adam" }, 512, 512, adamEstimate.PeakBytes, workers: 2));
    }



    [Fact]
    public void AvailableMemoryIsTheMachines()
    {
        Assert.True(Preflight.AvailableMemoryBytes() > 256L << 20);
    }
}
