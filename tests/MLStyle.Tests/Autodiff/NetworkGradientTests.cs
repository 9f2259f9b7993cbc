using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Autodiff;

/// <summary>Whole generated networks (weights as initializers, like exported models): input and weight gradients.</summary>
public class NetworkGradientTests
{
    sealed class Net
    {
        readonly GraphBuilder _b;
        int _seed = 100;
        public Net(GraphBuilder b) => _b = b;

        string Param(string name, float[] data, params long[] dims) => _b.Initializer(TensorProtos.FromFloats(name, data, dims), name);

        public string Conv(string x, string name, long cin, long cout, long k, long stride = 1, long pad = 0, bool bias = true)
        {
            float gain = (float)Math.Sqrt(2.0 / (cin * k * k));
            var w = Param(name + "_w", GradCheck.Random(_seed++, cout * cin * k * k, gain), cout, cin, k, k);
            var ins = bias ? new[] { x, w, Param(name + "_b", GradCheck.Random(_seed++, cout, 0.1f), cout) } : new[] { x, w };
            return _b.Node("Conv", ins, name, ("kernel_shape", new[] { k, k }), ("strides", new[] { stride, stride }), ("pads", new[] { pad, pad, pad, pad }));
        }

        public string BatchNorm(string x, string name, long c)
        {
            var scale = Param(name + "_scale", GradCheck.Random(_seed++, c, 0.2f, 1f), c);
            var bias = Param(name + "_bias", GradCheck.Random(_seed++, c, 0.1f), c);
            var mean = Param(name + "_mean", GradCheck.Random(_seed++, c, 0.1f), c);
            var variance = Param(name + "_var", GradCheck.Random(_seed++, c, 0.2f).Select(v => 0.8f + Math.Abs(v)).ToArray(), c);
            return _b.Node("BatchNormalization", new[] { x, scale, bias, mean, variance }, name);
        }

        public string InstanceNorm(string x, string name, long c) =>
            _b.Node("InstanceNormalization", new[] { x, Param(name + "_scale", GradCheck.Random(_seed++, c, 0.2f, 1f), c), Param(name + "_bias", GradCheck.Random(_seed++, c, 0.1f), c) }, name);

        public string Relu(string x) => _b.Relu(x);

        public string MaxPool(string x, long k, long s, long p) =>
            _b.Node("MaxPool", new[] { x }, "pool", ("kernel_shape", new[] { k, k }), ("strides", new[] { s, s }), ("pads", new[] { p, p, p, p }));

        public string Gemm(string x, string name, long inF, long outF)
        {
            var w = Param(name + "_w", GradCheck.Random(_seed++, outF * inF, (float)Math.Sqrt(1.0 / inF)), outF, inF);
            var bias = Param(name + "_b", GradCheck.Random(_seed++, outF, 0.1f), outF);
            return _b.Node("Gemm", new[] { x, w, bias }, "Y", ("transB", 1L));
        }

        public string ReflectPad(string x, long p) => _b.Pad(x, new long[] { 0, 0, p, p, 0, 0, p, p }, "reflect");
    }

    static ModelProto MiniVgg(long n, bool symbolic = false) => GradCheck.Build(b =>
    {
        var net = new Net(b);
        var x = AddImage(b, n, 13, 11, symbolic);
        x = net.Relu(net.Conv(x, "conv1_1", 3, 4, 3, pad: 1));
        x = net.Relu(net.Conv(x, "conv1_2", 4, 4, 3, pad: 1));
        x = net.MaxPool(x, 2, 2, 0);                                      // 6×5
        x = net.Relu(net.Conv(x, "conv2_1", 4, 6, 3, pad: 1));
        x = net.Relu(net.Conv(x, "conv2_2", 6, 6, 3, pad: 1));
        x = net.MaxPool(x, 2, 2, 0);                                      // 3×2
        x = b.Node("Flatten", new[] { x }, "flat", ("axis", 1L));
        return net.Gemm(x, "fc", 6 * 3 * 2, 5);
    });

    static ModelProto MiniResNet(long n, bool symbolic = false) => GradCheck.Build(b =>
    {
        var net = new Net(b);
        var x = AddImage(b, n, 15, 13, symbolic);
        x = net.Relu(net.BatchNorm(net.Conv(x, "conv1", 3, 4, 7, 2, 3, bias: false), "bn1", 4)); // 8×7
        x = net.MaxPool(x, 3, 2, 1);                                                              // 4×4
        // Basic block, identity shortcut.
        var y = net.Relu(net.BatchNorm(net.Conv(x, "l1a", 4, 4, 3, 1, 1, bias: false), "bn_l1a", 4));
        y = net.BatchNorm(net.Conv(y, "l1b", 4, 4, 3, 1, 1, bias: false), "bn_l1b", 4);
        x = net.Relu(b.Add(y, x));
        // Downsampling block, 1×1/2 projection shortcut with BN.
        y = net.Relu(net.BatchNorm(net.Conv(x, "l2a", 4, 6, 3, 2, 1, bias: false), "bn_l2a", 6));      // 2×2
        y = net.BatchNorm(net.Conv(y, "l2b", 6, 6, 3, 1, 1, bias: false), "bn_l2b", 6);
        var sc = net.BatchNorm(net.Conv(x, "l2down", 4, 6, 1, 2, 0, bias: false), "bn_l2down", 6);
        x = net.Relu(b.Add(y, sc));
        x = b.Node("GlobalAveragePool", new[] { x }, "gap");
        x = b.Node("Flatten", new[] { x }, "flat", ("axis", 1L));
        return net.Gemm(x, "fc", 6, 5);
    });

