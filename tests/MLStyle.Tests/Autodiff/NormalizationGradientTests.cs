using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class NormalizationGradientTests
{
    static FloatTensor Positive(int seed, long[] shape, float min) =>
        FloatTensor.Of(GradCheck.Random(seed, shape.Aggregate(1L, (a, b) => a * b)).Select(v => min + Math.Abs(v)).ToArray(), shape);

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    [InlineData(2, 3)] // rank 3: [N, C, L]
    public void BatchNormalization_AllInputs(int batch, int rank)
    {
        var xs = rank == 4 ? new long[] { batch, 3, 5, 7 } : new long[] { batch, 3, 9 };
        var c = new long[] { 3 };
        var m = GradCheck.OneNode("BatchNormalization",
            new[] { ("X", xs), ("scale", c), ("B", c), ("mean", c), ("var", c) }, ("epsilon", 1e-3f));
        var inputs = new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor(1, xs), ["scale"] = GradCheck.Tensor(2, c), ["B"] = GradCheck.Tensor(3, c),
            ["mean"] = GradCheck.Tensor(4, c, 0.3f), ["var"] = Positive(5, c, 0.5f),
        };
        GradCheck.Check(m, "Y", inputs, new[] { "X", "scale", "B", "mean", "var" }, h: 1e-3);
    }

    [Theory]
    [InlineData("X")]
    [InlineData("X,bn_scale")]
    [InlineData("bn_var,bn_mean,bn_b")]
    public void BatchNormalization_ConstantParameters(string wrtList)
    {
        var wrt = wrtList.Split(',');
        // Parameters as initializers (the usual case): the input gradient uses a precomputed scale unless scale/var are wanted.
        var xs = new long[] { 2, 3, 5, 7 };
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, xs);
            string P(string name, FloatTensor t) => b.Initializer(TensorProtos.FromFloats(name, t.Data, 3), name);
            var ins = new[]
            {
                "X", P("bn_scale", GradCheck.Tensor(2, new long[] { 3 })), P("bn_b", GradCheck.Tensor(3, new long[] { 3 })),
                P("bn_mean", GradCheck.Tensor(4, new long[] { 3 }, 0.3f)), P("bn_var", Positive(5, new long[] { 3 }, 0.5f)),
            };
            return b.Node("BatchNormalization", ins, "Y");
        });
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, xs) }, wrt, h: 1e-3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void InstanceNormalization(int batch)
    {
        var xs = new long[] { batch, 3, 5, 7 };
        var c = new long[] { 3 };
        var m = GradCheck.OneNode("InstanceNormalization", new[] { ("X", xs), ("scale", c), ("bias", c) }, ("epsilon", 1e-5f));
        var inputs = new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor(6, xs, 2f, 0.5f), ["scale"] = GradCheck.Tensor(7, c), ["bias"] = GradCheck.Tensor(8, c),
        };
        GradCheck.Check(m, "Y", inputs, new[] { "X", "scale", "bias" }, h: 1e-2, maxCoords: 60); // X has std 2: a relative step of 0.5%
    }
}
