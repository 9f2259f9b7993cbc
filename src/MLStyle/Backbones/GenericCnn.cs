using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>
/// Any ONNX CNN with one image input <c>[N, 3, H, W]</c> that expects RGB normalised with the ImageNet mean and standard
/// deviation. Layers are addressed by their raw tensor names (every Conv, Relu and pooling output is listed).
/// </summary>
internal static class GenericCnn
{
    /// <summary>Prepares a generic CNN.</summary>
    public static Backbone Create(ModelProto m, string name, string source)
    {
        if (OnnxModels.Opset(m) < OnnxModels.TargetOpset) GraphTransforms.UpgradeOpset(m);
        GraphTransforms.FoldBatchNorm(m);
        var inputs = OnnxModels.RealInputs(m);
        if (inputs.Count != 1) throw new ModelException($"'{source}' has {inputs.Count} inputs; a backbone needs exactly one image input");
        var vi = m.Graph.Input.First(i => i.Name == inputs[0]);
        var shape = vi.Type?.TensorType?.Shape;
        if (shape is not null && (shape.Dim.Count != 4 || shape.Dim[1].DimValue != 3))
            throw new ModelException($"'{source}': input '{inputs[0]}' is not an [N,3,H,W] image");
        var scale = Vgg.ImageNetStd.Select(s => 1f / (255f * s)).ToArray();
        var bias = Vgg.ImageNetMean.Select((mu, i) => -mu / Vgg.ImageNetStd[i]).ToArray();
        BackboneFactory.ReplaceInput(m, inputs[0], new[] { 0, 1, 2 }, scale, bias);
        var probe = BackboneFactory.ProbeShapes(m);
        var layers = m.Graph.Node.Skip(1)
            .Where(n => n.OpType is "Conv" or "Relu" or "MaxPool" or "AveragePool" or "Add" or "Concat" or "LeakyRelu" or "Clip")
            .Where(n => probe.Dims(n.Output[0]) is { Length: 4 })
            .Select(n => BackboneFactory.MakeLayer(probe, n.Output[0], n.Output[0]))
            .ToList();
        if (layers.Count == 0) throw new ModelException($"'{source}' has no 4-D feature layers");
        return new Backbone(name, BackboneKind.Generic, m, layers, "ONNX CNN (user-supplied); layers by tensor name.", source);
    }
}
