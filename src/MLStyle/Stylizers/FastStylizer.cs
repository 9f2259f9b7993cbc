using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Stylizers;

/// <summary>Shape of a <see cref="FastStylizer"/> network.</summary>
/// <param name="Width">Channels of the first layer; the downsampling layers have 2× and 4× as many (Johnson et al.: 32).</param>
/// <param name="ResidualBlocks">Residual blocks at the lowest resolution (Johnson et al.: 5).</param>
/// <param name="InputSkip">
/// Add the input photo (as a logit) to the last layer before its sigmoid, so an untrained network returns the photo itself:
/// training starts where Gatys' optimisation starts (from the content) instead of from grey, which cuts the iterations
/// needed on a CPU. Johnson et al.'s network has no such skip (false).
/// </param>
/// <param name="SkipRange">
/// With the input skip, null (the default): the photo p (0–1) enters the last layer as logit(p clipped to 2–98 %). A value r:
/// as logit(½ − r/2 + r·p), the photo's range squeezed into the middle r of 0–255, where the sigmoid keeps a useful slope (at
/// r = 0.8 the blown-out whites get painted, but blacks turn grey and the measured grid was worse; docs/fast-style.md).
/// </param>
/// <param name="Styles">
/// Styles the network holds (default 1). With S &gt; 1 every instance norm's scale and bias become tables <c>[S, C]</c> and the
/// network blends them with a second input, the style weights (conditional instance normalisation, Dumoulin et al. 2017,
/// "A Learned Representation for Artistic Style"): see <see cref="FastStylizer.StyleWeightsName"/>. S = 1 is the network
/// of one style, unchanged.
/// </param>
public sealed record StylizerShape(int Width = 16, int ResidualBlocks = 5, bool InputSkip = true, float? SkipRange = null, int Styles = 1)
{
    /// <summary>Checks the shape; a clear <see cref="MLStyleException"/> otherwise.</summary>
    public void Validate()
    {
        if (Width is < 2 or > 256) throw new MLStyleException($"invalid styliser width {Width}: must be between 2 and 256 channels");
        if (ResidualBlocks is < 0 or > 32) throw new MLStyleException($"invalid number of residual blocks {ResidualBlocks}: must be between 0 and 32");
        if (SkipRange is { } r && !(r >= 0.05f && r <= 0.99f)) throw new MLStyleException($"invalid skip range {SkipRange}: must be between 0.05 and 0.99");
        if (Styles is < 1 or > 64) throw new MLStyleException($"invalid number of styles {Styles}: must be between 1 and 64");
    }
}

/// <summary>
/// The feed-forward styliser of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer") with Ulyanov et al.'s
/// instance normalisation, as an ONNX graph: a 9×9 convolution, two stride-2 convolutions, residual blocks, two
/// nearest-neighbour upsampling + 3×3 convolution stages (Odena et al. 2016: no checkerboard) and a 9×9 convolution, all
/// with reflection padding. Input <see cref="InputName"/> and output <see cref="OutputName"/> are RGB <c>[N, 3, H, W]</c> on the
/// 0–255 scale with symbolic N, H, W (the interface of the ONNX model zoo's fast-neural-style models); H and W that are
/// multiples of 4 come back at the same size.
/// </summary>
/// <remarks>
/// A network of several styles (<see cref="StylizerShape.Styles"/> S &gt; 1) has a second input <see cref="StyleWeightsName"/>,
/// float <c>[S]</c>, which is also an initializer holding the equal blend 1/S: a consumer that feeds only the image (ONNX
/// Runtime, ML.NET's <c>ApplyOnnxModel</c>, <c>mlstyle apply</c> without <c>--style-weights</c>) gets the equal blend. Each
/// instance norm runs with the blended scale γ = wᵀΓ and bias β = wᵀB of its tables Γ, B <c>[S, C]</c>; a one-hot w gives
/// style k exactly, weights summing to 1 a convex blend (the network does not normalise them; <see cref="NormalizeStyleWeights"/>).
/// </remarks>
public static class FastStylizer
{
    /// <summary>The input tensor name (as the model zoo's stylisers).</summary>
    public const string InputName = "input1";

    /// <summary>The output tensor name (as the model zoo's stylisers).</summary>
    public const string OutputName = "output1";

