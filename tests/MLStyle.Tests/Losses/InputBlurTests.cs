using System.Text.Json.Nodes;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Losses;

/// <summary>The input blur of the style objective: the backbone sees the image through a binomial blur, against stride grids.</summary>
public class InputBlurTests
{
    static readonly long[] Shape = { 1, 3, 8, 10 };

    /// <summary>Y = Σ w ⊙ X² with X read through the blur (w fixed and uneven, so the gradient has structure).</summary>
    static ModelProto Blurred(int taps)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, Shape);
            var w = b.Constant(GradCheck.Random(3, 240), Shape);
            return b.ReduceSum(b.Mul(b.Square("X"), w), null, keepdims: false);
        });
        StyleLosses.BlurInput(m, "X", taps);
        return m;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Gradient_MatchesFiniteDifferences(int taps)
    {
        var m = Blurred(taps);
        Assert.Equal("Pad", m.Graph.Node[0].OpType);   // placed first: the graph stays in topological order
        GradCheck.Check(m, m.Graph.Output[0].Name, new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, Shape) }, new[] { "X" });
    }

    /// <summary>Σ (−1)^(x+y) g(x, y) / Σ |g|: the gradient's share along the full-image checkerboard (a period-2 grid).</summary>
    static double CheckerShare(ModelProto m)
    {
        var grad = Differentiator.Differentiate(m, m.Graph.Output[0].Name, new[] { "X" });
        using var s = new OnnxSession(grad);
        var outs = s.Run(new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(2, Shape), [m.Graph.Output[0].Name + "_seed"] = FloatTensor.Of(new[] { 1f }, Array.Empty<long>()) });
        var g = outs["X_grad"].Data;
        double checker = 0, total = 0;
        int h = (int)Shape[2], w = (int)Shape[3];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double v = g[(c * h + y) * w + x];
                    checker += ((x + y) % 2 == 0 ? 1 : -1) * v;
                    total += Math.Abs(v);
                }
        return Math.Abs(checker) / total;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Gradient_HasNoPeriodTwoComponent(int taps)
    {
        // The blur maps the checkerboard to zero (reflect padding keeps it a checkerboard at even sizes), so the loss cannot
        // change along it: the gradient is orthogonal to the period-2 grid. Without the blur it is not.
        Assert.True(CheckerShare(Blurred(taps)) < 1e-5, $"{CheckerShare(Blurred(taps))}");
        var plain = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, Shape);
            return b.ReduceSum(b.Mul(b.Square("X"), b.Constant(GradCheck.Random(3, 240), Shape)), null, keepdims: false);
        });
        Assert.True(CheckerShare(plain) > 1e-2, $"{CheckerShare(plain)}");
    }

    [Fact]
    public void Spec_ValidatesSerialisesAndKeys()
    {
        var resnet = BackboneFactory.ResNet18();
        Assert.Throws<MLStyleException>(() => StyleObjectiveSpec.FromDefaults(resnet, inputBlur: 4));
        var off = StyleObjectiveSpec.FromDefaults(resnet, inputBlur: 0);
        var five = StyleObjectiveSpec.FromDefaults(resnet, inputBlur: 5);
        Assert.Equal(5, five.WriteTo(new JsonObject())["input_blur"]!.GetValue<int>());
        Assert.NotEqual(off.Key, five.Key);
        Assert.Equal("Conv", five.Trunk(five.FeatureLayers()).Graph.Node[1].OpType);
        Assert.Equal(off.Trunk(off.FeatureLayers()).Graph.Node.Count + 2, five.Trunk(five.FeatureLayers()).Graph.Node.Count);
    }

    [Fact]
    public void Engine_TargetsGoThroughTheSameBlur_SoThePhotoKeepsContentLossZero()
    {
        var content = TestImages.Synthetic(48, 40, 1);
        var style = TestImages.Synthetic(48, 48, 2);
        var options = new StyleTransferOptions
        {
            Size = 48, Iterations = 4, Tolerance = 0, InputBlur = 5, TvWeight = 0,
            ContentLayers = new[] { new WeightedLayer("layer1.0", 1f) },
            StyleLayers = new[] { new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.0", 1f) },
        };
        var r = new StyleTransferEngine(BackboneFactory.ResNet18(), new SessionSettings { Threads = 1 }).Run(content, new[] { style }, options);
        Assert.Equal(0f, r.Initial.Content, 4);
        Assert.True(r.Final.Style < r.Initial.Style, $"style {r.Initial.Style} -> {r.Final.Style}");
    }
}
