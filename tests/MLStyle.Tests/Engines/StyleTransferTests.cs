using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Engines;

/// <summary>The style-transfer engine on the embedded ResNet18, cut early and at tiny sizes so each run takes about a second.</summary>
public class StyleTransferTests
{
    static readonly Backbone ResNet = BackboneFactory.ResNet18();
    static readonly ImageTensor Content = TestImages.Synthetic(56, 40, 1);
    static readonly ImageTensor StyleA = TestImages.Synthetic(48, 48, 2);
    static readonly ImageTensor StyleB = TestImages.Synthetic(40, 48, 3);

    static StyleTransferOptions Small(int iterations = 6) => new()
    {
        Size = 48,
        Iterations = iterations,
        ContentLayers = new[] { new WeightedLayer("layer1.0", 1f) },
        StyleLayers = new[] { new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.0", 1f) },
        Tolerance = 0,
    };

    static StyleTransferResult Run(StyleTransferOptions o, params ImageTensor[] styles) =>
        new StyleTransferEngine(ResNet, new SessionSettings { Threads = 1 }).Run(Content, styles.Length == 0 ? new[] { StyleA } : styles, o);

    [Fact]
    public void Lbfgs_ReducesStyleLoss_AndKeepsAspect()
    {
        var r = Run(Small(8));
        Assert.Equal(48, r.Image.Width);
        Assert.Equal(34, r.Image.Height); // 56x40 scaled to a long side of 48
        Assert.True(r.Final.Style < r.Initial.Style * 0.5, $"style loss {r.Initial.Style} -> {r.Final.Style}");
        Assert.Equal(8, r.History.Count);
        Assert.All(r.Image.Data, v => Assert.InRange(v, 0f, 255f));
    }

    [Fact]
    public void LbfgsWithStrongWolfeLineSearch_ReducesLoss()
    {
        var r = Run(Small(4) with { LineSearch = MLStyle.Optimization.LineSearch.StrongWolfe });
        Assert.True(r.Final.Loss < r.Initial.Loss * 0.5, $"{r.Initial.Loss} -> {r.Final.Loss}");
    }

    [Fact]
    public void Adam_ReducesLoss()
    {
        var r = Run(Small(8) with { Optimizer = "adam", LearningRate = 4f });
        Assert.True(r.Final.Loss < r.Initial.Loss, $"{r.Initial.Loss} -> {r.Final.Loss}");
    }

    [Fact]
    public void SameSeed_SameOutput_DifferentSeed_DifferentOutput()
    {
        var o = Small(3) with { Init = "random", Seed = 5 };
        var a = Run(o); var b = Run(o); var c = Run(o with { Seed = 6 });
        Assert.Equal(a.Image.Data, b.Image.Data);
        Assert.NotEqual(a.Image.Data, c.Image.Data);
    }

    [Fact]
    public void ZeroIterations_FromContent_ReturnsTheScaledContent()
    {
        var r = Run(Small(0));
        var expected = ImageIO.Resize(Content, 48, 34);
        Assert.Equal(expected.Data, r.Image.Data);
    }

    [Fact]
    public void InitFromImagePath_StartsThere()
    {
        using var dir = new TestImages.TempDir();
        var init = TestImages.Synthetic(20, 20, 9);
        var path = dir.File("init.png");
        ImageIO.Save(init, path);
        var r = Run(Small(0) with { Init = path });
        var expected = ImageIO.Resize(ImageIO.Load(path), 48, 34);
        Assert.Equal(expected.Data, r.Image.Data);
    }

    [Fact]
    public void StyleBlend_OneZero_EqualsTheFirstStyleAlone()
    {
        var single = Run(Small(3), StyleA);
        var blended = Run(Small(3) with { StyleBlend = new[] { 1f, 0f } }, StyleA, StyleB);
        var other = Run(Small(3) with { StyleBlend = new[] { 0.3f, 0.7f } }, StyleA, StyleB);
        Assert.Equal(single.Image.Data, blended.Image.Data);
        Assert.NotEqual(single.Image.Data, other.Image.Data);
    }

    [Fact]
    public void StyleBlend_WrongCount_IsAClearError()
    {
        var e = Assert.Throws<MLStyleException>(() => Run(Small(1) with { StyleBlend = new[] { 1f } }, StyleA, StyleB));
        Assert.Contains("the style blend has 1 weights for 2 style images", e.Message);
    }

    [Fact]
    public void StyleScale_ChangesTheTargets()
    {
        var a = Run(Small(2));
        var b = Run(Small(2) with { StyleScale = 0.5f });
        Assert.NotEqual(a.Initial.Style, b.Initial.Style);
        Assert.Throws<MLStyleException>(() => Run(Small(1) with { StyleScale = 0f }));
    }

    [Fact]
    public void TvWeight_SmoothsTheResult()
    {
        var rough = Run(Small(8) with { TvWeight = 0f, ContentWeight = 0f, StyleWeight = 1f, Init = "random" });
        var smooth = Run(Small(8) with { TvWeight = 1e3f, ContentWeight = 0f, StyleWeight = 1f, Init = "random" });
        Assert.True(TotalVariation(smooth.Image) < TotalVariation(rough.Image) * 0.8,
            $"tv {TotalVariation(rough.Image)} vs {TotalVariation(smooth.Image)}");
    }

    [Fact]
    public void ContentWeight_KeepsTheResultCloserToTheContent()
    {
        var loose = Run(Small(8) with { ContentWeight = 0f });
        var tight = Run(Small(8) with { ContentWeight = 1e4f });
        var target = ImageIO.Resize(Content, 48, 34);
        Assert.True(Distance(tight.Image, target) < Distance(loose.Image, target));
    }

    [Fact]
    public void StyleWeight_Zero_LeavesTheContentNearlyUnchanged()
    {
        var r = Run(Small(4) with { StyleWeight = 0f, TvWeight = 0f });
        Assert.Equal(0f, r.Final.Style);
        Assert.True(Distance(r.Image, ImageIO.Resize(Content, 48, 34)) < 2.0);
    }

    [Fact]
    public void PreserveColors_KeepsTheContentChroma()
    {
        var r = Run(Small(6) with { PreserveColors = true });
        var target = ImageIO.Resize(Content, 48, 34);
        var (_, i1, q1) = ColorTransfer.RgbToYiq(r.Image);
        var (_, i2, q2) = ColorTransfer.RgbToYiq(target);
        double err = 0;
        for (int k = 0; k < i1.Length; k++) err += Math.Abs(i1[k] - i2[k]) + Math.Abs(q1[k] - q2[k]);
        Assert.True(err / i1.Length < 3.0, $"mean chroma error {err / i1.Length}");
    }

    [Fact]
    public void Scales_RunCoarseToFine()
    {
        var r = Run(Small(3) with { Scales = new[] { 32, 48 } });
        Assert.Equal(48, r.Image.Width);
        Assert.Equal(new[] { 0, 1 }, r.History.Select(h => h.Stage).Distinct().ToArray());
        Assert.Equal(6, r.Iterations);
    }

    [Fact]
    public void LayersWithWeights_AreUsed_AndUnknownLayersAreErrors()
    {
        var a = Run(Small(2) with { StyleLayers = WeightedLayer.ParseList("conv1:1,layer1.0:0") });
        var b = Run(Small(2) with { StyleLayers = WeightedLayer.ParseList("conv1") });
        Assert.Equal(a.Initial.Style, b.Initial.Style, 3);
        var e = Assert.Throws<ModelException>(() => Run(Small(1) with { StyleLayers = WeightedLayer.ParseList("layer9.9") }));
        Assert.Contains("no layer 'layer9.9'", e.Message);
    }

    [Fact]
    public void Tolerance_StopsEarly()
    {
        var r = Run(Small(50) with { Tolerance = 0.5 });
        Assert.True(r.Iterations < 50);
        Assert.Contains("converged", r.StopReason);
    }

    [Fact]
    public void Snapshots_AreTakenEveryNIterations()
    {
        var seen = new List<int>();
        var engine = new StyleTransferEngine(ResNet, new SessionSettings { Threads = 1 }) { SnapshotEvery = 2, Snapshot = (i, img) => seen.Add(i) };
        engine.Run(Content, new[] { StyleA }, Small(5));
        Assert.Equal(new[] { 2, 4 }, seen);
    }

    [Fact]
    public void Progress_ReportsEveryIteration_WithEta()
    {
        var reports = new List<StyleProgress>();
        new StyleTransferEngine(ResNet).Run(Content, new[] { StyleA }, Small(3), new SyncProgress(reports.Add));
        Assert.Equal(new[] { 1, 2, 3 }, reports.Select(p => p.Iteration).ToArray());
        Assert.NotNull(reports[0].Eta);
    }

    [Fact]
    public void Cancellation_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new StyleTransferEngine(ResNet).Run(Content, new[] { StyleA }, Small(3), null, cts.Token));
    }

    [Theory]
    [InlineData(0, "invalid size")]
    [InlineData(-3, "invalid size")]
    public void InvalidOptions_AreClearErrors(int size, string message)
    {
        var e = Assert.Throws<MLStyleException>(() => Run(Small(1) with { Size = size }));
        Assert.Contains(message, e.Message);
        Assert.Contains("unknown optimizer", Assert.Throws<MLStyleException>(() => Run(Small(1) with { Optimizer = "sgd" })).Message);
        Assert.Contains("iterations", Assert.Throws<MLStyleException>(() => Run(Small(-1))).Message);
    }

    [Fact]
    public void CudaRequest_FallsBackToCpu_WithOneWarning()
    {
        var warnings = new List<string>();
        void OnWarning(string w) => warnings.Add(w);
        SessionFactory.Warning += OnWarning;
        try
        {
            var device = SessionFactory.Resolve(new ExecutionDevice(true, 0));
            var r = new StyleTransferEngine(ResNet, new SessionSettings { Device = new ExecutionDevice(true, 0) }).Run(Content, new[] { StyleA }, Small(1));
            Assert.Equal(48, r.Image.Width);
            if (SessionFactory.ProbeCuda(0) is null) Assert.True(device.IsCuda);
            else Assert.False(device.IsCuda);
        }
        finally { SessionFactory.Warning -= OnWarning; }
    }

    static double TotalVariation(ImageTensor img)
    {
        double s = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < img.Height; y++)
                for (int x = 0; x + 1 < img.Width; x++)
                    s += Math.Abs(img[c, y, x + 1] - img[c, y, x]) + (y + 1 < img.Height ? Math.Abs(img[c, y + 1, x] - img[c, y, x]) : 0);
        return s / img.Data.Length;
    }

    static double Distance(ImageTensor a, ImageTensor b) => a.Data.Zip(b.Data, (x, y) => Math.Abs(x - y)).Average();

    sealed class SyncProgress(Action<StyleProgress> a) : IProgress<StyleProgress>
    {
        public void Report(StyleProgress value) => a(value);
    }
}
