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



    /// <summary>
    /// Peak working sets (max RSS, MiB) measured on the project's machine (2 cores) with
    /// <c>/usr/bin/time -v mlstyle stylize --content tubingen.jpg (1024×768) --style starry_night.jpg --size S --iterations 30
    /// --tolerance 0 --threads 2 [options]</c> (docs/benchmarks.md, "The pre-flight model and its calibration"). The estimate
    /// must never be below a measured peak (a plan would then let a run exceed its limit) nor more than 15 % above it.
    /// </summary>
    public static TheoryData<int, string, int> MeasuredPeaks => new()
    {
        { 256, "default", 640 }, { 256, "adam", 624 }, { 256, "conv1", 383 },
        { 512, "default", 737 }, { 512, "adam", 652 }, { 512, "conv1", 526 },
        { 1024, "default", 1784 }, { 1024, "adam", 1311 },
    };

    [Theory]
    [MemberData(nameof(MeasuredPeaks))]
    public void EstimateIsAtOrSlightlyAboveTheMeasuredPeak(int size, string variant, int measuredMiB)
    {
        var options = new StyleTransferOptions { Size = size, Iterations = 30, Tolerance = 0 };
        options = variant switch
        {
            "adam" => options with { Optimizer = "adam" },
            "conv1" => options with { ContentLayers = [new("conv1", 1)], StyleLayers = [new("conv1", 1)] },
            _ => options,
        };
        double estimateMiB = Preflight.Estimate(ResNet.Value, options, 1024, 768).PeakBytes / (double)(1 << 20);
        Assert.InRange(estimateMiB, measuredMiB, measuredMiB * 1.15);
    }

    [Fact]
    public void SmallImagesPeakWhileTheLossModelIsBuilt()
    {
        var small = Preflight.Estimate(ResNet.Value, Options with { Size = 128 }, 1024, 768);
        Assert.True(small.SetupBytes > small.RunBytes, $"{small.SetupBytes} vs {small.RunBytes}");
        Assert.Equal(small.BaseBytes + small.SetupBytes, small.PeakBytes);
        var large = Preflight.Estimate(ResNet.Value, Options with { Size = 1024 }, 1024, 768);
        Assert.Equal(large.SetupBytes, small.SetupBytes);
        Assert.Equal(large.BaseBytes + large.RunBytes, large.PeakBytes);
    }

    [Fact]
    public void AvailableMemoryIsTheMachines()
    {
        Assert.True(Preflight.AvailableMemoryBytes() > 256L << 20);
    }
}
