using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>
/// VGG16/VGG19 files such as the ONNX model zoo's vgg16-7.onnx and vgg19-7.onnx (RGB input normalised with the ImageNet
/// mean and standard deviation). Layers are named by structure as in Gatys et al.: conv1_1, relu1_1, …, pool5.
/// </summary>
internal static class Vgg
{
    /// <summary>ImageNet mean (RGB, 0–1 scale).</summary>
    public static readonly float[] ImageNetMean = { 0.485f, 0.456f, 0.406f };

    /// <summary>ImageNet standard deviation (RGB, 0–1 scale).</summary>
    public static readonly float[] ImageNetStd = { 0.229f, 0.224f, 0.225f };

    /// <summary>True for a plain chain of 3×3 convolutions, ReLUs and max pools (no residual additions) with at least 8 convolutions.</summary>
    public static bool LooksLikeVgg(ModelProto m)
    {
        var convs = m.Graph.Node.Where(n => n.OpType == "Conv").ToList();
        if (convs.Count < 8 || m.Graph.Node.Count(n => n.OpType == "MaxPool") < 4) return false;
        var first = m.Graph.Node.TakeWhile(n => n.OpType is not ("Flatten" or "Reshape" or "Gemm" or "MatMul")).ToList();
        return !first.Any(n => n.OpType is "Add" or "Concat" or "BatchNormalization")
               && convs.All(c => c.GetInts("kernel_shape") is null or [3, 3]);
    }

    /// <summary>Prepares a VGG model.</summary>
    public static Backbone Create(ModelProto m, string name, string source, VggPooling pooling)
    {
        if (OnnxModels.Opset(m) < OnnxModels.TargetOpset) GraphTransforms.UpgradeOpset(m);
        var input = OnnxModels.RealInputs(m).FirstOrDefault() ?? throw new ModelException($"'{source}' has no input");
        var scale = ImageNetStd.Select(s => 1f / (255f * s)).ToArray();
        var bias = ImageNetMean.Select((mu, i) => -mu / ImageNetStd[i]).ToArray();
        BackboneFactory.ReplaceInput(m, input, new[] { 0, 1, 2 }, scale, bias);
        if (pooling == VggPooling.Average)
            foreach (var n in m.Graph.Node.Where(n => n.OpType == "MaxPool"))
            {
                n.OpType = "AveragePool";
                n.Remove("storage_order"); n.Remove("dilations");
                while (n.Output.Count > 1) n.Output.RemoveAt(1);
            }
        var probe = BackboneFactory.ProbeShapes(m);
        var layers = new List<LayerInfo>();
        int blockNo = 1, conv = 0;
        string? last = null;
        foreach (var n in m.Graph.Node.Skip(1)) // node 0 is the input normalisation
        {
            if (n.OpType is "Flatten" or "Reshape" or "Gemm" or "MatMul") break;
            switch (n.OpType)
            {
                case "Conv": conv++; layers.Add(BackboneFactory.MakeLayer(probe, $"conv{blockNo}_{conv}", n.Output[0])); break;
                case "Relu": layers.Add(BackboneFactory.MakeLayer(probe, $"relu{blockNo}_{conv}", n.Output[0])); last = n.Output[0]; break;
                case "MaxPool": case "AveragePool":
                    layers.Add(BackboneFactory.MakeLayer(probe, $"pool{blockNo}", n.Output[0])); last = n.Output[0];
                    blockNo++; conv = 0; break;
            }
        }
        GraphTransforms.Prune(m, new[] { last ?? throw new ModelException($"'{source}' has no VGG layers") });
        return new Backbone(name + (pooling == VggPooling.Average ? "-avgpool" : ""), BackboneKind.Vgg, m, layers,
            "VGG (user-supplied ONNX file). The classic Gatys backbone: best quality, slower and much larger than ResNet18.", source);
    }
}
