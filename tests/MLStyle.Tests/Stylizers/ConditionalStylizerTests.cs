using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Stylizers;

/// <summary>
/// The styliser of several styles (conditional instance normalisation, Dumoulin et al. 2017): its scale and bias tables, the
/// style-weights input with its default, and its equivalence with the one-style network.
/// </summary>
public class ConditionalStylizerTests
{
    static readonly StylizerShape Two = new(Width: 2, ResidualBlocks: 1, Styles: 2);

    static Dictionary<string, FloatTensor> Photo(long n, long h, long w) =>
        new() { [FastStylizer.InputName] = GradCheck.Tensor(11, new[] { n, 3, h, w }, 60f, 127f) };

    /// <summary>A two-style network whose tables hold random values (a fresh one has all scales 1 and biases 0).</summary>
    static ModelProto RandomTables(int seed)
    {
        var m = FastStylizer.Create(Two, seed: 3);
        int i = 0;
        foreach (var t in m.Graph.Initializer.Where(t => t.Name.Contains(".norm.scales") || t.Name.Contains(".norm.biases")))
        {
            var v = GradCheck.Random(seed + i++, TensorProtos.Count(t), 0.5f, t.Name.Contains("scales") ? 1f : 0f);
            t.FloatData.Clear();
            t.RawData = TensorProtos.FromFloats(t.Name, v, TensorProtos.Shape(t)).RawData;
        }
        return m;
    }

