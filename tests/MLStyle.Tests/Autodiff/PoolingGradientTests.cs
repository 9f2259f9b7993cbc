using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class PoolingGradientTests
{
    static long[] S(string s) => s.Split(',').Select(long.Parse).ToArray();

    static (string, object)[] PoolAttrs(int k, int s, string pads, int ceil, int? countIncludePad = null)
    {
        var a = new List<(string, object)> { ("kernel_shape", new long[] { k, k }), ("strides", new long[] { s, s }), ("pads", S(pads)) };
        if (ceil != 0) a.Add(("ceil_mode", 1L));
        if (countIncludePad is { } c) a.Add(("count_include_pad", (long)c));
        return a.ToArray();
    }

    [Theory]
    [InlineData("2,3,9,11", 3, 2, "1,1,1,1", 0)]   // ResNet: overlapping windows
    [InlineData("1,2,8,10", 3, 2, "1,1,1,1", 0)]
    [InlineData("2,3,9,11", 2, 2, "0,0,0,0", 0)]   // VGG, odd sizes drop the last row/column
    [InlineData("1,3,9,11", 2, 2, "0,0,0,0", 1)]   // ceil_mode: partial windows at the end
    [InlineData("1,2,10,8", 3, 2, "0,0,0,0", 1)]
    [InlineData("2,2,9,7", 3, 2, "1,1,1,1", 1)]
    [InlineData("1,2,9,8", 3, 2, "0,1,1,0", 0)]    // asymmetric pads
    [InlineData("1,2,7,9", 3, 1, "1,1,1,1", 0)]    // stride 1, heavy overlap
    public void MaxPool(string xShape, int k, int s, string pads, int ceil)
    {
        var m = GradCheck.OneNode("MaxPool", new[] { ("X", S(xShape)) }, PoolAttrs(k, s, pads, ceil));
        // Distinct values 0.05 apart: a step of h = 0.01 never changes a window's arg-max.
        var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.SpacedTensor(21, S(xShape), 0.05f) };
        GradCheck.Check(m, "Y", inputs, new[] { "X" }, maxCoords: 60);
    }

    [Theory]
    [InlineData("2,3,9,11", 3, 2, "1,1,1,1", 0, 0)]
    [InlineData("2,3,9,11", 3, 2, "1,1,1,1", 0, 1)]
    [InlineData("1,3,9,11", 2, 2, "0,0,0,0", 0, 0)]
    [InlineData("1,2,7,9", 3, 1, "1,1,1,1", 0, 0)]
    [InlineData("1,2,7,9", 3, 1, "1,1,1,1", 0, 1)]
    [InlineData("1,2,9,8", 3, 2, "0,1,1,0", 0, 0)]   // asymmetric pads
    [InlineData("1,2,9,8", 3, 2, "0,1,1,0", 0, 1)]
    [InlineData("1,2,10,8", 3, 2, "0,0,0,0", 1, 0)]  // ceil_mode: windows past the end
    [InlineData("1,2,10,8", 3, 2, "0,0,0,0", 1, 1)]
    [InlineData("2,2,9,7", 3, 2, "1,1,1,1", 1, 0)]
    [InlineData("2,2,9,7", 3, 2, "1,1,1,1", 1, 1)]
    [InlineData("1,2,9,11", 2, 2, "0,0,0,0", 1, 1)]
    [InlineData("1,2,8,7", 3, 2, "1,1,1,1", 1, 1)]
    public void AveragePool(string xShape, int k, int s, string pads, int ceil, int countIncludePad)
    {
        var m = GradCheck.OneNode("AveragePool", new[] { ("X", S(xShape)) }, PoolAttrs(k, s, pads, ceil, countIncludePad));
        var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(22, S(xShape)) };
        GradCheck.Check(m, "Y", inputs, new[] { "X" }, maxCoords: 80);
    }

    [Theory]
    [InlineData("2,3,5,7")]
    [InlineData("1,4,1,1")]
    public void GlobalAveragePool(string xShape)
    {
        var m = GradCheck.OneNode("GlobalAveragePool", new[] { ("X", S(xShape)) });
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(23, S(xShape)) }, new[] { "X" });
    }

    [Theory]
    [InlineData("1,2,5,7", 2f, 2f, "asymmetric", "floor", false)]
    [InlineData("2,2,5,3", 3f, 3f, "asymmetric", "floor", false)]
    [InlineData("1,2,5,7", 2f, 3f, "asymmetric", "floor", false)]
    [InlineData("1,2,5,7", 2f, 2f, "half_pixel", "round_prefer_floor", false)]
    [InlineData("2,2,5,3", 3f, 3f, "half_pixel", "round_prefer_floor", false)]
    [InlineData("1,2,5,7", 2f, 2f, "half_pixel", "round_prefer_ceil", false)]
    [InlineData("1,2,5,7", 3f, 2f, "pytorch_half_pixel", "round_prefer_floor", false)]
    [InlineData("1,2,5,7", 2f, 2f, "asymmetric", "floor", true)]          // given by 'sizes'
    [InlineData("1,2,5,7", 3f, 3f, "half_pixel", "round_prefer_floor", true)]
    public void Resize_NearestIntegerScale(string xShape, float sh, float sw, string ctm, string nearestMode, bool bySizes)
    {
        var xs = S(xShape);
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, xs);
            var ins = bySizes
                ? new[] { "X", "", "", b.Ints(xs[0], xs[1], (long)(xs[2] * sh), (long)(xs[3] * sw)) }
                : new[] { "X", "", b.Constant(new[] { 1f, 1f, sh, sw }, new long[] { 4 }, "scales") };
            return b.Node("Resize", ins, "Y", ("mode", "nearest"), ("coordinate_transformation_mode", ctm), ("nearest_mode", nearestMode));
        });
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(24, xs) }, new[] { "X" });
    }

    [Theory]
    [InlineData("half_pixel", "floor")]
    [InlineData("half_pixel", "ceil")]
    public void Resize_NearestNotABlockUpscaling(string ctm, string nearestMode)
    {
        var xs = S("1,2,5,7");
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, xs);
            return b.Node("Resize", new[] { "X", "", b.Constant(new[] { 1f, 1f, 2f, 2f }, new long[] { 4 }, "scales") }, "Y",
                ("mode", "nearest"), ("coordinate_transformation_mode", ctm), ("nearest_mode", nearestMode));
        });
        // Not a k×k block copy (half_pixel with floor maps 3 outputs to the first input): refused rather than wrong.
        var e = Assert.Throws<ModelException>(() => MLStyle.Autodiff.Differentiator.Differentiate(m, "Y", new[] { "X" }));
        Assert.Contains("Resize", e.Message);
        Assert.Contains(nearestMode, e.Message);
    }
}
