using MLStyle.Onnx;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class CoreRuleTests
{
    [Theory]
    [InlineData(1, 3, 1, 1, 1)]
    [InlineData(2, 3, 2, 1, 1)]
    [InlineData(1, 5, 2, 2, 1)]
    [InlineData(2, 1, 1, 0, 1)]
    [InlineData(1, 3, 1, 2, 2)]
    [InlineData(1, 7, 2, 3, 1)]
    public void Conv_InputWeightBias(int batch, int k, int stride, int pad, int dilation)
    {
        var m = GradCheck.OneNode("Conv", new[] { ("X", new long[] { batch, 3, 9, 11 }), ("W", new long[] { 4, 3, k, k }), ("B", new long[] { 4 }) },
            ("strides", new long[] { stride, stride }), ("pads", new long[] { pad, pad, pad, pad }), ("dilations", new long[] { dilation, dilation }));
        var inputs = GradCheck.RandomInputs(m);
        GradCheck.Check(m, "Y", inputs, new[] { "X", "W", "B" });
    }

    [Fact]
    public void Relu_Add_Broadcast()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 2, 3, 5, 7 });
            b.AddInput("C", ElementType.Float, new long[] { 1, 3, 1, 1 });
            return b.Relu(b.Add(b.Mul(b.Identity("X"), "X"), "C"));
        });
        GradCheck.Check(m, m.Graph.Output[0].Name, GradCheck.RandomInputs(m), new[] { "X", "C" });
    }
}
