using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Support;

/// <summary>
/// A small generated CNN for fast DeepDream tests: two 3×3 convolutions (pad 1) with ReLUs, 3 → 6 → 5 channels, stride 1.
/// Its layers (by tensor name): c1, r1 (6 channels), c2, r2 (5 channels). Receptive-field radius of r2: 2 pixels.
/// <c>smooth</c> uses tanh instead of ReLU, for finite-difference checks that must not straddle a ReLU's kink.
/// </summary>
public static class TinyNet
{
    public static ModelProto Model(int seed = 3, bool smooth = false)
    {
        var b = GraphBuilder.Create("tiny");
        b.AddInput("x", ElementType.Float, new long[] { 1, 3, -1, -1 }, new[] { "N", "", "H", "W" });
        var w1 = b.Constant(GradCheck.Random(seed, 6 * 3 * 9, 0.4f), new long[] { 6, 3, 3, 3 }, "w1");
        var b1 = b.Constant(GradCheck.Random(seed + 1, 6, 0.2f), new long[] { 6 }, "b1");
        var w2 = b.Constant(GradCheck.Random(seed + 2, 5 * 6 * 9, 0.3f), new long[] { 5, 6, 3, 3 }, "w2");
        var b2 = b.Constant(GradCheck.Random(seed + 3, 5, 0.2f, 0.3f), new long[] { 5 }, "b2");
        var pads = ("pads", (object)new long[] { 1, 1, 1, 1 });
        var c1 = b.Node("Conv", new[] { "x", w1, b1 }, "c1", ("kernel_shape", new long[] { 3, 3 }), pads);
        var r1 = b.Node(smooth ? "Tanh" : "Relu", new[] { c1 }, "r1");
        var c2 = b.Node("Conv", new[] { r1, w2, b2 }, "c2", ("kernel_shape", new long[] { 3, 3 }), pads);
        var r2 = b.Node(smooth ? "Tanh" : "Relu", new[] { c2 }, "r2");
        b.AddOutput(r2);
        return b.Model;
    }

    public static Backbone Backbone(int seed = 3, bool smooth = false) => GenericCnn.Create(Model(seed, smooth), smooth ? "tiny-tanh" : "tiny", "generated");

    /// <summary>A smooth random-ish test picture (values 0–255).</summary>
    public static ImageTensor Picture(int width, int height, int seed = 5)
    {
        var img = new ImageTensor(width, height);
        var r = new Random(seed);
        var (fx, fy, ph) = (r.NextDouble() * 0.3 + 0.05, r.NextDouble() * 0.3 + 0.05, r.NextDouble() * 6);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    img[c, y, x] = (float)(128 + 70 * Math.Sin(fx * x * (c + 1) + ph) * Math.Cos(fy * y + c) + 30 * (r.NextDouble() - 0.5));
        img.ClampInPlace();
        return img;
    }

    public static string Save(string dir, int seed = 3)
    {
        var path = Path.Combine(dir, "tiny.onnx");
        OnnxModels.Save(Model(seed), path);
        return path;
    }
}
