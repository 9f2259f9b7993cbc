using MLStyle.Onnx;
using Onnx;

namespace MLStyle.ML.Tests.Support;

/// <summary>
/// A small feed-forward styliser with the interface of the ONNX model zoo's fast-neural-style models (input <c>input1</c>,
/// output <c>output1</c>, both [1, 3, H, W] RGB 0–255), shaped like Johnson et al.'s network: reflection padding, convolutions,
/// instance normalisation, ReLU, a strided convolution and nearest-neighbour upsampling back to the input size. Random weights.
/// </summary>
static class JohnsonNet
{
    public static ModelProto Create(int? size, int seed = 1)
    {
        var rng = new Random(seed);
        var b = GraphBuilder.Create("johnson_like", opset: 17);
        long[] dims = size is { } s ? new long[] { 1, 3, s, s } : new long[] { 1, 3, -1, -1 };
        var x = b.AddInput("input1", ElementType.Float, dims, new[] { "", "", "height", "width" });
        string W(int o, int i, int k) => b.Constant(Enumerable.Range(0, o * i * k * k).Select(_ => (float)((rng.NextDouble() * 2 - 1) / Math.Sqrt(i * k * k))).ToArray(), new long[] { o, i, k, k }, "w");
        string B(int o, float v = 0) => b.Constant(Enumerable.Repeat(v, o).ToArray(), new long[] { o }, "b");
        string Norm(string t, int c) => b.Node("InstanceNormalization", new[] { t, B(c, 1f), B(c) }, null, ("epsilon", 1e-5f));
        var scaled = b.Mul(b.Sub(x, b.Scalar(127.5f)), 1f / 127.5f);
        var p1 = b.Pad(scaled, new long[] { 0, 0, 4, 4, 0, 0, 4, 4 }, "reflect");
        var c1 = b.Relu(Norm(b.Node("Conv", new[] { p1, W(8, 3, 9), B(8) }, null, ("kernel_shape", new long[] { 9, 9 })), 8));
        var c2 = b.Relu(Norm(b.Node("Conv", new[] { c1, W(16, 8, 3), B(16) }, null, ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })), 16));
        var up = b.Node("Resize", new[] { c2, "", b.Constant(new[] { 1f, 1f, 2f, 2f }, new long[] { 4 }, "scales") }, null, ("mode", "nearest"));
        var p3 = b.Pad(up, new long[] { 0, 0, 4, 4, 0, 0, 4, 4 }, "reflect");
        var c3 = b.Node("Conv", new[] { p3, W(3, 16, 9), B(3) }, null, ("kernel_shape", new long[] { 9, 9 }));
        var y = b.Identity(b.Add(b.Mul(c3, 120f), b.Scalar(128f)), "output1");
        b.Graph.Output.Add(GraphBuilder.MakeValueInfo(y, ElementType.Float, dims, new[] { "", "", "height", "width" }));
        return b.Model;
    }
}