    /// <summary>The one-style network of the same seed with every instance norm's scale and bias set to <paramref name="w"/>ᵀ of the tables.</summary>
    static ModelProto OneStyleWith(ModelProto conditional, float[] w)
    {
        var one = FastStylizer.Create(Two with { Styles = 1 }, seed: 3);
        var tables = conditional.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var t in one.Graph.Initializer.Where(t => t.Name.EndsWith(".norm.scale") || t.Name.EndsWith(".norm.bias")))
        {
            var table = tables[(t.Name + "s").Replace("biass", "biases")];
            var rows = TensorProtos.ToFloats(table);
            int c = (int)TensorProtos.Count(t);
            var blended = new float[c];
            for (int k = 0; k < w.Length; k++)
                for (int j = 0; j < c; j++) blended[j] += w[k] * rows[k * c + j];
            t.FloatData.Clear();
            t.RawData = TensorProtos.FromFloats(t.Name, blended, TensorProtos.Shape(t)).RawData;
        }
        return one;
    }

    static FloatTensor Run(ModelProto m, float[]? weights)
    {
        using var s = new OnnxSession(m);
        var feeds = Photo(1, 12, 16);
        if (weights is not null) feeds[FastStylizer.StyleWeightsName] = new(weights, new long[] { weights.Length });
        return s.Run(feeds)[FastStylizer.OutputName];
    }

    [Fact]
    public void One_style_is_the_single_style_network_unchanged()
    {
        var shape = new StylizerShape(Width: 2, ResidualBlocks: 1);
        var one = FastStylizer.Create(shape with { Styles = 1 }, seed: 3);
        Assert.Equal(OnnxModels.ToBytes(FastStylizer.Create(shape, seed: 3)), OnnxModels.ToBytes(one));
        Assert.Single(one.Graph.Input);
        Assert.DoesNotContain(one.Graph.Node, n => n.OpType == "MatMul");
        Assert.Equal(1, FastStylizer.StyleCount(one));
        Assert.Equal(shape, FastStylizer.ShapeOf(one));
    }

    [Fact]
    public void The_style_weights_are_an_optional_second_input_whose_default_is_the_equal_blend()
    {
        var m = RandomTables(20);
        Assert.Equal(2, FastStylizer.StyleCount(m));
        Assert.Equal(Two, FastStylizer.ShapeOf(m));
        Assert.Equal(new[] { FastStylizer.InputName }, OnnxModels.RealInputs(m));
        Assert.Contains(m.Graph.Input, i => i.Name == FastStylizer.StyleWeightsName);
        // The conv weights are those of the one-style network of the same seed: the tables draw no random numbers.
        var convs = FastStylizer.Parameters(m).Where(p => p.Name.Contains("weight")).Select(TensorProtos.ToFloats).ToList();
        var oneConvs = FastStylizer.Parameters(FastStylizer.Create(Two with { Styles = 1 }, 3)).Where(p => p.Name.Contains("weight")).Select(TensorProtos.ToFloats).ToList();
        Assert.Equal(oneConvs, convs);
        // ONNX Runtime runs it with the image alone, as with the equal blend fed.
        GradCheck.AssertClose(Run(m, new[] { 0.5f, 0.5f }), Run(m, null), 1e-6, "default blend");
        Assert.NotEqual(Run(m, new[] { 1f, 0f }).Data, Run(m, new[] { 0f, 1f }).Data);
    }

    [Theory]
    [InlineData(1f, 0f)]
    [InlineData(0f, 1f)]
    [InlineData(0.3f, 0.7f)]
    public void Weights_give_the_network_with_the_blended_scales_and_biases(float w0, float w1)
    {
        var m = RandomTables(30);
        var w = new[] { w0, w1 };
        GradCheck.AssertClose(Run(OneStyleWith(m, w), null), Run(m, w), 1e-5, $"blend {w0},{w1}");
        // A default stored in the file acts as the same weights fed.
        GradCheck.AssertClose(Run(m, w), Run(FastStylizer.WithDefaultStyleWeights(m, new[] { 3 * w0, 3 * w1 }), null), 1e-6, "stored default");
    }

    [Fact]
    public void The_gradients_of_the_scale_and_bias_tables_match_finite_differences()
    {
        var model = FastStylizer.WithDefaultStyleWeights(RandomTables(40), new[] { 0.3f, 0.7f });
        var dims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
        dims[0].DimValue = 2; dims[2].DimValue = 12; dims[3].DimValue = 16;
        foreach (var n in model.Graph.Node) if (n.OpType == "Relu") n.OpType = "Tanh"; // as FastStylizerGradientTests: no kinks
        var parameters = FastStylizer.Parameters(model).Select(p => p.Name).ToList();
        var tables = parameters.Where(p => p.Contains(".norm.scales") || p.Contains(".norm.biases")).ToList();
        // 3 + 2 + 2 instance norms, a scale and a bias table each; the conv weights and the output bias as before.
        Assert.Equal(14, tables.Count);
        Assert.Equal(3 * 7 + 2, parameters.Count);
        Assert.DoesNotContain(FastStylizer.StyleWeightsName, parameters);
        // As in the one-style network, a residual block's second bias has an exactly zero gradient.
        var redundant = tables.Where(p => p.StartsWith("res") && p.Contains("conv2.norm.biases")).ToList();
        Assert.Single(redundant);
        GradCheck.Check(model, FastStylizer.OutputName, Photo(2, 12, 16), tables.Except(redundant).ToList(), h: 1e-3, tolerance: 3e-2, maxCoords: 6,
            kinks: false, floorFraction: 3e-2);
    }

    [Fact]
    public void Bad_style_weights_are_refused_with_a_clear_message()
    {
        Assert.Equal(new[] { 0.7f, 0.3f }, FastStylizer.NormalizeStyleWeights(new[] { 7f, 3f }, 2));
        foreach (var (w, message) in new (float[], string)[]
                 {
                     (new[] { 1f }, "give 2 style weights, not 1"), (new[] { 1f, 1f, 1f }, "give 2 style weights, not 3"),
                     (new[] { -1f, 2f }, "0 or more"), (new[] { 0f, 0f }, "at least one must be positive"), (new[] { float.NaN, 1f }, "finite"),
                 })
            Assert.Contains(message, Assert.Throws<MLStyleException>(() => FastStylizer.NormalizeStyleWeights(w, 2)).Message);
        Assert.Contains("holds one style", Assert.Throws<MLStyleException>(() => FastStylizer.NormalizeStyleWeights(new[] { 1f, 0f }, 1)).Message);
        // Through the session, before anything runs.
        using var s = new StylizerSession(RandomTables(1));
        Assert.Equal(2, s.Styles);
        Assert.Throws<MLStyleException>(() => s.Apply(TestImages.Synthetic(16, 16, 1), new[] { 1f, 2f, 3f }));
    }
}
