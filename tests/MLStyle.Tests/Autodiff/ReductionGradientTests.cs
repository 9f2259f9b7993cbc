using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class ReductionGradientTests
{
    static long[] S(string s) => s.Split(',').Select(long.Parse).ToArray();
    static readonly long[] X4 = { 2, 3, 5, 7 };

    [Theory]
    [InlineData("ReduceSum", "1", 1)]
    [InlineData("ReduceSum", "1", 0)]
    [InlineData("ReduceSum", "2,3", 1)]
    [InlineData("ReduceSum", "2,3", 0)]
    [InlineData("ReduceSum", "-1", 0)]
    [InlineData("ReduceSum", "0,-2", 0)]
    [InlineData("ReduceSum", "", 1)]
    [InlineData("ReduceSum", "", 0)]      // no axes, keepdims 0: rank 0
    [InlineData("ReduceMean", "1", 1)]
    [InlineData("ReduceMean", "1", 0)]
    [InlineData("ReduceMean", "2,3", 1)]
    [InlineData("ReduceMean", "2,3", 0)]
    [InlineData("ReduceMean", "-1", 0)]
    [InlineData("ReduceMean", "0,-2", 1)]
    [InlineData("ReduceMean", "", 1)]
    [InlineData("ReduceMean", "", 0)]
    public void Reduce(string op, string axes, int keepdims)
    {
        // Opset 17: ReduceSum takes axes as an input, ReduceMean as an attribute.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            var attrs = new List<(string, object)> { ("keepdims", (long)keepdims) };
            var ins = new List<string> { "X" };
            if (axes.Length > 0)
            {
                if (op == "ReduceSum") ins.Add(b.Ints(S(axes)));
                else attrs.Add(("axes", S(axes)));
            }
            return b.Node(op, ins, "Y", attrs.ToArray());
        });
        var y = Assert.Single(m.Graph.Output);
        if (axes.Length == 0 && keepdims == 0) Assert.Empty(y.Type.TensorType.Shape.Dim);
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, X4) }, new[] { "X" });
    }

    [Theory]
    [InlineData("Softmax", 1)]
    [InlineData("Softmax", -1)]
    [InlineData("Softmax", 2)]
    [InlineData("LogSoftmax", 1)]
    [InlineData("LogSoftmax", -1)]
    [InlineData("LogSoftmax", -2)]
    public void Softmax(string op, int axis)
    {
        var m = GradCheck.OneNode(op, new[] { ("X", X4) }, ("axis", (long)axis));
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(2, X4) }, new[] { "X" }, h: 1e-3);
    }

    [Fact]
    public void Softmax_DefaultAxis()
    {
        var m = GradCheck.OneNode("Softmax", new[] { ("X", new long[] { 2, 5, 7 }) });
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(3, new long[] { 2, 5, 7 }) }, new[] { "X" }, h: 1e-3);
    }
}
