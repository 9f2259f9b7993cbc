using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Onnx;

public class GraphTransformsTests
{
    static Dictionary<string, FloatTensor> Run(ModelProto m, Dictionary<string, FloatTensor> inputs, params string[] outputs)
    {
        using var s = new OnnxSession(m);
        return s.Run(inputs, outputs.Length == 0 ? null : outputs);
    }

    /// <summary>An opset-8 model using operators whose signatures changed later.</summary>
    static ModelProto OldModel()
    {
        var b = GraphBuilder.Create("old", 8);
        b.AddInput("X", ElementType.Float, new long[] { 1, 4, 6, 6 });
        var rng = new Random(2);
        string C(long[] dims, float scale = 1f, float offset = 0f) => b.Constant(GradCheck.Random(rng.Next(), dims.Aggregate(1L, (a, v) => a * v), scale, offset), dims);
        var bn = b.Node("BatchNormalization", new[] { "X", C(new long[] { 4 }), C(new long[] { 4 }), C(new long[] { 4 }), C(new long[] { 4 }, 0.1f, 1f) }, "bn",
            ("spatial", 1L), ("epsilon", 1e-5f));
        var drop = b.Node("Dropout", new[] { bn }, "drop", ("ratio", 0.5f));
        var pad = b.Node("Pad", new[] { drop }, "pad", ("pads", new long[] { 0, 0, 1, 2, 0, 0, 1, 0 }), ("mode", "reflect"));
        var slice = b.Node("Slice", new[] { pad }, "slice", ("starts", new long[] { 1, 0 }), ("ends", new long[] { -1, 1000 }), ("axes", new long[] { 2, 3 }));
        var up = b.Node("Upsample", new[] { slice }, "up", ("mode", "nearest"), ("scales", new[] { 1f, 1f, 2f, 2f }));
        var sm = b.Node("Softmax", new[] { up }, "softmax", ("axis", 1L)); // opset < 13: softmax over the flattened C·H·W
        var rs = b.Node("ReduceSum", new[] { sm }, "rsum", ("axes", new long[] { 2 }), ("keepdims", 1L));
        var sq = b.Node("Squeeze", new[] { rs }, "squeeze", ("axes", new long[] { 2 }));
        b.AddOutput(sq);
        return b.Model;
    }

    [Fact]
    public void UpgradeOpset_To17_KeepsOutputs()
    {
        var old = OldModel();
        var x = new Dictionary<string, FloatTensor> { ["X"] = FloatTensor.Of(GradCheck.Random(5, 144), 1, 4, 6, 6) };
        var expected = Run(old, x).Values.Single();
        var upgraded = old.Clone();
        GraphTransforms.UpgradeOpset(upgraded);
        Assert.Equal(17, OnnxModels.Opset(upgraded));
        Assert.DoesNotContain(upgraded.Graph.Node, n => n.OpType is "Dropout" or "Upsample");
        Assert.DoesNotContain(upgraded.Graph.Node, n => n.Attribute.Any(a => a.Name is "spatial" or "pads" or "starts" or "axes" && n.OpType is "BatchNormalization" or "Pad" or "Slice" or "Squeeze" or "ReduceSum"));
        var actual = Run(upgraded, x).Values.Single();
        Assert.Equal(expected.Shape, actual.Shape);
        for (int i = 0; i < expected.Data.Length; i++) Assert.Equal(expected.Data[i], actual.Data[i], 5);
    }

    [Fact]
    public void FoldBatchNorm_RemovesBatchNorm_KeepsOutputs()
    {
        var m = MiniModels.Vgg(opset: 17);
        // Insert a BN after the first conv.
        var b = new GraphBuilder(m);
        var conv = m.Graph.Node.First(n => n.OpType == "Conv");
        var relu = m.Graph.Node.First(n => n.Input.Contains(conv.Output[0]));
        var rng = new Random(4);
        string C(float scale, float offset) => b.Constant(GradCheck.Random(rng.Next(), 4, scale, offset), new long[] { 4 });
        var bnNode = new NodeProto { OpType = "BatchNormalization", Name = "bn" };
        bnNode.Input.AddRange(new[] { conv.Output[0], C(0.5f, 1f), C(0.3f, 0f), C(0.2f, 0f), C(0.1f, 1f) });
        bnNode.Output.Add("bn_out");
        m.Graph.Node.Insert(m.Graph.Node.IndexOf(relu), bnNode);
        relu.Input[0] = "bn_out";
        var x = new Dictionary<string, FloatTensor> { ["data"] = FloatTensor.Of(GradCheck.Random(1, 3 * 224 * 224), 1, 3, 224, 224) };
        var expected = Run(m, x).Values.Single();
        var folded = m.Clone();
        Assert.Equal(1, GraphTransforms.FoldBatchNorm(folded));
        Assert.DoesNotContain(folded.Graph.Node, n => n.OpType == "BatchNormalization");
        var actual = Run(folded, x).Values.Single();
        for (int i = 0; i < expected.Data.Length; i++) Assert.Equal(expected.Data[i], actual.Data[i], 5);
    }

