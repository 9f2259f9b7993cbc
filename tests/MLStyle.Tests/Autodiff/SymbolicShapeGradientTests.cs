using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Autodiff;

/// <summary>Models whose input has symbolic N, H and W: one gradient model must serve even and odd sizes.</summary>
public class SymbolicShapeGradientTests
{
    static readonly long[] WShape = { 4, 3, 3, 3 };

    static ModelProto Model() => GradCheck.Build(b =>
    {
        b.AddInput("X", ElementType.Float, new long[] { -1, 3, -1, -1 }, new[] { "N", "", "H", "W" });
        b.AddInput("Wt", ElementType.Float, WShape);
        b.AddInput("B", ElementType.Float, new long[] { 4 });
        // Branch 1: strided conv, average pool with padding (count_include_pad 0), reflect pad, spatial mean.
        var a = b.Node("Conv", new[] { "X", "Wt", "B" }, "conv", ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var ap = b.Node("AveragePool", new[] { a }, "avg", ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var pr = b.Pad(ap, new long[] { 0, 0, 1, 0, 0, 0, 0, 1 }, "reflect");
        var ra = b.ReduceMean(pr, new long[] { 2, 3 }, keepdims: true);
        // Branch 2: ResNet max pool, slice with negative and INT_MAX bounds, global average pool.
        var mp = b.Node("MaxPool", new[] { "X" }, "maxpool", ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var sl = b.Slice(mp, new long[] { 1, -100 }, new long[] { long.MaxValue, -1 }, new long[] { 2, 3 });
        var gp = b.Node("GlobalAveragePool", new[] { sl }, "gap");
        // Branch 3: stride-1 conv (flipped-kernel input gradient) and a mean without keepdims.
        var c1 = b.Node("Conv", new[] { "X", "Wt" }, "conv1", ("pads", new long[] { 0, 1, 1, 0 }));
        var r1 = b.Reshape(b.ReduceMean(c1, new long[] { 2, 3 }, keepdims: false), new long[] { -1, 4, 1, 1 });
        return b.Node("Concat", new[] { ra, gp, r1 }, "Y", ("axis", 1L));
    });

    static Dictionary<string, FloatTensor> Inputs(long n, long h, long w) => new()
    {
        // Spaced values: the max-pool branch sees no near ties.
        ["X"] = GradCheck.SpacedTensor((int)(n * 100 + h * 10 + w), new long[] { n, 3, h, w }, 0.05f),
        ["Wt"] = GradCheck.Tensor(2, WShape, 0.3f),
        ["B"] = GradCheck.Tensor(3, new long[] { 4 }, 0.3f),
    };

    [Fact]
    public void SymbolicSpatialDims_OneGradientModelForEvenAndOddSizes()
    {
        var m = Model();
        // Shape inference keeps H and W unknown all the way down.
        var b = new GraphBuilder(m.Clone());
        Assert.Equal(new long[] { -1, 4, -1, -1 }, b.Dims("conv"));
        Assert.Equal(new long[] { -1, 3, -1, -1 }, b.Dims("maxpool"));

        var grad = Differentiator.Differentiate(m, "Y", new[] { "X", "Wt", "B" });
        GradCheck.AssertStandardOnnx(grad);
        // The seed input is symbolic too, and the dynamic paths read shapes at run time.
        var seed = grad.Graph.Input.Single(i => i.Name == "Y_seed");
        Assert.Equal(4, seed.Type.TensorType.Shape.Dim.Count);
        Assert.Contains(grad.Graph.Node, n => n.OpType == "Shape");

        var sets = new[] { Inputs(1, 9, 11), Inputs(2, 8, 10), Inputs(1, 8, 7), Inputs(2, 11, 6) };
        GradCheck.CheckWith(m, grad, "Y", sets, new[] { "X", "Wt", "B" }, maxCoords: 60);
    }

    [Fact]
    public void SymbolicSpatialDims_InputGradientOnly()
    {
        var m = Model();
        var grad = Differentiator.Differentiate(m, "Y", new[] { "X" });
        GradCheck.AssertStandardOnnx(grad);
        GradCheck.CheckWith(m, grad, "Y", new[] { Inputs(1, 10, 9), Inputs(1, 7, 12) }, new[] { "X" }, maxCoords: 80);
    }

    [Fact]
    public void SymbolicSpatialDims_ResizeAndInstanceNorm()
    {
        // Johnson-style decoder piece on symbolic sizes: nearest ×2 upsampling, InstanceNormalization, stride-1 conv.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 2, -1, -1 }, new[] { "", "", "H", "W" });
            var up = b.Node("Resize", new[] { "X", "", b.Constant(new[] { 1f, 1f, 2f, 2f }, new long[] { 4 }, "scales") }, "up",
                ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
            var w = b.Constant(GradCheck.Random(5, 3 * 2 * 9, 0.3f), new long[] { 3, 2, 3, 3 }, "w");
            var c = b.Node("Conv", new[] { up, w }, "c", ("pads", new long[] { 1, 1, 1, 1 }));
            var n = b.Node("InstanceNormalization", new[] { c, b.Constant(new[] { 1f, 0.5f, -1f }, new long[] { 3 }, "g"), b.Constant(new[] { 0f, 0.1f, 0.2f }, new long[] { 3 }, "beta") }, "in");
            return b.Node("Tanh", new[] { n }, "Y");
        });
        var grad = Differentiator.Differentiate(m, "Y", new[] { "X" });
        var sets = new[] { 5L, 6L }.Select(h => new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor((int)h, new long[] { 1, 2, h, h + 2 }) }).ToArray();
        GradCheck.CheckWith(m, grad, "Y", sets, new[] { "X" }, maxCoords: 50);
    }

    [Fact]
    public void SymbolicSpatialDims_ConcatAlongASymbolicAxis()
    {
        // Concat along H (the Split sizes are read at run time), edge Pad, Transpose, Flatten, Softmax over a symbolic axis.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 2, -1, -1 }, new[] { "", "", "H", "W" });
            b.AddInput("Z", ElementType.Float, new long[] { 1, 2, 3, -1 }, new[] { "", "", "", "W" });
            var p = b.Pad("X", new long[] { 0, 0, 1, 0, 0, 0, 0, 2 }, "edge");
            var zp = b.Pad("Z", new long[] { 0, 0, 0, 0, 0, 0, 0, 2 }, "edge");
            var c = b.Node("Concat", new[] { b.Mul(p, b.Scalar(1.5f)), zp }, "cat", ("axis", 2L));
            var t = b.Transpose(c, 0, 3, 2, 1);
            var f = b.Node("Flatten", new[] { t }, "flat", ("axis", 2L));
            return b.Node("Softmax", new[] { f }, "Y", ("axis", 1L));
        });
        var grad = Differentiator.Differentiate(m, "Y", new[] { "X", "Z" });
        GradCheck.AssertStandardOnnx(grad);
        Assert.Contains(grad.Graph.Node, n => n.OpType == "Split" && b(n));
        var sets = new[] { (4L, 5L), (5L, 3L) }.Select(hw => new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor((int)hw.Item1, new long[] { 1, 2, hw.Item1, hw.Item2 }),
            ["Z"] = GradCheck.Tensor(9, new long[] { 1, 2, 3, hw.Item2 }),
        }).ToArray();
        GradCheck.CheckWith(m, grad, "Y", sets, new[] { "X", "Z" }, h: 3e-3, maxCoords: 40);

        static bool b(NodeProto n) => n.Input.Count == 2; // sizes given as a (runtime) tensor
    }

    [Theory]
    [InlineData("SAME_UPPER", 3)]
    [InlineData("SAME_LOWER", 4)]
    public void SymbolicSpatialDims_AutoPadSameAtStrideOne(string autoPad, int k)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 2, -1, -1 }, new[] { "", "", "H", "W" });
            b.AddInput("Wt", ElementType.Float, new long[] { 3, 2, k, k });
            var c = b.Node("Conv", new[] { "X", "Wt" }, "c", ("auto_pad", autoPad), ("kernel_shape", new long[] { k, k }));
            return b.Node("Tanh", new[] { c }, "Y");
        });
        var grad = Differentiator.Differentiate(m, "Y", new[] { "X", "Wt" });
        var sets = new[] { (6L, 7L), (5L, 9L) }.Select(hw => new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor((int)hw.Item1, new long[] { 1, 2, hw.Item1, hw.Item2 }),
            ["Wt"] = GradCheck.Tensor(3, new long[] { 3, 2, k, k }, 0.3f),
        }).ToArray();
        GradCheck.CheckWith(m, grad, "Y", sets, new[] { "X", "Wt" }, h: 3e-3);
    }

    [Fact]
    public void SymbolicSpatialDims_AutoPadSameWithStride_IsAClearError()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 2, -1, -1 }, new[] { "", "", "H", "W" });
            var w = b.Constant(GradCheck.Random(1, 3 * 2 * 9), new long[] { 3, 2, 3, 3 }, "w");
            return b.Node("Conv", new[] { "X", w }, "Y", ("auto_pad", "SAME_UPPER"), ("strides", new long[] { 2, 2 }));
        });
        var e = Assert.Throws<ModelException>(() => Differentiator.Differentiate(m, "Y", new[] { "X" }));
        Assert.Contains("auto_pad SAME", e.Message);
        Assert.Contains("Conv", e.Message);
    }
}
