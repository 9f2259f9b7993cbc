#nullable enable
using MLStyle.Onnx;
using MLStyle.Runtime;

namespace MLStyle.Tests.Safety;

/// <summary>Anonymous dynamic input dimensions get names before ONNX Runtime sees a model (its session creation is quadratic in them).</summary>
public sealed class GraphHandlingTests
{
    [Fact]
    public void SessionsGetModelsWhoseDynamicInputDimensionsAreNamed()
    {
        var b = GraphBuilder.Create("chain");
        b.AddInput("X", ElementType.Float, [1, 3, -1, -1], ["", "", "", "W"]);
        string t = "X";
        for (int i = 0; i < 50; i++) t = b.Node("Neg", [t]);
        b.AddOutput(t);
        var dims = b.Model.Graph.Input[0].Type.TensorType.Shape.Dim;
        Assert.Equal("", dims[2].DimParam);

        using (var s = new OnnxSession(b.Model, new SessionSettings { Threads = 1 }))
        {
            var y = s.Run(new Dictionary<string, FloatTensor> { ["X"] = new FloatTensor([-1f, 2f, -3f, 4f, 5f, -6f], [1, 3, 1, 2]) });
            Assert.Equal([-1f, 2f, -3f, 4f, 5f, -6f], y[t].Data); // an even number of negations
        }
        Assert.Equal("X_d2", dims[2].DimParam);
        Assert.Equal("W", dims[3].DimParam);
        Assert.Equal(3, dims[1].DimValue);
    }
}
