using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Losses;

public class DreamObjectiveTests
{
    static readonly Backbone Net = TinyNet.Backbone();
    static readonly Backbone Smooth = TinyNet.Backbone(smooth: true);

    static DreamObjectiveSpec Spec(DreamReduction reduction = DreamReduction.Mean, int[]? channels = null, bool guided = false, params (string, float)[] layers) =>
        SpecOn(Net, reduction, channels, guided, layers);

    static DreamObjectiveSpec SpecOn(Backbone net, DreamReduction reduction = DreamReduction.Mean, int[]? channels = null, bool guided = false, params (string, float)[] layers) =>
        new(net, (layers.Length == 0 ? new[] { ("r2", 1f) } : layers).Select(l => new WeightedLayer(l.Item1, l.Item2)).ToList(), reduction, channels, guided);

    static FloatTensor Image(ImageTensor img) => new(img.Data, new long[] { 1, 3, img.Height, img.Width });

    static Dictionary<string, FloatTensor> Inputs(DreamObjectiveSpec spec, ImageTensor img, IReadOnlyList<FloatTensor>? guide = null, float[]? scale = null)
    {
        var d = new Dictionary<string, FloatTensor>
        {
            [Backbone.InputName] = Image(img),
            [DreamObjective.LayerScale] = new(scale ?? Enumerable.Repeat(1f, spec.Layers.Count).ToArray(), new long[] { spec.Layers.Count }),
        };
        if (guide is not null) for (int i = 0; i < guide.Count; i++) d[DreamObjective.GuideFeatures(i)] = guide[i];
        return d;
    }