    /// <summary>The style-weights input of a network of several styles: float <c>[S]</c>, also an initializer (the equal blend).</summary>
    public const string StyleWeightsName = "style_weights";

    /// <summary>Builds a styliser with weights initialised from <paramref name="seed"/> (PyTorch's default initialisation).</summary>
    public static ModelProto Create(StylizerShape shape, int seed)
    {
        shape.Validate();
        var b = GraphBuilder.Create("fast_stylizer");
        b.Model.ProducerName = "MLStyle";
        b.AddInput(InputName, ElementType.Float, new long[] { -1, 3, -1, -1 }, new[] { "N", "", "H", "W" });
        var rng = new Random(seed);
        int w = shape.Width;
        string? styleRow = null;
        if (shape.Styles > 1)
        {
            // Both an input and an initializer: feeding it is optional, and the default is the equal blend.
            b.AddInput(StyleWeightsName, ElementType.Float, new long[] { shape.Styles });
            b.Model.Graph.Initializer.Add(TensorProtos.FromFloats(StyleWeightsName, Enumerable.Repeat(1f / shape.Styles, shape.Styles).ToArray(), new long[] { shape.Styles }));
            styleRow = b.Reshape(StyleWeightsName, 1, shape.Styles);
        }
        var n = new Norms(styleRow, shape.Styles);
        var x = b.Mul(InputName, 1f / 255f);
        x = ConvNormRelu(b, rng, n, "conv1", x, 3, w, 9, 1);
        x = ConvNormRelu(b, rng, n, "conv2", x, w, 2 * w, 3, 2);
        x = ConvNormRelu(b, rng, n, "conv3", x, 2 * w, 4 * w, 3, 2);
        for (int i = 1; i <= shape.ResidualBlocks; i++)
        {
            var r = ConvNormRelu(b, rng, n, $"res{i}.conv1", x, 4 * w, 4 * w, 3, 1);
            r = ConvNorm(b, rng, n, $"res{i}.conv2", r, 4 * w, 4 * w, 3, 1);
            x = b.Add(x, r);
        }
        x = ConvNormRelu(b, rng, n, "up1", Upsample(b, x), 4 * w, 2 * w, 3, 1);
        x = ConvNormRelu(b, rng, n, "up2", Upsample(b, x), 2 * w, w, 3, 1);
        x = Conv(b, rng, "conv_out", x, w, 3, 9, 1, bias: true);
        if (shape.InputSkip)
        {
            var p = shape.SkipRange is { } r
                ? b.Add(b.Mul(b.Node("Clip", new[] { b.Mul(InputName, 1f / 255f), b.Scalar(0f), b.Scalar(1f) }), r), b.Scalar(0.5f - r / 2))
                : b.Node("Clip", new[] { b.Mul(InputName, 1f / 255f), b.Scalar(0.02f), b.Scalar(0.98f) });
            x = b.Add(x, b.Log(b.Div(p, b.Sub(b.Scalar(1f), p))));
        }
        // 0–255 through a sigmoid: bounded like the image, smooth for the gradient, and mid-grey at initialisation.
        var y = b.Mul(b.Node("Sigmoid", new[] { x }), 255f);
        b.Identity(y, OutputName);
        b.AddOutput(OutputName, new TensorInfo(ElementType.Float, new long[] { -1, 3, -1, -1 }));
        b.Model.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam = "N";
        b.Model.Graph.Output[0].Type.TensorType.Shape.Dim[2].DimParam = "H";
        b.Model.Graph.Output[0].Type.TensorType.Shape.Dim[3].DimParam = "W";
        Describe(b.Model, shape);
        return b.Model;
    }

