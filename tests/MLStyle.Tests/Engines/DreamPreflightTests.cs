using MLStyle.Backbones;
using MLStyle.Engines;

namespace MLStyle.Tests.Engines;

/// <summary>The DeepDream pre-flight estimate: it grows with the image, tiles bound it, frames multiply the time.</summary>
public class DreamPreflightTests
{
    static readonly Backbone ResNet18 = BackboneFactory.Resolve("resnet18");

    [Fact]
    public void Estimate_GrowsWithSize_TilesBoundActivations_FramesMultiplyTime()
    {
        var small = Preflight.EstimateDream(ResNet18, new DeepDreamOptions { Size = 512 }, 1000, 800);
        var big = Preflight.EstimateDream(ResNet18, new DeepDreamOptions { Size = 2048 }, 1000, 800);
        var tiled = Preflight.EstimateDream(ResNet18, new DeepDreamOptions { Size = 2048, Tile = 512 }, 1000, 800);
        var frames = Preflight.EstimateDream(ResNet18, new DeepDreamOptions { Size = 512, Frames = 3, FramesDirectory = "frames" }, 1000, 800);
        Assert.Equal((512, 410), (small.Width, small.Height));
        Assert.True(big.ActivationBytes > 10 * small.ActivationBytes, $"{big.ActivationBytes} vs {small.ActivationBytes}");
        Assert.True(tiled.ActivationBytes < big.ActivationBytes / 10, $"{tiled.ActivationBytes} vs {big.ActivationBytes}");
        Assert.Equal(big.ImageBytes, tiled.ImageBytes);
        Assert.Equal(0, small.OptimizerBytes);
        Assert.Equal(4 * small.Iterating.TotalSeconds, frames.Iterating.TotalSeconds, 6);
    }

    [Fact]
    public void PlanDream_RefusesAboveTheLimit_NamingTheFix()
    {
        var options = new DeepDreamOptions { Size = 2048 };
        var e = Preflight.EstimateDream(ResNet18, options, 1000, 800);
        Assert.Equal(e, Preflight.PlanDream(ResNet18, options, 1000, 800, e.PeakBytes));
        var ex = Assert.Throws<MemoryLimitException>(() => Preflight.PlanDream(ResNet18, options, 1000, 800, e.PeakBytes - 1));
        Assert.Contains("tiles of 512 px", ex.Message);
    }
}