    /// <summary>The raw features of a layer, [C, h, w], by running the trunk.</summary>
    static (float[] Data, int C, int H, int W) Features(ImageTensor img, string layer)
    {
        var l = Net.Layer(layer);
        var m = Net.TrunkFor(new[] { l });
        using var s = new OnnxSession(m);
        var f = s.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = Image(img) }, new[] { l.Tensor })[l.Tensor];
        return (f.Data, (int)f.Shape[1], (int)f.Shape[2], (int)f.Shape[3]);
    }

    static float Objective(DreamObjectiveSpec spec, ImageTensor img, IReadOnlyList<FloatTensor>? guide = null, float[]? scale = null)
    {
        var m = DreamObjective.BuildModel(spec, img.Width, img.Height, guide?.Select(g => g.Shape[1]).ToList(), withGradient: false);
        using var s = new OnnxSession(m);
        return s.Run(Inputs(spec, img, guide, scale), new[] { DreamObjective.Objective })[DreamObjective.Objective].Data[0];
    }

    [Fact]
    public void Mean_IsTheMeanActivation_WeightedAndScaledPerLayer()
    {
        var img = TinyNet.Picture(13, 11);
        var r2 = Features(img, "r2").Data;
        var r1 = Features(img, "r1").Data;
        Assert.Equal(r2.Average(), Objective(Spec(), img), 1e-4);
        var spec = Spec(layers: new[] { ("r2", 2f), ("r1", 0.5f) });
        double expected = 2 * r2.Average() * 0.25 + 0.5 * r1.Average() * 3;
        Assert.Equal(expected, Objective(spec, img, scale: new[] { 0.25f, 3f }), 1e-4);
    }

    [Fact]
    public void L2_IsTheMeanSquare()
    {
        var img = TinyNet.Picture(13, 11);
        var r2 = Features(img, "r2").Data;
        Assert.Equal(r2.Average(v => (double)v * v), Objective(Spec(DreamReduction.L2), img), 1e-3);
    }

    [Fact]
    public void Channels_SelectOnlyThoseChannelsOfEveryLayer()
    {
        var img = TinyNet.Picture(13, 11);
        var (f, c, h, w) = Features(img, "c2");
        int[] ch = { 4, 1 };
        double expected = ch.Average(k => f.Skip(k * h * w).Take(h * w).Average());
        Assert.Equal(expected, Objective(Spec(DreamReduction.Mean, ch, layers: ("c2", 1f)), img), 1e-4);
        double sq = ch.Average(k => f.Skip(k * h * w).Take(h * w).Average(v => (double)v * v));
        Assert.Equal(sq, Objective(Spec(DreamReduction.L2, ch, layers: ("c2", 1f)), img), 1e-3);
    }

    [Theory]
    [InlineData(6, "r1")]
    [InlineData(5, "r2")]
    [InlineData(-1, "r1")]
    public void Channels_OutOfRange_AreAClearError(int channel, string layer)
    {
        var spec = Spec(DreamReduction.Mean, new[] { 0, channel }, layers: new[] { ("r1", 1f), ("r2", 1f) });
        var e = Assert.Throws<MLStyleException>(spec.Validate);
        Assert.Contains($"channel {channel}", e.Message);
        Assert.Contains($"'{layer}'", e.Message);
    }

    [Fact]
    public void UnknownLayer_IsAModelErrorNamingIt()
    {
        var e = Assert.Throws<ModelException>(() => Spec(layers: ("nope", 1f)).Validate());
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public void Guided_IsTheMeanBestDotProductWithTheGuideFeatures()
    {
        var spec = Spec(channels: new[] { 0, 2, 3 }, guided: true, layers: ("r2", 1f));
        var guideImg = TinyNet.Picture(9, 7, seed: 11);
        var guide = DreamGradient.GuideFeatures(spec, guideImg);
        Assert.Equal(new long[] { 3, 63 }, guide[0].Shape);
        // The guide features are the selected channels of the layer, flattened.
        var (gf, _, gh, gw) = Features(guideImg, "r2");
        Assert.Equal(gf.Skip(2 * gh * gw).Take(gh * gw), guide[0].Data.Skip(gh * gw).Take(gh * gw));

        var img = TinyNet.Picture(13, 11);
        var (f, _, h, w) = Features(img, "r2");
        int[] ch = { 0, 2, 3 };
        double sum = 0;
        for (int p = 0; p < h * w; p++)
        {
            double best = double.NegativeInfinity;
            for (int q = 0; q < 63; q++)
            {
                double dot = 0;
                for (int k = 0; k < 3; k++) dot += f[ch[k] * h * w + p] * guide[0].Data[k * 63 + q];
                best = Math.Max(best, dot);
            }
            sum += best;
        }
        Assert.Equal(sum / (h * w), Objective(spec, img, guide), 1e-3 * Math.Abs(sum / (h * w)));
    }

    public static TheoryData<string> Objectives => new() { "mean", "l2", "channels", "guided", "two-layers" };

    /// <summary>
    /// The objective graphs, differentiated by MLStyle's Differentiator, against central finite differences (pixels 0–255, h = 1),
    /// on the tanh variant of the tiny net (a ReLU kink inside ±h would make the difference quotient meaningless).
    /// </summary>
    [Theory]
    [MemberData(nameof(Objectives))]
    public void Gradient_MatchesFiniteDifferences(string which)
    {
        var spec = which switch
        {
            "mean" => SpecOn(Smooth),
            "l2" => SpecOn(Smooth, DreamReduction.L2),
            "channels" => SpecOn(Smooth, DreamReduction.L2, new[] { 3, 0 }, layers: new[] { ("c2", 1f), ("r1", 0.5f) }),
            "guided" => SpecOn(Smooth, channels: new[] { 1, 2, 4 }, guided: true, layers: new[] { ("r2", 1f), ("c1", 0.3f) }),
            _ => SpecOn(Smooth, layers: new[] { ("r2", 1f), ("c1", 2f) }),
        };
        var img = TinyNet.Picture(9, 8);
        // Guide features: a few well-separated random vectors, so that ±h never flips which one matches best (the max's kink).
        var guide = spec.Guided
            ? Enumerable.Range(0, spec.Layers.Count).Select(i => FloatTensor.Of(GradCheck.Random(40 + i, 3 * 4, 2f), 3, 4)).ToList()
            : null;
        var model = DreamObjective.BuildModel(spec, img.Width, img.Height, guide?.Select(g => g.Shape[1]).ToList(), withGradient: false);
        var inputs = Inputs(spec, img, guide, Enumerable.Range(0, spec.Layers.Count).Select(i => 1f + i).ToArray());
        GradCheck.Check(model, DreamObjective.Objective, inputs, new[] { Backbone.InputName }, h: 1.0, tolerance: 2e-2, maxCoords: 60);

        // The engine's own gradient graph (AddGradients inside BuildModel) gives the same gradient as the checked one.
        var checkedGrad = MLStyle.Autodiff.Differentiator.Differentiate(model, DreamObjective.Objective, new[] { Backbone.InputName });
        using var s0 = new OnnxSession(checkedGrad);
        var seeded = new Dictionary<string, FloatTensor>(inputs) { [DreamObjective.Objective + "_seed"] = new(new[] { 1f }, Array.Empty<long>()) };
        var expected = s0.Run(seeded, new[] { Backbone.InputName + "_grad" })[Backbone.InputName + "_grad"].Data;
        using var s1 = new OnnxSession(DreamObjective.BuildModel(spec, img.Width, img.Height, guide?.Select(g => g.Shape[1]).ToList()));
        var actual = s1.Run(inputs, new[] { DreamObjective.ImageGrad })[DreamObjective.ImageGrad].Data;
        double scale = expected.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5 * scale);
    }
}
