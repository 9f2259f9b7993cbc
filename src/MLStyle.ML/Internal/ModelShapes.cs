using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

namespace MLStyle.ML.Internal;

/// <summary>Static output shapes (ApplyOnnxModel needs them to type its columns).</summary>
internal static class ModelShapes
{
    /// <summary>
    /// Declares <paramref name="outputs"/> as graph outputs with fully known shapes: from shape inference when it knows them,
    /// otherwise by running the model once on zeros.
    /// </summary>
    public static void AddOutputs(GraphBuilder b, IReadOnlyList<string> outputs)
    {
        if (outputs.All(o => b.Info(o) is { IsFullyKnown: true }))
        {
            foreach (var o in outputs) b.AddOutput(o);
            return;
        }
        var probe = b.Model.Clone();
        probe.Graph.Output.Clear();
        foreach (var o in outputs) probe.Graph.Output.Add(GraphBuilder.MakeValueInfo(o, ElementType.Float, null, null));
        var inputs = new Dictionary<string, FloatTensor>();
        foreach (var i in probe.Graph.Input)
        {
            var dims = GraphBuilder.FromValueInfo(i)?.Dims ?? throw new ModelException($"input '{i.Name}' has no shape");
            if (dims.Any(d => d < 0)) throw new ModelException($"input '{i.Name}' has an unknown dimension");
            inputs[i.Name] = new FloatTensor(new float[dims.Aggregate(1L, (p, d) => p * d)], dims);
        }
        using var session = new OnnxSession(probe);
        var result = session.Run(inputs, outputs);
        foreach (var o in outputs)
        {
            b.SetInfo(o, TensorInfo.Float(result[o].Shape));
            b.AddOutput(o);
        }
    }
}
