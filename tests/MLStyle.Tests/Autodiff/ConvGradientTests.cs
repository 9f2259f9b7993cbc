using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Autodiff;

/// <summary>Tests that change the static conv-gradient formulation settings of <see cref="GradientRules"/> run alone.</summary>
[CollectionDefinition("ConvFormulation", DisableParallelization = true)]
public sealed class ConvFormulationCollection { }

[Collection("ConvFormulation")]
public class ConvGradientTests
{
    // batch, cin, cout, h, w, kh, kw, stride, pads (begin h, begin w, end h, end w, or "" for auto_pad), dilation, group, auto_pad
    static readonly object[][] Geometries =
    {
        new object[] { 1, 3, 4, 7, 9, 1, 1, 1, "0,0,0,0", 1, 1, "" },
        new object[] { 2, 3, 4, 7, 9, 1, 1, 2, "0,0,0,0", 1, 1, "" },      // 1×1/2 projection shortcut on odd sizes
        new object[] { 1, 2, 3, 6, 7, 2, 2, 1, "0,0,0,0", 1, 1, "" },      // even kernel
        new object[] { 2, 3, 4, 7, 9, 3, 3, 1, "1,1,1,1", 1, 1, "" },
        new object[] { 1, 3, 4, 9, 7, 3, 3, 2, "1,1,1,1", 1, 1, "" },
        new object[] { 2, 3, 4, 8, 9, 3, 3, 2, "0,1,1,0", 1, 1, "" },      // asymmetric pads, even and odd sizes
        new object[] { 1, 3, 2, 9, 11, 4, 4, 2, "1,2,2,1", 1, 1, "" },
        new object[] { 1, 2, 3, 9, 9, 5, 5, 1, "2,1,0,2", 1, 1, "" },      // asymmetric pads at stride 1
        new object[] { 2, 2, 3, 11, 9, 5, 3, 2, "2,1,2,1", 1, 1, "" },     // rectangular kernel
        new object[] { 1, 3, 4, 13, 11, 7, 7, 2, "3,3,3,3", 1, 1, "" },    // ResNet stem
        new object[] { 1, 2, 3, 9, 11, 3, 3, 1, "2,2,2,2", 2, 1, "" },     // dilation
        new object[] { 2, 2, 3, 11, 9, 3, 3, 2, "1,2,2,1", 2, 1, "" },     // dilation, stride, asymmetric pads
        new object[] { 1, 6, 9, 7, 9, 3, 3, 1, "1,1,1,1", 1, 3, "" },      // groups
        new object[] { 2, 4, 4, 7, 9, 3, 3, 1, "1,1,1,1", 1, 4, "" },      // depthwise
        new object[] { 1, 4, 8, 9, 7, 3, 3, 2, "1,1,1,1", 1, 4, "" },      // depthwise ×2, stride 2
        new object[] { 1, 3, 4, 7, 9, 3, 3, 1, "", 1, 1, "SAME_UPPER" },
        new object[] { 2, 3, 4, 9, 8, 4, 4, 2, "", 1, 1, "SAME_UPPER" },   // implied asymmetric pads
        new object[] { 1, 2, 3, 7, 9, 4, 4, 1, "", 1, 1, "SAME_LOWER" },
        new object[] { 1, 3, 2, 7, 9, 3, 3, 1, "3,3,3,3", 1, 1, "" },      // pads > k−1: no flipped-conv form
        new object[] { 1, 3, 4, 7, 10, 3, 3, 3, "1,0,0,1", 1, 1, "" },     // stride 3
    };

    public static IEnumerable<object[]> Cases()
    {
        foreach (var g in Geometries)
        {
            bool strideOne = (int)g[7] == 1;
            foreach (var form in strideOne ? new[] { ConvInputGradient.FlippedConv, ConvInputGradient.ConvTranspose } : new[] { ConvInputGradient.ConvTranspose, ConvInputGradient.SubPixelConv })
                foreach (var init in new[] { false, true })
                    yield return g.Concat(new object[] { form, init }).ToArray();
        }
    }

    public static IEnumerable<object[]> WeightCases() =>
        from g in Geometries
        from form in new[] { ConvWeightGradient.Conv, ConvWeightGradient.Gemm }
        select g.Concat(new object[] { form }).ToArray();

    [Theory]
    [MemberData(nameof(WeightCases))]
    public void ConvWeightGradient_MatchesFiniteDifferences(int batch, int cin, int cout, int h, int w, int kh, int kw, int stride,
        string pads, int dilation, int group, string autoPad, ConvWeightGradient form)
    {
        var (m, inputs) = ConvModel(batch, cin, cout, h, w, kh, kw, stride, pads, dilation, group, autoPad, weightIsInitializer: true);
        var saved = (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient);
        try
        {
            (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient) = (form, form);
            var dw = Differentiator.Differentiate(m, "Y", new[] { "W" });
            GradCheck.AssertStandardOnnx(dw);
            // The GEMM form applies to one group (any stride, pads, dilation); grouped convolutions fall back to the Conv form.
            bool gemm = form == ConvWeightGradient.Gemm && group == 1;
            Assert.Equal(gemm, dw.Graph.Node.Any(n => n.OpType == "MatMul"));
            Assert.Equal(gemm ? 1 : 1 + group, dw.Graph.Node.Count(n => n.OpType == "Conv"));
            GradCheck.Check(m, "Y", inputs, new[] { "W", "B" }, maxCoords: 40);
        }
        finally { (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient) = saved; }
    }