    /// <summary>Writes the shape into the model's metadata (read back by <see cref="ShapeOf"/>).</summary>
    static void Describe(ModelProto m, StylizerShape shape)
    {
        m.MetadataProps.Add(new StringStringEntryProto { Key = "mlstyle.stylizer.width", Value = shape.Width.ToString() });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "mlstyle.stylizer.residual_blocks", Value = shape.ResidualBlocks.ToString() });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "mlstyle.stylizer.input_skip", Value = shape.InputSkip ? "1" : "0" });
        if (shape.Styles > 1)
            m.MetadataProps.Add(new StringStringEntryProto { Key = "mlstyle.stylizer.styles", Value = shape.Styles.ToString() });
        if (shape.SkipRange is { } r)
            m.MetadataProps.Add(new StringStringEntryProto { Key = "mlstyle.stylizer.skip_range", Value = r.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        m.DocString = $"Feed-forward styliser (Johnson et al. 2016, instance norm), width {shape.Width}, {shape.ResidualBlocks} residual blocks{(shape.InputSkip ? ", input skip" : "")}{(shape.Styles > 1 ? $", {shape.Styles} styles (conditional instance norm; optional input {StyleWeightsName} [{shape.Styles}], default the equal blend)" : "")}; input {InputName} and output {OutputName}: RGB [N,3,H,W], 0-255.";
    }

    /// <summary>The shape recorded in a model MLStyle built, or null for another model.</summary>
    public static StylizerShape? ShapeOf(ModelProto m)
    {
        string? Get(string k) => m.MetadataProps.FirstOrDefault(p => p.Key == k)?.Value;
        return int.TryParse(Get("mlstyle.stylizer.width"), out var w) && int.TryParse(Get("mlstyle.stylizer.residual_blocks"), out var r)
            ? new StylizerShape(w, r, Get("mlstyle.stylizer.input_skip") == "1",
                float.TryParse(Get("mlstyle.stylizer.skip_range"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var k) ? k : null,
                int.TryParse(Get("mlstyle.stylizer.styles"), out var s) ? s : 1)
            : null;
    }

    /// <summary>
    /// The number of styles of a styliser: the length of its <see cref="StyleWeightsName"/> input, or 1 for a network without
    /// one (any single-style file).
    /// </summary>
    public static int StyleCount(ModelProto m)
    {
        var input = m.Graph.Input.FirstOrDefault(i => i.Name == StyleWeightsName);
        if (input is null) return 1;
        var dims = GraphBuilder.FromValueInfo(input)?.Dims;
        return dims is { Length: 1 } && dims[0] > 0 ? (int)dims[0] : throw new ModelException($"the styliser's input '{StyleWeightsName}' is not a vector of known length");
    }

    /// <summary>
    /// Checks style blend weights against <paramref name="styles"/> and returns them normalised to sum 1: one per style,
    /// finite, non-negative, with a positive sum; a clear <see cref="MLStyleException"/> otherwise.
    /// </summary>
    public static float[] NormalizeStyleWeights(IReadOnlyList<float> weights, int styles)
    {
        if (weights.Count != styles)
            throw new MLStyleException(styles == 1
                ? $"the styliser holds one style; style weights ({weights.Count} given) need a styliser trained on several styles"
                : $"the styliser holds {styles} styles; give {styles} style weights, not {weights.Count}");
        if (weights.Any(v => !float.IsFinite(v) || v < 0)) throw new MLStyleException($"invalid style weights {string.Join(",", weights)}: each must be a finite number 0 or more");
        if (!weights.Any(v => v > 0)) throw new MLStyleException($"invalid style weights {string.Join(",", weights)}: at least one must be positive");
        return Losses.StyleTargets.BlendWeights(weights, styles);
    }

    /// <summary>
    /// A copy of a styliser of several styles whose default blend (the <see cref="StyleWeightsName"/> initializer) is
    /// <paramref name="weights"/>, normalised: for consumers that feed only the image.
    /// </summary>
    public static ModelProto WithDefaultStyleWeights(ModelProto m, IReadOnlyList<float> weights)
    {
        var w = NormalizeStyleWeights(weights, StyleCount(m));
        var copy = m.Clone();
        var init = copy.Graph.Initializer.FirstOrDefault(t => t.Name == StyleWeightsName)
                   ?? throw new ModelException($"the styliser has no default for '{StyleWeightsName}'");
        init.FloatData.Clear();
        init.RawData = TensorProtos.FromFloats(StyleWeightsName, w, new long[] { w.Length }).RawData;
        return copy;
    }

    /// <summary>
    /// The trainable parameters of a styliser: the float initializers that are Conv weights and biases, InstanceNormalization
    /// scales and biases, or (several styles) the scale and bias tables <c>[S, C]</c> the style weights multiply, in graph
    /// order (works for any fast-neural-style file).
    /// </summary>
    public static IReadOnlyList<TensorProto> Parameters(ModelProto m)
    {
        var byName = m.Graph.Initializer.Where(t => t.Name != StyleWeightsName).ToDictionary(t => t.Name);
        var seen = new HashSet<string>();
        var list = new List<TensorProto>();
        foreach (var n in m.Graph.Node)
        {
            if (n.OpType is not ("Conv" or "InstanceNormalization" or "MatMul")) continue;
            for (int i = 1; i < n.Input.Count; i++)
                if (byName.TryGetValue(n.Input[i], out var t) && t.DataType == ElementType.Float && seen.Add(t.Name)) list.Add(t);
        }
        return list;
    }

    /// <summary>Number of trainable values.</summary>
    public static long ParameterCount(ModelProto m) => Parameters(m).Sum(TensorProtos.Count);

    /// <summary>Reflection padding by <c>k / 2</c> on each side, then a convolution (no bias when a normalisation follows).</summary>
    static string Conv(GraphBuilder b, Random rng, string name, string x, int cin, int cout, int k, int stride, bool bias)
    {
        long p = k / 2;
        var padded = p == 0 ? x : b.Pad(x, new long[] { 0, 0, p, p, 0, 0, p, p }, "reflect");
        // PyTorch's default (Kaiming uniform with a = √5): U(−1/√fan_in, 1/√fan_in) for weights and biases.
        float bound = 1f / MathF.Sqrt(cin * k * k);
        var wt = b.Constant(Uniform(rng, cout * cin * k * k, bound), new long[] { cout, cin, k, k }, name + ".weight");
        var inputs = new List<string> { padded, wt };
        if (bias) inputs.Add(b.Constant(Uniform(rng, cout, bound), new long[] { cout }, name + ".bias"));
        return b.Node("Conv", inputs, name, ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { 0, 0, 0, 0 }));
    }

    /// <summary>How the instance norms get their scale and bias: constants (one style) or blended from tables (several).</summary>
    /// <param name="StyleRow">The style weights as a row <c>[1, S]</c>, or null for one style.</param>
    /// <param name="Styles">S.</param>
    sealed record Norms(string? StyleRow, int Styles);

    static string ConvNorm(GraphBuilder b, Random rng, Norms norms, string name, string x, int cin, int cout, int k, int stride)
    {
        var c = Conv(b, rng, name, x, cin, cout, k, stride, bias: false);
        string scale, shift;
        if (norms.StyleRow is { } row)
        {
            // γ = wᵀΓ and β = wᵀB: [1, S] · [S, C] → [1, C] → [C], the scale and bias of this instance norm.
            var scales = b.Constant(Enumerable.Repeat(1f, norms.Styles * cout).ToArray(), new long[] { norms.Styles, cout }, name + ".norm.scales");
            var shifts = b.Constant(new float[norms.Styles * cout], new long[] { norms.Styles, cout }, name + ".norm.biases");
            scale = b.Reshape(b.MatMul(row, scales), cout);
            shift = b.Reshape(b.MatMul(row, shifts), cout);
        }
        else
        {
            scale = b.Constant(Enumerable.Repeat(1f, cout).ToArray(), new long[] { cout }, name + ".norm.scale");
            shift = b.Constant(new float[cout], new long[] { cout }, name + ".norm.bias");
        }
        return b.Node("InstanceNormalization", new[] { c, scale, shift }, name + ".norm", ("epsilon", 1e-5f));
    }

    static string ConvNormRelu(GraphBuilder b, Random rng, Norms norms, string name, string x, int cin, int cout, int k, int stride) =>
        b.Relu(ConvNorm(b, rng, norms, name, x, cin, cout, k, stride));

    static string Upsample(GraphBuilder b, string x) =>
        b.Node("Resize", new[] { x, "", b.Constant(new[] { 1f, 1f, 2f, 2f }, new long[] { 4 }, "upsample_scales") }, "upsample",
            ("mode", "nearest"), ("nearest_mode", "floor"), ("coordinate_transformation_mode", "asymmetric"));

    static float[] Uniform(Random rng, int n, float bound)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
        return a;
    }
}
