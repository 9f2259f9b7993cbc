using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Autodiff;

public class ElementwiseGradientTests
{
    static long[] S(string s) => s.Split(',').Select(long.Parse).ToArray();

    static readonly long[] X4 = { 2, 3, 5, 7 };

    static FloatTensor Positive(int seed, long[] shape, float min = 0.5f) =>
        FloatTensor.Of(GradCheck.Random(seed, shape.Aggregate(1L, (a, b) => a * b)).Select(v => min + Math.Abs(v)).ToArray(), shape);

    [Theory]
    [InlineData("Relu")]
    [InlineData("LeakyRelu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("Identity")]
    [InlineData("Neg")]
    [InlineData("Exp")]
    [InlineData("Sqrt")]
    [InlineData("Log")]
    [InlineData("Abs")]
    [InlineData("Reciprocal")]
    public void Unary(string op)
    {
        var shape = new long[] { 2, 3, 5, 7 };
        var attrs = op == "LeakyRelu" ? new (string, object)[] { ("alpha", 0.2f) } : Array.Empty<(string, object)>();
        var m = GradCheck.OneNode(op, new[] { ("X", shape) }, attrs);
        var x = op switch
        {
            "Relu" or "LeakyRelu" or "Abs" => GradCheck.SpacedTensor(3, shape, 0.05f),   // no value within 0.025 of the kink; h = 0.01
            "Sqrt" or "Log" or "Reciprocal" => Positive(3, shape),
            _ => GradCheck.Tensor(3, shape),
        };
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = x }, new[] { "X" }, h: 1e-2);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Clip(bool hasMin, bool hasMax)
    {
        var shape = new long[] { 1, 3, 5, 7 };
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, shape);
            var ins = new List<string> { "X", hasMin ? b.Scalar(-0.5f) : "" };
            if (hasMax) ins.Add(b.Scalar(0.7f));
            return b.Node("Clip", ins, "Y");
        });
        // Spaced values (odd multiples of 0.025) stay ≥ 0.025 from both bounds.
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.SpacedTensor(4, shape, 0.05f) }, new[] { "X" });
    }

    [Theory]
    [InlineData(2f)]
    [InlineData(3f)]
    [InlineData(0.5f)]
    [InlineData(-1.5f)]
    public void Pow_ConstantExponent(float p)
    {
        var shape = new long[] { 2, 3, 5, 7 };
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, shape);
            return b.Node("Pow", new[] { "X", b.Scalar(p) }, "Y");
        });
        var x = p == MathF.Round(p) ? GradCheck.Tensor(5, shape) : Positive(5, shape);
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = x }, new[] { "X" }, h: 1e-3);
    }

    [Theory]
    [InlineData("2,3,5,7", "2,3,5,7")]
    [InlineData("2,3,5,7", "3,1,1")]
    [InlineData("3,1,1", "2,3,5,7")]
    public void Pow_TensorExponent(string xs, string es)
    {
        var m = GradCheck.OneNode("Pow", new[] { ("X", S(xs)), ("E", S(es)) });
        var inputs = new Dictionary<string, FloatTensor>
        {
            ["X"] = Positive(6, S(xs)),
            ["E"] = GradCheck.Tensor(7, S(es), 0.7f),
        };
        GradCheck.Check(m, "Y", inputs, new[] { "X", "E" }, h: 1e-3);
    }

    public static IEnumerable<object[]> BinaryCases()
    {
        var pairs = new[]
        {
            ("2,3,5,7", "2,3,5,7"),
            ("2,3,5,7", "3,1,1"),
            ("2,3,5,7", "1"),
            ("2,3,5,7", "7"),
            ("3,1,1", "2,3,5,7"),   // first operand broadcast
            ("1", "2,3,5,7"),
            ("1,3,1,7", "2,1,5,1"), // both broadcast
            ("5,1", "2,3,1,7"),     // lower rank, both broadcast
        };
        foreach (var op in new[] { "Add", "Sub", "Mul", "Div" })
            foreach (var (a, b) in pairs) yield return new object[] { op, a, b };
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary_Broadcasting(string op, string aShape, string bShape)
    {
        var m = GradCheck.OneNode(op, new[] { ("A", S(aShape)), ("B", S(bShape)) });
        var inputs = new Dictionary<string, FloatTensor>
        {
            ["A"] = GradCheck.Tensor(8, S(aShape)),
            // Keep divisors away from zero.
            ["B"] = op == "Div" ? Positive(9, S(bShape)) : GradCheck.Tensor(9, S(bShape)),
        };
        GradCheck.Check(m, "Y", inputs, new[] { "A", "B" }, h: 1e-3);
    }

    [Fact]
    public void Binary_SameTensorBothOperands()
    {
        // X·X and X/X: both contributions to one tensor must be summed.
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            return b.Add(b.Mul("X", "X"), b.Div("X", b.Add("X", b.Scalar(5f))));
        });
        GradCheck.Check(m, m.Graph.Output[0].Name, new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(10, X4) }, new[] { "X" }, h: 1e-3);
    }

    [Fact]
    public void Sum_ThreeOperandsWithBroadcasting()
    {
        var m = GradCheck.OneNode("Sum", new[] { ("A", S("2,3,5,7")), ("B", S("3,1,1")), ("C", S("7")) });
        var inputs = new Dictionary<string, FloatTensor>
        {
            ["A"] = GradCheck.Tensor(11, S("2,3,5,7")), ["B"] = GradCheck.Tensor(12, S("3,1,1")), ["C"] = GradCheck.Tensor(13, S("7")),
        };
        GradCheck.Check(m, "Y", inputs, new[] { "A", "B", "C" });
    }

    [Fact]
    public void Sum_TwoOperands()
    {
        var m = GradCheck.OneNode("Sum", new[] { ("A", S("1,3,5,7")), ("B", S("1,3,5,7")) });
        var inputs = new Dictionary<string, FloatTensor> { ["A"] = GradCheck.Tensor(11, S("1,3,5,7")), ["B"] = GradCheck.Tensor(12, S("1,3,5,7")) };
        GradCheck.Check(m, "Y", inputs, new[] { "A", "B" });
    }

    [Fact]
    public void Cast_FloatToFloat()
    {
        var m = GradCheck.Build(b =>
        {
            b.AddInput("X", ElementType.Float, X4);
            return b.Node("Cast", new[] { b.Node("Tanh", new[] { "X" }) }, "Y", ("to", (long)ElementType.Float));
        });
        GradCheck.Check(m, "Y", new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(14, X4) }, new[] { "X" });
    }
}
