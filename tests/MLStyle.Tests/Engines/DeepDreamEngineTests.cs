using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Tests.Imaging;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Engines;

public class DeepDreamEngineTests
{
    static readonly Backbone Net = TinyNet.Backbone();

    static DeepDreamOptions Small => new()
    {
        Layers = new[] { new WeightedLayer("r2", 1f) },
        Octaves = 2,
        IterationsPerOctave = 3,
        Jitter = 4,
    };

    [Fact]
    public void OctaveSizes_ShrinkByTheScale_SmallestSkipped()
    {
        var o = new DeepDreamOptions();
        Assert.Equal(new[] { (451, 300), (322, 214), (230, 153), (164, 109) }, o.OctaveSizes(451, 300));
        Assert.Equal(new[] { (100, 80), (50, 40) }, (o with { Octaves = 5, OctaveScale = 2 }).OctaveSizes(100, 80));
        Assert.Equal(new[] { (40, 40) }, o.OctaveSizes(40, 40)); // 40/1.4 = 29 < 32
        Assert.Equal(new[] { (451, 300) }, (o with { Octaves = 1 }).OctaveSizes(451, 300));
    }

    [Fact]
    public void Run_DreamsOctavesSmallestFirst_AndRaisesTheObjective()
    {
        var img = TinyNet.Picture(64, 48);
        var r = new DeepDreamEngine(Net).Run(img, Small with { Octaves = 3, IterationsPerOctave = 4 });
        Assert.Equal(new[] { (46, 34), (64, 48) }, r.OctaveSizes); // 33x24 is below the minimum side
        Assert.Equal(8, r.Steps);
        Assert.Equal(new[] { 1, 1, 1, 1, 2, 2, 2, 2 }, r.History.Select(h => h.Octave));
        Assert.Equal((64, 48), (r.Image.Width, r.Image.Height));
        foreach (var oct in r.History.GroupBy(h => h.Octave))
            Assert.True(oct.Last().Objective > oct.First().Objective, $"octave {oct.Key}: {string.Join(", ", oct.Select(h => h.Objective))}");
        Assert.All(r.Image.Data, v => Assert.InRange(v, 0f, 255f));
        Assert.True(r.PeakMemoryBytes > 0 && r.Elapsed > TimeSpan.Zero);
    }

    [Fact]
    public void NoIterations_GiveBackTheInput()
    {
        var img = TinyNet.Picture(64, 48);
        var r = new DeepDreamEngine(Net).Run(img, Small with { IterationsPerOctave = 0, Octaves = 2 });
        Assert.Equal(img.Data, r.Image.Data);
    }

    [Fact]
    public void Octaves_ReinjectTheUpsampledDetail()
    {
        var img = TinyNet.Picture(64, 48);
        var octaves = new List<DreamOctave>();
        var engine = new DeepDreamEngine(Net) { OctaveDone = o => octaves.Add(o with { Base = o.Base.Clone(), Start = o.Start.Clone(), Dreamed = o.Dreamed.Clone() }) };
        var r = engine.Run(img, Small);
        Assert.Equal(2, octaves.Count);
        var (small, big) = (octaves[0], octaves[1]);
        Assert.Equal((46, 34), (small.Base.Width, small.Base.Height));
        Assert.Equal(ImageIO.Resize(img, 46, 34).Data, small.Base.Data);
        Assert.Equal(small.Base.Data, small.Start.Data); // the smallest octave starts from its base
        Assert.Equal(img.Data, big.Base.Data);
        // detail = dreamed - base, upsampled, added to the larger base (then clipped to 0-255).
        var detail = small.Dreamed.Clone();
        System.Numerics.Tensors.TensorPrimitives.Subtract(detail.Data, small.Base.Data, detail.Data);
        var expected = ImageIO.ResizeUnclamped(detail, 64, 48);
        System.Numerics.Tensors.TensorPrimitives.Add(expected.Data, img.Data, expected.Data);
        expected.ClampInPlace();
        Assert.Equal(expected.Data, big.Start.Data);
        Assert.NotEqual(img.Data, big.Start.Data);
        Assert.Equal(r.Image.Data, big.Dreamed.Data);
    }

    [Fact]
    public void Jitter_IsDeterministicForASeed()
    {
        var img = TinyNet.Picture(64, 48);
        var engine = new DeepDreamEngine(Net);
        var a = engine.Run(img, Small with { Seed = 1 }).Image.Data;
        var b = engine.Run(img, Small with { Seed = 1 }).Image.Data;
        var c = engine.Run(img, Small with { Seed = 2 }).Image.Data;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        // Without jitter (and untiled) nothing is random.
        var d = engine.Run(img, Small with { Seed = 1, Jitter = 0 }).Image.Data;
        var e = engine.Run(img, Small with { Seed = 2, Jitter = 0 }).Image.Data;
        Assert.Equal(d, e);
    }

    [Fact]
    public void Tiled_RunIsDeterministic_AndDreams()
    {
        var img = TinyNet.Picture(80, 60);
        var engine = new DeepDreamEngine(Net);
        var o = Small with { Tile = 32, TileOverlap = 8, Seed = 4 };
        var a = engine.Run(img, o);
        var b = engine.Run(img, o);
        Assert.Equal(a.Image.Data, b.Image.Data);
        Assert.NotEqual(img.Data, a.Image.Data);
        foreach (var oct in a.History.GroupBy(h => h.Octave))
            Assert.True(oct.Last().Objective > oct.First().Objective);
    }

