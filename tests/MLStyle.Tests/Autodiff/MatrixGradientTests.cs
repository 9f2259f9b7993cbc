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
}
