using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class ReduceMaxRuleTests
{
    [Theory]
    [InlineData(new long[] { 1 }, 0)]
    [InlineData(new long[] { 1 }, 1)]
    [InlineData(new long[] { 0, 2 }, 1)]
    [InlineData(new long[] { -1 }, 0)]
    [InlineData(new long[0], 0)]
    public void ReduceMax_MatchesFiniteDifferences(long[] axes, long keepdims)
    {
        var attrs = axes.Length == 0 ? new (string, object)[] { ("keepdims", keepdims) } : new (string, object)[] { ("axes", axes), ("keepdims", keepdims) };
        var m = GradCheck.OneNode("ReduceMax", new[] { ("X", new long[] { 3, 5, 4 }) }, attrs);
        GradCheck.Check(m, "Y", GradCheck.RandomInputs(m), new[] { "X" });
    }

    [Fact]
    public void ReduceMax_SharesTheGradientBetweenTies()
    {
        var m = GradCheck.OneNode("ReduceMax", new[] { ("X", new long[] { 2, 3 }) }, ("axes", new long[] { 1 }), ("keepdims", 0L));
        var g = Differentiator.Differentiate(m, "Y", new[] { "X" });
        using var s = new OnnxSession(g);
        var outs = s.Run(new Dictionary<string, FloatTensor>
        {
            ["X"] = FloatTensor.Of(new[] { 1f, 5f, 5f, 2f, 0f, -1f }, 2, 3),
            ["Y_seed"] = FloatTensor.Of(new[] { 4f, 3f }, 2),
        }, new[] { "X_grad" });
        Assert.Equal(new[] { 0f, 2f, 2f, 3f, 0f, 0f }, outs["X_grad"].Data);
    }
}
