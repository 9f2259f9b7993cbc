using Google.Protobuf;
using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Autodiff;

/// <summary>The Differentiate contract: inputs/outputs, errors, operators off the path, zero gradients, standard ONNX only.</summary>
public class DifferentiatorContractTests
{
    static readonly long[] X4 = { 2, 3, 5, 7 };

    static NodeProto Named(string op, string name, string[] inputs, string[] outputs, params (string, object)[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs); n.Output.AddRange(outputs);
        foreach (var (k, v) in attrs) n.Attribute.Add(Attributes.Make(k, v));
        return n;
    }

    [Fact]
    public void GradientModel_HasInputsSeedAndGradOutputs()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            b.AddInput("S", ElementType.Float, new long[] { 3, 1, 1 });
            return b.Node("Mul", new[] { b.Relu("X"), "S" }, "Y");
        });
        var before = m.ToByteArray();
        var g = Differentiator.Differentiate(m, "Y", new[] { "X", "S" });
        Assert.Equal(before, m.ToByteArray()); // the input model is not modified
        Assert.Equal(new[] { "X", "S", "Y_seed" }, g.Graph.Input.Select(i => i.Name));
        Assert.Equal(X4, g.Graph.Input.Single(i => i.Name == "Y_seed").Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal(new[] { "Y", "X_grad", "S_grad" }, g.Graph.Output.Select(o => o.Name));
        Assert.Equal(new long[] { 3, 1, 1 }, g.Graph.Output.Single(o => o.Name == "S_grad").Type.TensorType.Shape.Dim.Select(d => d.DimValue));

        // d(sum(Y ⊙ seed))/dS with a seed of ones is the per-channel sum of Relu(X).
        var x = GradCheck.Tensor(1, X4);
        var outs = GradCheck.RunGradient(g, "Y", new Dictionary<string, FloatTensor> { ["X"] = x, ["S"] = GradCheck.Tensor(2, new long[] { 3, 1, 1 }) },
            FloatTensor.Of(Enumerable.Repeat(1f, 210).ToArray(), X4));
        for (int c = 0; c < 3; c++)
        {
            double expected = 0;
            for (int n = 0; n < 2; n++) for (int i = 0; i < 35; i++) expected += Math.Max(0, x.Data[(n * 3 + c) * 35 + i]);
            Assert.Equal(expected, outs["S_grad"].Data[c], 3);
        }
    }

    [Fact]
    public void Differentiate_DoesNotModifyAModelWithMaxPool()
    {
        // The MaxPool rule asks the forward node for its indices: on the copy only.
        var m = GradCheck.OneNode("MaxPool", new[] { ("X", X4) }, ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        var before = m.ToByteArray();
        Differentiator.Differentiate(m, "Y", new[] { "X" });
        Assert.Equal(before, m.ToByteArray());
    }

    [Theory]
    [InlineData("Floor")]
    [InlineData("TopK")]
    public void UnsupportedOperatorOnThePath_NamesOperatorAndNode(string op)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 2, 7 });
            string t;
            if (op == "TopK")
            {
                b.AddNode(Named("TopK", "pick_top3", new[] { "X", b.Ints(3) }, new[] { "top_values", "top_indices" }));
                t = "top_values";
            }
            else
            {
                b.AddNode(Named("Floor", "round_down", new[] { "X" }, new[] { "floored" }));
                t = "floored";
            }
            return b.Node("Mul", new[] { b.Relu(t), b.Scalar(2f) }, "Y");
        });
        var e = Assert.Throws<ModelException>(() => Differentiator.Differentiate(m, "Y", new[] { "X" }));
        Assert.Contains(op, e.Message);
        Assert.Contains(op == "TopK" ? "pick_top3" : "round_down", e.Message);
    }

    [Fact]
    public void UnknownTensorNames_AreModelErrors()
    {
        var m = GradCheck.OneNode("Relu", new[] { ("X", X4) });
        var e1 = Assert.Throws<ModelException>(() => Differentiator.Differentiate(m, "nope", new[] { "X" }));
        Assert.Contains("nope", e1.Message);
        var e2 = Assert.Throws<ModelException>(() => Differentiator.Differentiate(m, "Y", new[] { "X", "missing_w" }));
        Assert.Contains("missing_w", e2.Message);
    }

    [Fact]
    public void OperatorsOffThePath_GetNoGradientNodes()
    {
        // Floor on a branch that does not depend on X, TopK on a branch that depends on X but does not reach Y.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 2, 7 });
            b.AddInput("C", ElementType.Float, new long[] { 2, 7 });
            b.AddNode(Named("Floor", "floor_c", new[] { "C" }, new[] { "floor_out" }));
            b.AddNode(Named("TopK", "topk_x", new[] { "X", b.Ints(3) }, new[] { "topk_values", "topk_indices" }));
            b.AddOutput("topk_values");
            return b.Node("Add", new[] { b.Node("Tanh", new[] { "X" }, "tanh_x"), "floor_out" }, "Y");
        });
        var g = Differentiator.Differentiate(m, "Y", new[] { "X" });
        GradCheck.AssertStandardOnnx(g);
        var forward = m.Graph.Node.Select(n => n.Name).ToHashSet();
        var added = g.Graph.Node.Where(n => !forward.Contains(n.Name)).ToList();
        Assert.NotEmpty(added);
        Assert.Equal(1, g.Graph.Node.Count(n => n.OpType == "Floor"));
        Assert.Equal(1, g.Graph.Node.Count(n => n.OpType == "TopK"));
        var offPath = new[] { "C", "floor_out", "topk_values", "topk_indices" };
        Assert.DoesNotContain(added, n => n.Input.Any(offPath.Contains));
        // Tanh's gradient only: dY/dX = seed·(1 − tanh²); Add passes it through unchanged.
        Assert.Equal(new[] { "Identity", "Mul", "Mul", "Sub" }, added.Select(n => n.OpType).OrderBy(s => s, StringComparer.Ordinal));

        var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, new long[] { 2, 7 }), ["C"] = GradCheck.Tensor(2, new long[] { 2, 7 }, 3f) };
        GradCheck.CheckWith(m, g, "Y", new[] { inputs }, new[] { "X" });
    }

    [Fact]
    public void GradientOfATensorThatYDoesNotDependOn_IsZeros()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            b.AddInput("Z", ElementType.Float, new long[] { 4, 1, 6 });
            b.AddOutput(b.Node("Sigmoid", new[] { "Z" }, "side"));   // Z feeds another output only
            return b.Node("Tanh", new[] { "X" }, "Y");
        });
        var g = Differentiator.Differentiate(m, "Y", new[] { "X", "Z" });
        GradCheck.AssertStandardOnnx(g);
        var outs = GradCheck.RunGradient(g, "Y", new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor(1, X4), ["Z"] = GradCheck.Tensor(2, new long[] { 4, 1, 6 }),
        }, GradCheck.Tensor(3, X4));
        Assert.Equal(new long[] { 4, 1, 6 }, outs["Z_grad"].Shape);
        Assert.All(outs["Z_grad"].Data, v => Assert.Equal(0f, v));
        Assert.Equal(X4, outs["X_grad"].Shape);
        Assert.Contains(outs["X_grad"].Data, v => v != 0f);
    }

    /// <summary>One model touching every operator that has a rule.</summary>
    internal static ModelProto AllOpsModel() => GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 3, 9, 11 });
            var w = b.Constant(GradCheck.Random(1, 4 * 3 * 9, 0.3f), new long[] { 4, 3, 3, 3 }, "w");
            var c = b.Node("Conv", new[] { "X", w }, "conv", ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
            var c4 = new long[] { 4 };
            var bn = b.Node("BatchNormalization", new[] { c, b.Constant(new[] { 1f, 2f, 0.5f, 1f }, c4), b.Constant(new float[4], c4), b.Constant(new float[4], c4), b.Constant(new[] { 1f, 1f, 1f, 1f }, c4) }, "bn");
            var inn = b.Node("InstanceNormalization", new[] { bn, b.Constant(new[] { 1f, 1f, 1f, 1f }, c4), b.Constant(new float[4], c4) }, "in");
            var a = b.Node("LeakyRelu", new[] { b.Node("Sigmoid", new[] { b.Relu(inn) }) });
            var mp = b.Node("MaxPool", new[] { a }, "mp", ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
            var ap = b.Node("AveragePool", new[] { a }, "ap", ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("ceil_mode", 1L));
            var s = b.Node("Sum", new[] { mp, b.Node("Slice", new[] { ap, b.Ints(0), b.Ints(3), b.Ints(3) }), mp });
            var up = b.Node("Resize", new[] { b.Sub(s, b.Scalar(2f)), "", b.Constant(new[] { 1f, 1f, 2f, 2f }, c4, "scales") }, "up", ("mode", "nearest"), ("nearest_mode", "floor"), ("coordinate_transformation_mode", "asymmetric"));
            var p = b.Pad(b.Pad(b.Pad(up, new long[] { 0, 0, 1, 1, 0, 0, 1, 1 }, "reflect"), new long[] { 0, 0, 1, 0, 0, 0, 0, 1 }, "edge"), new long[] { 0, 0, 1, 1, 0, 0, 0, 0 });
            var e = b.Node("Clip", new[] { b.Node("Pow", new[] { b.Exp(b.Neg(b.Node("Tanh", new[] { p }))), b.Scalar(2f) }), b.Scalar(0f), b.Scalar(5f) });
            var l = b.Log(b.Sqrt(b.Add(e, b.Scalar(1f))));
            var gap = b.Node("Flatten", new[] { b.Node("GlobalAveragePool", new[] { l }) }, null, ("axis", 1L));       // [1, 4]
            var rm = b.ReduceMean(l, new long[] { 2, 3 }, false);                                                   // [1, 4]
            var tf = b.Node("Flatten", new[] { b.Transpose(l, 0, 2, 3, 1) }, null, ("axis", 1L));                  // [1, 4·H·W]
            var f = b.Concat(1, gap, rm, tf);
            long features = b.Dims(f)![1];
            var gm = b.Node("Gemm", new[] { f, b.Constant(GradCheck.Random(2, features * 5, 0.05f), new[] { features, 5L }), b.Constant(new float[5], new long[] { 5 }) });
            var mm = b.MatMul(b.Reshape(gm, 1, 5, 1), b.Constant(GradCheck.Random(3, 3), new long[] { 1, 3 }));
            var sm = b.Node("Softmax", new[] { b.Div(b.Sub(mm, b.Scalar(0.5f)), b.Scalar(2f)) }, null, ("axis", -1L));
            var ls = b.Node("LogSoftmax", new[] { b.Add(mm, b.Mul(b.Identity(sm), b.Scalar(3f))) }, null, ("axis", 1L));
            return b.Node("Reshape", new[] { b.ReduceSum(ls, new long[] { 2 }, false), b.Ints(-1) }, "Y");
        });

    [Fact]
    public void EveryRule_EmitsStandardOnnxOnly()
    {
        // The gradient graph must stay in the default domain at opset 17 and run.
        var m = AllOpsModel();
        var used = m.Graph.Node.Select(n => n.OpType).ToHashSet();
        var g = Differentiator.Differentiate(m, "Y", new[] { "X" }, new DifferentiationOptions { FoldBatchNorm = false });
        Assert.Contains("BatchNormalization", g.Graph.Node.Select(n => n.OpType));
        GradCheck.AssertStandardOnnx(g);
        var rules = Differentiator.SupportedOperators.ToHashSet();
        Assert.All(used.Where(op => op != "Constant"), op => Assert.Contains(op, rules));
        // The gradient runs, and agrees with directional finite differences. (Per-coordinate differences are hopeless here:
        // the per-pixel gradient is ~1e-3 after InstanceNorm and many squashing layers while float32 rounding makes the
        // objective jitter by ~1e-6, and steps large enough to beat that cross Relu/MaxPool/Clip switches.) Along the
        // gradient direction the objective changes by |g|·t, far above the jitter.
        var x = GradCheck.Tensor(4, new long[] { 1, 3, 9, 11 });
        var seed = GradCheck.Tensor(5, new long[] { 5 });
        var grad = GradCheck.RunGradient(g, "Y", new Dictionary<string, FloatTensor> { ["X"] = x }, seed)["X_grad"].Data;
        double norm = Math.Sqrt(grad.Sum(v => (double)v * v));
        Assert.True(norm > 1e-3);
        using var fwd = new OnnxSession(m);
        double F(float[] dir, double t)
        {
            var xs = x.Data.Select((v, i) => v + (float)(t * dir[i])).ToArray();
            var y = fwd.Run(new Dictionary<string, FloatTensor> { ["X"] = FloatTensor.Of(xs, x.Shape) }, new[] { "Y" })["Y"].Data;
            return y.Select((v, i) => (double)v * seed.Data[i]).Sum();
        }
        var random = GradCheck.Random(6, grad.Length);
        double rnorm = Math.Sqrt(random.Sum(v => (double)v * v));
        foreach (var dir in new[] { grad.Select(v => (float)(v / norm)).ToArray(), random.Select(v => (float)(v / rnorm)).ToArray() })
        {
            const double t = 0.02;
            double numeric = (F(dir, t) - F(dir, -t)) / (2 * t);
            double analytic = grad.Select((v, i) => (double)v * dir[i]).Sum();
            Assert.True(Math.Abs(numeric - analytic) < 0.02 * norm, $"directional derivative: analytic {analytic:G6}, numeric {numeric:G6}, |g| {norm:G4}");
        }
    }
}