    static ModelProto Johnson(long n, bool symbolic = false) => GradCheck.Build(b =>
    {
        var net = new Net(b);
        var x = AddImage(b, n, 9, 11, symbolic);
        x = net.Relu(net.InstanceNorm(net.Conv(net.ReflectPad(x, 2), "c1", 3, 4, 5), "in1", 4));        // 9×11
        x = net.Relu(net.InstanceNorm(net.Conv(x, "c2", 4, 6, 3, 2, 1), "in2", 6));                      // 5×6
        var r = net.Relu(net.InstanceNorm(net.Conv(net.ReflectPad(x, 1), "r1a", 6, 6, 3), "in_r1a", 6));
        r = net.InstanceNorm(net.Conv(net.ReflectPad(r, 1), "r1b", 6, 6, 3), "in_r1b", 6);
        x = b.Add(x, r);
        x = b.Node("Resize", new[] { x, "", b.Constant(new[] { 1f, 1f, 2f, 2f }, new long[] { 4 }, "scales") }, "up",
            ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));  // 10×12
        x = net.Relu(net.InstanceNorm(net.Conv(net.ReflectPad(x, 1), "c3", 6, 4, 3), "in3", 4));
        x = net.Conv(net.ReflectPad(x, 2), "c4", 4, 3, 5);
        // Output in pixel range: tanh · 150 + 127.5.
        return b.Node("Add", new[] { b.Mul(b.Node("Tanh", new[] { x }, "tanh"), 150f), b.Scalar(127.5f) }, "Y");
    });

    /// <summary>The image input: [n, 3, h, w], or [N, 3, H, W] with symbolic N, H and W.</summary>
    static string AddImage(GraphBuilder b, long n, long h, long w, bool symbolic) => symbolic
        ? b.AddInput("X", ElementType.Float, new long[] { -1, 3, -1, -1 }, new[] { "N", "", "H", "W" })
        : b.AddInput("X", ElementType.Float, new[] { n, 3, h, w });

    static Dictionary<string, FloatTensor> Image(ModelProto m, int seed)
    {
        var dims = m.Graph.Input.Single(i => i.Name == "X").Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray();
        return new() { ["X"] = GradCheck.Tensor(seed, dims) };
    }

    public static IEnumerable<object[]> Cases() =>
        from net in new[] { "vgg", "resnet", "johnson" } from n in new[] { 1L, 2L } select new object[] { net, n };

    static ModelProto Make(string net, long n, bool symbolic = false) => net switch
    {
        "vgg" => MiniVgg(n, symbolic),
        "resnet" => MiniResNet(n, symbolic),
        _ => Johnson(n, symbolic),
    };

    static readonly Dictionary<string, string[]> Weights = new()
    {
        ["vgg"] = new[] { "conv1_1_w", "conv2_2_b", "fc_w" },
        ["resnet"] = new[] { "conv1_w", "bn_l1b_scale", "l2down_w", "fc_b" },
        ["johnson"] = new[] { "c1_w", "in_r1a_scale", "c4_b" },
    };

    // Steps of 1% of each tensor's RMS. Below ~1e-3 (relative) central differences drown in float32 rounding through several
    // layers; larger steps make Relu/MaxPool switches (kinks) more common, and the few coordinates that straddle one are
    // recognised by their disagreeing one-sided differences (see GradCheck). A per-channel scale moves a whole channel at
    // once, so many activations cross zero: it gets a much smaller step (differences converge from h ≈ 3e-4 down); so do the
    // first convolution's weights (every position of a channel) and the Johnson net's input (its Relus follow InstanceNorm).
    const double H = 1e-2;
    static readonly Dictionary<string, Dictionary<string, double>> Steps = new()
    {
        ["vgg"] = new() { ["conv1_1_w"] = 1e-3 },
        ["resnet"] = new() { ["bn_l1b_scale"] = 3e-4 },
        ["johnson"] = new() { ["X"] = 3e-3, ["in_r1a_scale"] = 3e-4 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InputGradient(string net, long n)
    {
        var m = Make(net, n);
        GradCheck.Check(m, "Y", Image(m, 1), new[] { "X" }, h: H, relativeStep: true, kinks: true, steps: Steps[net], maxCoords: 40);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InputAndWeightGradients(string net, long n)
    {
        var m = Make(net, n);
        GradCheck.Check(m, "Y", Image(m, 2), Weights[net].Prepend("X").ToArray(), h: H, relativeStep: true, kinks: true, steps: Steps[net], maxCoords: 25);
    }

    [Theory]
    [InlineData("vgg", 13L, 11L, 12L, 10L)]     // both sizes pool to 3×2, as the dense layer needs
    [InlineData("resnet", 15L, 13L, 16L, 11L)]
    [InlineData("johnson", 9L, 11L, 8L, 7L)]
    public void SymbolicInput_OneGradientModelForTwoSizes(string net, long h1, long w1, long h2, long w2)
    {
        // One gradient model for symbolic N, H, W must give, at each size, exactly the gradient of a model built for that
        // size (whose rules the finite-difference tests verify). Finite differences on these inputs themselves are not
        // usable: with ~1000 Relus a third of the pixels have a switch within 1e-3 (checked by sweeping the step).
        var m = Make(net, 1, symbolic: true);
        var grad = Differentiator.Differentiate(m, "Y", new[] { "X" });
        GradCheck.AssertStandardOnnx(grad);
        Assert.Equal(new[] { "N", "", "H", "W" }, grad.Graph.Input.Single(i => i.Name == "X").Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        foreach (var (n, h, w) in new[] { (1L, h1, w1), (2L, h2, w2) })
        {
            var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor((int)(h * w), new[] { n, 3, h, w }) };
            var fixedModel = Make(net, n);
            fixedModel.Graph.Input.Single(i => i.Name == "X").Type.TensorType.Shape.Dim[2].DimValue = h;
            fixedModel.Graph.Input.Single(i => i.Name == "X").Type.TensorType.Shape.Dim[3].DimValue = w;
            var fixedGrad = Differentiator.Differentiate(fixedModel, "Y", new[] { "X" });
            Assert.DoesNotContain(fixedGrad.Graph.Node, x => x.OpType == "Shape");
            long[] yShape;
            using (var fwd = new OnnxSession(fixedModel)) yShape = fwd.Run(inputs, new[] { "Y" })["Y"].Shape;
            var seed = GradCheck.Tensor(5, yShape);
            var a = GradCheck.RunGradient(grad, "Y", inputs, seed);
            var b = GradCheck.RunGradient(fixedGrad, "Y", inputs, seed);
            GradCheck.AssertClose(b["Y"], a["Y"], 1e-6, "Y");
            GradCheck.AssertClose(b["X_grad"], a["X_grad"], 1e-5, "X_grad");
        }
    }

    [Theory]
    [InlineData("resnet", 1L)]
    [InlineData("resnet", 2L)]
    public void FoldBatchNorm_SameInputGradient(string net, long n)
    {
        var m = Make(net, n);
        var inputs = Image(m, 3);
        var folded = Differentiator.Differentiate(m, "Y", new[] { "X" }, new DifferentiationOptions { FoldBatchNorm = true });
        var unfolded = Differentiator.Differentiate(m, "Y", new[] { "X" }, new DifferentiationOptions { FoldBatchNorm = false });
        Assert.DoesNotContain(folded.Graph.Node, x => x.OpType == "BatchNormalization");
        Assert.Equal(6, unfolded.Graph.Node.Count(x => x.OpType == "BatchNormalization"));
        Assert.True(folded.Graph.Node.Count < unfolded.Graph.Node.Count);

        var seed = GradCheck.Tensor(9, new[] { n, 5L });
        var gf = GradCheck.RunGradient(folded, "Y", inputs, seed);
        var gu = GradCheck.RunGradient(unfolded, "Y", inputs, seed);
        GradCheck.AssertClose(gu["Y"], gf["Y"], 1e-4, "Y");
        GradCheck.AssertClose(gu["X_grad"], gf["X_grad"], 1e-4, "X_grad");
        // Both agree with finite differences, too.
        GradCheck.Check(m, "Y", inputs, new[] { "X" }, h: H, relativeStep: true, kinks: true, steps: Steps[net], maxCoords: 20, options: new DifferentiationOptions { FoldBatchNorm = false });
    }

    [Fact]
    public void FoldBatchNorm_KeepsPairsWhoseParametersAreDifferentiated()
    {
        var m = MiniResNet(1);
        var g = Differentiator.Differentiate(m, "Y", new[] { "X", "bn_l1b_scale", "l2down_w" });
        // bn_l1b (its scale is wanted) and bn_l2down (its conv's weight is wanted) stay; the other four fold.
        Assert.Equal(2, g.Graph.Node.Count(x => x.OpType == "BatchNormalization"));
    }
}
