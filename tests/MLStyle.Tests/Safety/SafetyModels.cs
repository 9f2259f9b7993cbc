#nullable enable
using Google.Protobuf;
using MLStyle.Onnx;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Safety;

/// <summary>Small generated models, well-formed and hostile, for the safety tests.</summary>
public static class SafetyModels
{
    /// <summary>X[1,3,8,8] → Conv(W[4,3,3,3], pads 1) → Relu → Y, at opset 17.</summary>
    public static ModelProto Cnn(int seed = 1, float weightScale = 0.3f)
    {
        var b = GraphBuilder.Create("cnn");
        b.AddInput("X", ElementType.Float, [1, 3, 8, 8]);
        var w = b.Initializer(TensorProtos.FromFloats("W", GradCheck.Random(seed, 4 * 3 * 9, weightScale), 4, 3, 3, 3), "W");
        var c = b.Node("Conv", [ "X", w ], "conv1", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var y = b.Node("Relu", [c], "Y");
        b.AddOutput(y);
        return b.Model;
    }

    /// <summary>A backbone-shaped CNN (input "data" [1,3,H,W] symbolic, two conv + relu layers) for style transfer tests.</summary>
    public static ModelProto Backbone(int seed = 2, float weightScale = 0.3f)
    {
        var b = GraphBuilder.Create("tiny_cnn");
        b.AddInput("data", ElementType.Float, [1, 3, -1, -1], ["", "", "H", "W"]);
        var rng = new Random(seed);
        string x = "data";
        long cin = 3;
        foreach (var (name, cout) in new[] { ("conv1", 8L), ("conv2", 8L) })
        {
            var w = b.Initializer(TensorProtos.FromFloats(name + "_w", GradCheck.Random(rng.Next(), cout * cin * 9, weightScale), cout, cin, 3, 3), name + "_w");
            x = b.Node("Conv", [x, w], name, ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
            x = b.Node("Relu", [x], name + "_relu");
            cin = cout;
        }
        b.AddOutput(x);
        return b.Model;
    }

    /// <summary>Writes a model's bytes to a file.</summary>
    public static string Save(ModelProto m, string path)
    {
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    /// <summary>Marks <paramref name="t"/> as stored in external data at <paramref name="location"/> (its bytes are dropped).</summary>
    public static TensorProto External(TensorProto t, string location, long? length = null)
    {
        var n = length ?? t.RawData.Length;
        t.RawData = ByteString.Empty;
        t.FloatData.Clear();
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = n.ToString() });
        return t;
    }
}