    static (ModelProto Model, Dictionary<string, FloatTensor> Inputs) ConvModel(int batch, int cin, int cout, int h, int w, int kh, int kw,
        int stride, string pads, int dilation, int group, string autoPad, bool weightIsInitializer)
    {
        var wShape = new long[] { cout, cin / group, kh, kw };
        var wVal = GradCheck.Tensor(11, wShape, 0.3f);
        var bVal = GradCheck.Tensor(12, new long[] { cout }, 0.3f);
        var attrs = new List<(string, object)>
        {
            ("strides", new long[] { stride, stride }), ("dilations", new long[] { dilation, dilation }),
            ("group", (long)group), ("kernel_shape", new long[] { kh, kw }),
        };
        if (autoPad.Length > 0) attrs.Add(("auto_pad", autoPad));
        else attrs.Add(("pads", pads.Split(',').Select(long.Parse).ToArray()));
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { batch, cin, h, w });
            string wt, bt;
            if (weightIsInitializer)
            {
                wt = b.Initializer(TensorProtos.FromFloats("W", wVal.Data, wShape), "W");
                bt = b.Initializer(TensorProtos.FromFloats("B", bVal.Data, cout), "B");
            }
            else
            {
                wt = b.AddInput("W", ElementType.Float, wShape);
                bt = b.AddInput("B", ElementType.Float, new long[] { cout });
            }
            return b.Node("Conv", new[] { "X", wt, bt }, "Y", attrs.ToArray());
        });
        var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(10, new long[] { batch, cin, h, w }) };
        if (!weightIsInitializer) { inputs["W"] = wVal; inputs["B"] = bVal; }
        return (m, inputs);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv_MatchesFiniteDifferences(int batch, int cin, int cout, int h, int w, int kh, int kw, int stride, string pads,
        int dilation, int group, string autoPad, ConvInputGradient form, bool weightIsInitializer)
    {
        var (m, inputs) = ConvModel(batch, cin, cout, h, w, kh, kw, stride, pads, dilation, group, autoPad, weightIsInitializer);
        // Gradients w.r.t. initializers too: the checker promotes them to inputs for the finite differences.
        var wrt = new[] { "X", "W", "B" };

        var saved = GradientRules.StrideOneInputGradient;
        var savedStrided = GradientRules.StridedInputGradient;
        try
        {
            if (stride == 1) GradientRules.StrideOneInputGradient = form;
            else GradientRules.StridedInputGradient = form;
            // The input gradient alone (what style transfer asks for): exercises the precomputed flipped kernel for constant W.
            var dxOnly = Differentiator.Differentiate(m, "Y", new[] { "X" });
            GradCheck.AssertStandardOnnx(dxOnly);
            int convTransposes = dxOnly.Graph.Node.Count(n => n.OpType == "ConvTranspose");
            bool flippedPossible = stride == 1 && autoPad.Length == 0
                ? pads.Split(',').Select(long.Parse).All(p => p <= (Math.Max(kh, kw) - 1) * dilation && p <= (Math.Min(kh, kw) - 1) * dilation)
                : stride == 1;
            bool expectFlipped = form == ConvInputGradient.FlippedConv && flippedPossible;
            // The sub-pixel form covers strided convolutions with one group, no dilation and constant weights larger than 1×1.
            bool expectSubPixel = stride > 1 && form == ConvInputGradient.SubPixelConv && group == 1 && dilation == 1 && weightIsInitializer && kh * kw > 1;
            Assert.Equal(expectFlipped || expectSubPixel, convTransposes == 0);
            if (expectSubPixel) Assert.Contains(dxOnly.Graph.Node, n => n.OpType == "DepthToSpace");
            if (expectFlipped && weightIsInitializer) Assert.Contains(dxOnly.Graph.Initializer, t => t.Name.Contains("_flipped"));
            GradCheck.CheckWith(m, dxOnly, "Y", new[] { inputs }, new[] { "X" });

            // No weight or bias gradient work when only the input gradient is wanted.
            Assert.Equal(1, dxOnly.Graph.Node.Count(n => n.OpType == "Conv" && n.Input[0] == "X"));
            Assert.DoesNotContain(dxOnly.Graph.Node, n => n.OpType == "ReduceSum");

            GradCheck.Check(m, "Y", inputs, wrt, maxCoords: 30);
        }
        finally
        {
            GradientRules.StrideOneInputGradient = saved;
            GradientRules.StridedInputGradient = savedStrided;
        }
    }
}
