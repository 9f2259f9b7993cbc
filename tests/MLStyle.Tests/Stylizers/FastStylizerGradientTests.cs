using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Stylizers;

/// <summary>
/// Finite-difference checks of every weight gradient of the styliser: the 9×9 and stride-2 convolutions (weights and the output
/// bias), instance-norm scales and biases, through reflection padding, nearest upsampling, residual additions and the sigmoid.
/// </summary>
public class FastStylizerGradientTests
{
    static Dictionary<string, FloatTensor> Photo(long n, long h, long w) =>
        new() { [FastStylizer.InputName] = GradCheck.Tensor(11, new[] { n, 3, h, w }, 60f, 127f) };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_weight_gradient_matches_finite_differences(bool inputSkip)
    {
        var model = FastStylizer.Create(new StylizerShape(Width: 2, ResidualBlocks: 1, InputSkip: inputSkip), seed: 3);
        // Fixed input size so shape inference sees every tensor.
        var dims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
        dims[0].DimValue = 2; dims[2].DimValue = 12; dims[3].DimValue = 16;
        // Relu's own rule is checked elsewhere; here its kinks (thousands of them, moved by any first-layer weight) would spoil
        // the finite differences, so the smooth Tanh takes its place and every other operator stays.
        foreach (var n in model.Graph.Node) if (n.OpType == "Relu") n.OpType = "Tanh";
        var parameters = FastStylizer.Parameters(model).Select(p => p.Name).ToList();
        // 3 + 2 + 2 convolutions with instance norm (weight, scale, bias) and the output convolution (weight, bias).
        Assert.Equal(3 * 7 + 2, parameters.Count);
        Assert.Contains(parameters, p => p.StartsWith("conv1.weight"));
        Assert.Contains(parameters, p => p.StartsWith("conv_out.bias"));
        // The bias of a residual block's second normalisation reaches the loss only through convolutions followed by instance
        // norm, which remove per-channel constants: its gradient is exactly zero (finite differences only see float noise there).
        var redundant = parameters.Where(p => p.StartsWith("res") && p.Contains("conv2.norm.bias")).ToList();
        Assert.Single(redundant);
        var grads = GradCheck.RunGradient(MLStyle.Autodiff.Differentiator.Differentiate(model, FastStylizer.OutputName, parameters),
            FastStylizer.OutputName, Photo(2, 12, 16), GradCheck.Tensor(5, new long[] { 2, 3, 12, 16 }));
        float scale = parameters.Max(p => grads[p + "_grad"].Data.Max(MathF.Abs));
        Assert.All(grads[redundant[0] + "_grad"].Data, v => Assert.True(MathF.Abs(v) < 1e-5f * scale, $"{v} vs scale {scale}"));
        // Entries far below the tensor's largest are compared against 3 % of it: float32 differences of a 0–255 output through
        // instance norm and the sigmoid resolve no finer.
        GradCheck.Check(model, FastStylizer.OutputName, Photo(2, 12, 16), parameters.Except(redundant).ToList(), h: 1e-3, tolerance: 3e-2, maxCoords: 6,
            kinks: false, floorFraction: 3e-2);
    }

    [Fact]
    public void A_new_network_keeps_the_size_of_any_multiple_of_4_and_returns_values_on_the_0_255_scale()
    {
        var model = FastStylizer.Create(new StylizerShape(Width: 2, ResidualBlocks: 1), seed: 1);
        using var s = new OnnxSession(model);
        foreach (var (h, w) in new[] { (12, 16), (20, 8) })
        {
            var y = s.Run(Photo(1, h, w))[FastStylizer.OutputName];
            Assert.Equal(new long[] { 1, 3, h, w }, y.Shape);
            Assert.All(y.Data, v => Assert.InRange(v, 0f, 255f));
        }
        Assert.Equal(new StylizerShape(2, 1, true), FastStylizer.ShapeOf(model));
        Assert.Equal(new StylizerShape(2, 1, true, 0.8f), FastStylizer.ShapeOf(FastStylizer.Create(new StylizerShape(2, 1, true, 0.8f), 1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0.96f)]
    [InlineData(0.8f)]
    public void With_its_last_layer_zeroed_the_network_returns_the_photo_clipped_or_squeezed_into_the_skip_range(float? range)
    {
        var model = ZeroOutputLayer(FastStylizer.Create(new StylizerShape(Width: 2, ResidualBlocks: 1, SkipRange: range), seed: 1));
        // Black, white and everything between.
        var x = GradCheck.Tensor(4, new long[] { 1, 3, 8, 8 }, 127.5f, 127.5f);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] = Math.Clamp(x.Data[i], 0f, 255f);
        x.Data[0] = 0f; x.Data[1] = 255f;
        using var s = new OnnxSession(model);
        var y = s.Run(new Dictionary<string, FloatTensor> { [FastStylizer.InputName] = x })[FastStylizer.OutputName];
        for (int i = 0; i < x.Data.Length; i++)
            Assert.Equal(range is { } r ? 127.5f * (1 - r) + r * x.Data[i] : Math.Clamp(x.Data[i], 0.02f * 255, 0.98f * 255), y.Data[i], 0.05f);
    }

    /// <summary>Sets the weights and bias of the last convolution to zero (the input-skip network then returns the squeezed photo).</summary>
    internal static global::Onnx.ModelProto ZeroOutputLayer(global::Onnx.ModelProto model)
    {
        foreach (var t in model.Graph.Initializer.Where(t => t.Name.StartsWith("conv_out")))
        {
            var zero = TensorProtos.FromFloats(t.Name, new float[TensorProtos.Count(t)], TensorProtos.Shape(t));
            t.FloatData.Clear();
            t.RawData = zero.RawData;
        }
        return model;
    }

    [Fact]
    public void A_skip_range_outside_0_05_to_0_99_is_refused()
    {
        foreach (var bad in new[] { 0f, 1f, float.NaN, 0.01f })
            Assert.Contains("invalid skip range", Assert.Throws<MLStyleException>(() => new StylizerShape(SkipRange: bad).Validate()).Message);
    }

    [Fact]
    public void The_seed_decides_the_initial_weights()
    {
        var shape = new StylizerShape(Width: 2, ResidualBlocks: 1);
        float[] W(int seed) => FastStylizer.Parameters(FastStylizer.Create(shape, seed)).SelectMany(TensorProtos.ToFloats).ToArray();
        Assert.Equal(W(4), W(4));
        Assert.NotEqual(W(4), W(5));
    }
}
