using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Tests.Support;

/// <summary>Small generated networks with the structure and conventions of real ones.</summary>
public static class MiniModels
{
    /// <summary>
    /// A VGG-shaped model like the ONNX model zoo's vgg19-7.onnx: input "data" [1,3,224,224], blocks of 3×3 conv + relu with
    /// 2×2 max pooling (8 convs in 5 blocks), then Flatten + Gemm + Softmax, at opset 8. Channels are tiny.
    /// </summary>
    public static ModelProto Vgg(int seed = 3, long opset = 8)
    {
        var b = GraphBuilder.Create("mini_vgg", opset);
        b.AddInput("data", ElementType.Float, new long[] { 1, 3, 224, 224 });
        var rng = new Random(seed);
        string x = "data";
        long cin = 3;
        int[] convsPerBlock = { 1, 1, 2, 2, 2 };
        long[] channels = { 4, 6, 8, 8, 8 };
        for (int blk = 0; blk < 5; blk++)
        {
            for (int k = 0; k < convsPerBlock[blk]; k++)
            {
                long cout = channels[blk];
                var w = b.Constant(GradCheck.Random(rng.Next(), cout * cin * 9, (float)Math.Sqrt(2.0 / (cin * 9))), new[] { cout, cin, 3L, 3L }, "w");
                var bias = b.Constant(GradCheck.Random(rng.Next(), cout, 0.1f), new[] { cout }, "b");
                x = b.Node("Conv", new[] { x, w, bias }, $"conv{blk + 1}_{k + 1}", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
                x = b.Node("Relu", new[] { x }, $"relu{blk + 1}_{k + 1}");
                cin = cout;
            }
            x = b.Node("MaxPool", new[] { x }, $"pool{blk + 1}", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        }
        var flat = b.Node("Flatten", new[] { x }, "flatten", ("axis", 1L));
        var fw = b.Constant(GradCheck.Random(rng.Next(), 10 * 8 * 7 * 7, 0.01f), new long[] { 10, 8 * 7 * 7 }, "fc_w");
        var fb = b.Constant(new float[10], new long[] { 10 }, "fc_b");
        var fc = b.Node("Gemm", new[] { flat, fw, fb }, "fc", ("transB", 1L));
        var prob = b.Node("Softmax", new[] { fc }, "prob");
        b.AddOutput(prob);
        return b.Model;
    }
}
