using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Autodiff;

public class StructureGradientTests
{
    static long[] S(string s) => s.Split(',').Select(long.Parse).ToArray();
    static readonly long[] X4 = { 2, 3, 5, 7 };

    static void CheckX(ModelProto m, long[] xs, int seed = 1) =>
        GradCheck.Check(m, m.Graph.Output[0].Name, new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(seed, xs) }, new[] { "X" });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Flatten(int axis) => CheckX(GradCheck.OneNode("Flatten", new[] { ("X", X4) }, ("axis", (long)axis)), X4);

    [Theory]
    [InlineData("6,35")]
    [InlineData("-1,7")]
    [InlineData("0,3,35")]
    [InlineData("2,105")]
    public void Reshape(string shape) =>
        CheckX(GradCheck.Build(b => { b.AddInput("X", ElementType.Float, X4); return b.Reshape("X", S(shape)); }), X4);

    [Theory]
    [InlineData("0,2,3,1")]
    [InlineData("3,1,0,2")]
    [InlineData("")]          // default: reverse the axes
    public void Transpose(string perm)
    {
        var attrs = perm.Length > 0 ? new (string, object)[] { ("perm", S(perm)) } : Array.Empty<(string, object)>();
        CheckX(GradCheck.OneNode("Transpose", new[] { ("X", X4) }, attrs), X4);
    }

    [Theory]
    [InlineData(1, "2,3,5,7", "2,2,5,7", "2,1,5,7")]
    [InlineData(-1, "2,3,5,7", "2,3,5,4", "2,3,5,1")]
    [InlineData(-3, "1,3,5,7", "1,2,5,7", "1,4,5,7")]
    [InlineData(0, "2,3,5,7", "1,3,5,7", "2,3,5,7")]
    public void Concat(int axis, string a, string b, string c)
    {
        var m = GradCheck.OneNode("Concat", new[] { ("A", S(a)), ("B", S(b)), ("C", S(c)) }, ("axis", (long)axis));
        var inputs = new Dictionary<string, FloatTensor> { ["A"] = GradCheck.Tensor(1, S(a)), ["B"] = GradCheck.Tensor(2, S(b)), ["C"] = GradCheck.Tensor(3, S(c)) };
        GradCheck.Check(m, "Y", inputs, new[] { "A", "B", "C" });
    }

    [Fact]
    public void Concat_SameTensorTwice()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            b.AddInput("Z", ElementType.Float, X4);
            return b.Concat(1, "X", "Z", "X");
        });
        var inputs = new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, X4), ["Z"] = GradCheck.Tensor(2, X4) };
        GradCheck.Check(m, m.Graph.Output[0].Name, inputs, new[] { "X", "Z" });
    }

    [Theory]
    [InlineData("1", "-1", "2")]
    [InlineData("-3", "9223372036854775807", "3")]         // INT64_MAX end
    [InlineData("0,1,-4", "2,4,2147483647", "1,2,3")]       // several axes, INT32_MAX end
    [InlineData("1,2", "-1,100", "")]                       // no axes: the first axes; end past the dim
    [InlineData("-100,1", "-2,-1", "-1,-2")]                // negative axes, start before the beginning
    [InlineData("1,0,-2,-9", "2,-1,5,-1", "0,1,2,3")]       // every axis
    public void Slice(string starts, string ends, string axes)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            var ins = new List<string> { "X", b.Ints(S(starts)), b.Ints(S(ends)) };
            if (axes.Length > 0) ins.Add(b.Ints(S(axes)));
            return b.Node("Slice", ins, "Y");
        });
        CheckX(m, X4);
    }

    [Theory]
    [InlineData("0", "7", "3", "2")]                                   // every other column
    [InlineData("1", "7", "3", "3")]                                   // step 3 from 1: 1, 4
    [InlineData("-1", "-100", "3", "-1")]                              // reversed, end clamped before the beginning
    [InlineData("6", "0", "3", "-2")]                                  // step −2 stopping above 0: 6, 4, 2
    [InlineData("100", "-100", "-1", "-3")]                            // start clamped to the last index, step −3
    [InlineData("-2,9223372036854775807", "-100,-1", "2,3", "-1,2")]   // two axes, INT64_MAX end, mixed signs
    [InlineData("0,1,2,-1", "2,3,-1,-8", "0,1,2,3", "1,2,3,-2")]       // every axis, step 1 on the first
    [InlineData("5", "1", "3", "2")]                                   // empty slice: the gradient is zero
    public void Slice_Steps(string starts, string ends, string axes, string steps)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            return b.Node("Slice", new[] { "X", b.Ints(S(starts)), b.Ints(S(ends)), b.Ints(S(axes)), b.Ints(S(steps)) }, "Y");
        });
        CheckX(m, X4);
    }

    [Fact]
    public void Slice_StepsMatchScatterIntoZeros()
    {
        // Exact check of where each gradient lands: the seed value of output i appears at input index start + i·step, zero elsewhere.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, new long[] { 1, 11 });
            return b.Node("Slice", new[] { "X", b.Ints(9), b.Ints(-100), b.Ints(1), b.Ints(-4) }, "Y");   // 9, 5, 1
        });
        var grad = MLStyle.Autodiff.Differentiator.Differentiate(m, "Y", new[] { "X" });
        using var session = new OnnxSession(grad);
        var outs = session.Run(new Dictionary<string, FloatTensor>
        {
            ["X"] = GradCheck.Tensor(1, new long[] { 1, 11 }),
            ["Y_seed"] = FloatTensor.Of(new float[] { 10, 20, 30 }, new long[] { 1, 3 }),
        });
        var dx = outs["X_grad"].Data.ToArray();
        Assert.Equal(new float[] { 0, 30, 0, 0, 0, 20, 0, 0, 0, 10, 0 }, dx);
    }

    [Theory]
    [InlineData("constant", "0,0,1,2,0,0,2,0")]
    [InlineData("constant", "0,1,0,3,1,0,2,0")]
    [InlineData("reflect", "0,0,2,1,0,0,1,3")]
    [InlineData("reflect", "0,0,4,0,0,0,0,6")]   // pads up to dim − 1
    [InlineData("edge", "0,0,1,0,0,0,2,3")]
    [InlineData("edge", "0,0,0,4,0,0,3,0")]
    public void Pad(string mode, string pads)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            return b.Pad("X", S(pads), mode);
        });
        CheckX(m, X4);
    }

    [Fact]
    public void Pad_ConstantValue()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            return b.Node("Pad", new[] { "X", b.Ints(0, 0, 1, 1, 0, 0, 2, 0), b.Scalar(0.5f) }, "Y", ("mode", "constant"));
        });
        CheckX(m, X4);
    }

    [Theory]
    [InlineData("3,1,1", "2,3,5,7")]
    [InlineData("1,5,1", "2,3,5,7")]
    [InlineData("7", "1,3,1,7")]
    [InlineData("2,1,5,7", "2,3,5,7")]
    public void Expand(string from, string to)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, S(from));
            return b.Expand("X", b.Ints(S(to)));
        });
        CheckX(m, S(from));
    }

    [Theory]
    [InlineData("Squeeze", "2,1,5,1", "1,3")]
    [InlineData("Squeeze", "2,1,5,1", "")]
    [InlineData("Unsqueeze", "2,3,5", "0,-1")]
    [InlineData("Unsqueeze", "2,3,5", "2")]
    public void SqueezeUnsqueeze(string op, string shape, string axes)
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, S(shape));
            var ins = axes.Length > 0 ? new[] { "X", b.Ints(S(axes)) } : new[] { "X" };
            return b.Node("Tanh", new[] { b.Node(op, ins) }, "Y");
        });
        CheckX(m, S(shape));
    }
}