    [Fact]
    public void Guided_RaisesTheGuideMatch()
    {
        var img = TinyNet.Picture(48, 40);
        var guide = TinyNet.Picture(30, 30, seed: 21);
        var r = new DeepDreamEngine(Net).Run(img, Small with { Guide = guide, GuideSize = 0, Channels = new[] { 0, 1, 3 } });
        foreach (var oct in r.History.GroupBy(h => h.Octave))
            Assert.True(oct.Last().Objective > oct.First().Objective);
    }

    [Fact]
    public void Size_ResizesTheInputFirst()
    {
        var r = new DeepDreamEngine(Net).Run(TinyNet.Picture(90, 60), Small with { Size = 48, Octaves = 1, IterationsPerOctave = 1 });
        Assert.Equal((48, 32), (r.Image.Width, r.Image.Height));
    }

    [Fact]
    public void Frames_AreWrittenAtomically_EachTheDreamOfTheZoomedPrevious()
    {
        using var dir = new TempDir();
        var frames = Path.Combine(dir.Path, "frames");
        var img = TinyNet.Picture(48, 40);
        var r = new DeepDreamEngine(Net).Run(img, Small with { Frames = 3, Zoom = 0.1f, FramesDirectory = frames, Octaves = 1, IterationsPerOctave = 2 });
        Assert.Equal(new[] { "frame_0001.png", "frame_0002.png", "frame_0003.png" }, Directory.GetFiles(frames).Select(Path.GetFileName).Order());
        Assert.Equal(r.FramesWritten.Select(Path.GetFileName), new[] { "frame_0001.png", "frame_0002.png", "frame_0003.png" });
        Assert.Equal(6, r.Steps);
        Assert.Equal(new[] { 1, 1, 2, 2, 3, 3 }, r.History.Select(h => h.Frame));
        var last = ImageIO.Load(Path.Combine(frames, "frame_0003.png"));
        for (int i = 0; i < last.Data.Length; i++) Assert.Equal(Math.Round(r.Image.Data[i]), last.Data[i], 0.51);
        // Frame 2 starts from frame 1 zoomed: a dream of 2 small steps stays close to it.
        var f1 = ImageIO.Load(Path.Combine(frames, "frame_0001.png"));
        var f2 = ImageIO.Load(Path.Combine(frames, "frame_0002.png"));
        var zoomed = DeepDreamEngine.Zoom(f1, 0.1f);
        double dZoom = f2.Data.Zip(zoomed.Data, (a, b) => Math.Abs(a - b)).Average();
        double dPlain = f2.Data.Zip(f1.Data, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(dZoom < dPlain, $"frame 2 is closer to frame 1 ({dPlain:F2}) than to frame 1 zoomed ({dZoom:F2})");
    }

    [Fact]
    public void Zoom_CropsTheCentreAndScalesItBack()
    {
        var img = new ImageTensor(40, 20);
        for (int y = 0; y < 20; y++) for (int x = 0; x < 40; x++) { img[0, y, x] = x; img[1, y, x] = y; }
        Assert.Equal(img.Data, DeepDreamEngine.Zoom(img, 0).Data);
        var z = DeepDreamEngine.Zoom(img, 0.2f);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 40; x++)
            {
                Assert.Equal(x * 0.8 + 4, z[0, y, x], 1e-4);
                Assert.Equal(y * 0.8 + 2, z[1, y, x], 1e-4);
            }
    }

    public static TheoryData<string, DeepDreamOptions> BadOptions => new()
    {
        { "octaves", new DeepDreamOptions { Octaves = 0 } },
        { "octave scale", new DeepDreamOptions { OctaveScale = 1f } },
        { "iterations", new DeepDreamOptions { IterationsPerOctave = -1 } },
        { "step size", new DeepDreamOptions { StepSize = 0 } },
        { "step size", new DeepDreamOptions { StepSize = float.NaN } },
        { "jitter", new DeepDreamOptions { Jitter = -1 } },
        { "tile", new DeepDreamOptions { Tile = 8 } },
        { "tile overlap", new DeepDreamOptions { Tile = 64, TileOverlap = 40 } },
        { "frames", new DeepDreamOptions { Frames = -1 } },
        { "frames directory", new DeepDreamOptions { Frames = 2 } },
        { "zoom", new DeepDreamOptions { Zoom = 0.5f } },
        { "size", new DeepDreamOptions { Size = 4 } },
        { "guide size", new DeepDreamOptions { GuideSize = 3 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Validate_NamesTheBadOption(string name, DeepDreamOptions o)
    {
        var e = Assert.Throws<MLStyleException>(o.Validate);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Defaults_AreDocumented()
    {
        var o = new DeepDreamOptions();
        Assert.Equal((4, 1.4f, 10, 1.5f, 32, 0, 0.05f), (o.Octaves, o.OctaveScale, o.IterationsPerOctave, o.StepSize, o.Jitter, o.Tile, o.Zoom));
        o.Validate();
    }
}
