using MLStyle.Tests.Support;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;

namespace MLStyle.Tests.Engines;

public class ResNetDreamTests
{
    [Fact]
    public void EmbeddedResNet18_DefaultLayers_RaiseTheObjectiveInEveryOctave()
    {
        var img = ImageIO.Load(TestImages.RepoFile("samples/content/chelsea.png"));
        var engine = new DeepDreamEngine(BackboneFactory.ResNet18(), new MLStyle.Runtime.SessionSettings { Threads = 2 });
        var r = engine.Run(img, new DeepDreamOptions { Size = 96, Octaves = 2, IterationsPerOctave = 3 });
        Assert.Equal(new[] { (69, 46), (96, 64) }, r.OctaveSizes);
        Assert.Equal(6, r.Steps);
        foreach (var oct in r.History.GroupBy(h => h.Octave))
            Assert.True(oct.Last().Objective > oct.First().Objective, $"octave {oct.Key}: {string.Join(", ", oct.Select(h => h.Objective))}");
        var start = ImageIO.ResizeToLongSide(img, 96);
        double change = r.Image.Data.Zip(start.Data, (a, b) => Math.Abs(a - b)).Average();
        Assert.InRange(change, 1, 60);
    }
}