    [Fact]
    public void ExposeOutputs_Prune_AndSymbolicDims()
    {
        var m = MiniModels.Vgg(opset: 17);
        GraphTransforms.ExposeOutputs(m, new[] { "relu2_1" });
        var x = new Dictionary<string, FloatTensor> { ["data"] = FloatTensor.Of(GradCheck.Random(1, 3 * 224 * 224), 1, 3, 224, 224) };
        var full = Run(m, x, "relu2_1")["relu2_1"];
        Assert.Equal(new long[] { 1, 6, 112, 112 }, full.Shape);

        var pruned = m.Clone();
        GraphTransforms.Prune(pruned, new[] { "relu2_1" });
        Assert.DoesNotContain(pruned.Graph.Node, n => n.OpType == "Gemm");
        Assert.True(pruned.Graph.Initializer.Count < m.Graph.Initializer.Count);
        Assert.Equal(full.Data, Run(pruned, x)["relu2_1"].Data);

        GraphTransforms.MakeInputDimsSymbolic(pruned, "data", new Dictionary<int, string> { [0] = "N", [2] = "H", [3] = "W" });
        var y = Run(pruned, new Dictionary<string, FloatTensor> { ["data"] = FloatTensor.Of(GradCheck.Random(2, 2 * 3 * 40 * 50), 2, 3, 40, 50) })["relu2_1"];
        Assert.Equal(new long[] { 2, 6, 20, 25 }, y.Shape);
        Assert.Throws<ModelException>(() => GraphTransforms.Prune(m.Clone(), new[] { "nope" }));
        Assert.Throws<ModelException>(() => GraphTransforms.ExposeOutputs(m.Clone(), new[] { "nope" }));
    }

    [Fact]
    public void GraphBuilder_GivesUniqueNames_AndInfersShapes()
    {
        var b = GraphBuilder.Create();
        b.AddInput("x", ElementType.Float, new long[] { 2, 3, 9, 11 });
        var a = b.Node("Relu", new[] { "x" }, "y");
        var c = b.Node("Relu", new[] { a }, "y");
        Assert.NotEqual(a, c);
        var w = b.Constant(new float[4 * 3 * 3 * 3], new long[] { 4, 3, 3, 3 });
        var conv = b.Node("Conv", new[] { c, w }, null, ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 0, 0 }));
        Assert.Equal(new long[] { 2, 4, 4, 5 }, b.Dims(conv));
        var mm = b.MatMul(b.Reshape(conv, 2, 4, -1), b.Transpose(b.Reshape(conv, 2, 4, -1), 0, 2, 1));
        Assert.Equal(new long[] { 2, 4, 4 }, b.Dims(mm));
        Assert.Same(b.Scalar(2f), b.Scalar(2f));
    }

    [Fact]
    public void Load_MissingAndNonOnnx_AreModelExceptions()
    {
        using var dir = new TestImages.TempDir();
        Assert.Contains("does not exist", Assert.Throws<ModelException>(() => OnnxModels.Load(dir.File("x.onnx"))).Message);
        File.WriteAllBytes(dir.File("bad.onnx"), new byte[] { 1, 2, 3, 4, 5 });
        Assert.Contains("is not an ONNX model", Assert.Throws<ModelException>(() => OnnxModels.Load(dir.File("bad.onnx"))).Message);
        File.WriteAllBytes(dir.File("empty.onnx"), Array.Empty<byte>());
        Assert.Contains("is not an ONNX model", Assert.Throws<ModelException>(() => OnnxModels.Load(dir.File("empty.onnx"))).Message);
    }
}
