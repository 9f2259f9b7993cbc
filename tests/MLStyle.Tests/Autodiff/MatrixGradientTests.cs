using MLStyle.Onnx;
using Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class MatrixGradientTests
{
    static long[] S(string s) => s.Split(',').Select(long.Parse).ToArray();

    [Theory]
    [InlineData("5,7", "7,3")]          // 2-D
    [InlineData("2,5,7", "2,7,3")]      // batched 3-D
    [InlineData("2,5,7", "7,3")]        // batched × 2-D (B broadcast)
    [InlineData("5,7", "2,7,3")]        // 2-D × batched (A broadcast)
    [InlineData("2,1,5,7", "3,7,4")]    // batch dims broadcast both ways
    public void MatMul(string a, string b)
    {
        var m = GradCheck.OneNode("MatMul", new[] { ("A", S(a)), ("B", S(b)) });
        var inputs = new Dictionary<string, FloatTensor> { ["A"] = GradCheck.Tensor(1, S(a)), ["B"] = GradCheck.Tensor(2, S(b)) };
        GradCheck.Check(m, "Y", inputs, new[] { "A", "B" });
    }

    [Theory]
    [InlineData(0, 0, 1f, 1f, "3")]
    [InlineData(1, 0, 0.5f, 2f, "5,3")]
    [InlineData(0, 1, 1.5f, -0.7f, "1")]
    [InlineData(1, 1, -2f, 0.3f, "5,1")]
    [InlineData(0, 1, 1f, 1f, "1,3")]
    [InlineData(1, 0, 0.8f, 1f, "")]     // no C
    public void Gemm(int transA, int transB, float alpha, float beta, string cShape)
    {
        const long M = 5, K = 7, N = 3;
        var aShape = transA != 0 ? new[] { K, M } : new[] { M, K };
        var bShape = transB != 0 ? new[] { N, K } : new[] { K, N };
        var ins = new List<(string, long[])> { ("A", aShape), ("B", bShape) };
        if (cShape.Length > 0) ins.Add(("C", S(cShape)));
        var m = GradCheck.OneNode("Gemm", ins.ToArray(), ("transA", (long)transA), ("transB", (long)transB), ("alpha", alpha), ("beta", beta));
        var inputs = new Dictionary<string, FloatTensor> { ["A"] = GradCheck.Tensor(3, aShape), ["B"] = GradCheck.Tensor(4, bShape) };
        if (cShape.Length > 0) inputs["C"] = GradCheck.Tensor(5, S(cShape));
        GradCheck.Check(m, "Y", inputs, inputs.Keys.ToArray());
    }

    static ModelProto GramModel(long[] shape, bool transposeUsedElsewhere) => GradCheck.Build(b =>
    {
        b.AddInput("A", ElementType.Float, shape);
        long[] perm = Enumerable.Range(0, shape.Length).Select(i => (long)i).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        var at = b.Transpose("A", perm);
        var gram = b.MatMul("A", at);
        var y = b.Mul(gram, b.Constant(GradCheck.Random(11, shape[^2] * shape[^2]), new[] { shape[^2], shape[^2] }));
        if (transposeUsedElsewhere) y = b.Add(b.ReduceSum(y, null, keepdims: false), b.ReduceSum(b.Mul(at, at), null, keepdims: false));
        return y;
    });

    [Theory]
    [InlineData("5,7", false)]
    [InlineData("2,4,9", false)]
    [InlineData("1,3,6", true)]   // Aᵀ also feeds another node: its gradient still flows through the Transpose
    public void GramProduct_MatchesFiniteDifferences(string shape, bool transposeUsedElsewhere)
    {
        var m = GramModel(S(shape), transposeUsedElsewhere);
        var y = m.Graph.Output[0].Name;
        GradCheck.Check(m, y, new Dictionary<string, FloatTensor> { ["A"] = GradCheck.Tensor(1, S(shape)) }, new[] { "A" });
    }

    [Fact]
    public void GramProduct_GradientIsOneProduct()
    {
        // A·Aᵀ: the generic rule would emit dY·A and Aᵀ·dY (then transposed back); the Gram rule emits one product.
        var m = GramModel(new long[] { 1, 64, 4096 }, transposeUsedElsewhere: false);
        var grad = MLStyle.Autodiff.Differentiator.Differentiate(m, m.Graph.Output[0].Name, new[] { "A" });
        Assert.Equal(2, grad.Graph.Node.Count(n => n.OpType == "MatMul")); // the forward Gram and one gradient product
        // The forward Aᵀ and the transpose of the small [C, C] dY; no transpose of anything A-sized.
        Assert.Equal(2, grad.Graph.Node.Count(n => n.OpType == "Transpose"));
    }
}