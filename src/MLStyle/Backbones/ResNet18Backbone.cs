using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>
/// The embedded ImageNet ResNet18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK export at opset 8, BGR 0–255 minus a
/// 224×224 mean image). MLStyle upgrades it to opset 17, folds its BatchNormalization, replaces the mean image by its
/// per-channel mean (so any image size works), drops the final 7×7 pooling and names its layers like torchvision:
/// conv1, pool1, layer1.0 … layer4.2 (block outputs) and layerS.B.relu (the ReLU inside each block).
/// </summary>
internal static class ResNet18Backbone
{
    /// <summary>Relative path of the network inside the model directory.</summary>
    public const string NetworkFile = "ResNet18Onnx/ResNet18.onnx";

    /// <summary>Relative path of the preprocessing graph (which holds the mean image).</summary>
    public const string PreprocessFile = "ResNetPrepOnnx/ResNetPreprocess.onnx";

    /// <summary>
    /// CNTK exported its "same" padding as fixed asymmetric pads for a 224×224 input (e.g. 1,1,0,0 on the 3×3 stride-2
    /// convolutions), which only agrees with the 1×1 projection shortcuts for even sizes. Restoring auto_pad SAME_LOWER makes
    /// every layer's output ceil(input/stride) at any size, and is identical at the sizes CNTK used.
    /// </summary>
    static void UseSamePadding(ModelProto m)
    {
        foreach (var n in m.Graph.Node.Where(n => n.OpType is "Conv" or "MaxPool"))
        {
            var pads = n.GetInts("pads");
            var strides = n.GetInts("strides");
            if (pads is null || strides is null || strides.All(v => v == 1)) continue;
            int sp = pads.Length / 2;
            bool asymmetric = Enumerable.Range(0, sp).Any(i => pads[i] != pads[i + sp]);
            if (!asymmetric) continue;
            n.Remove("pads");
            n.Set("auto_pad", "SAME_LOWER");
        }
    }

    /// <summary>Loads and prepares the network from <paramref name="modelDirectory"/> (the DnnImageModels folder).</summary>
    public static Backbone Create(string modelDirectory)
    {
        var net = Path.Combine(modelDirectory, NetworkFile);
        var prep = Path.Combine(modelDirectory, PreprocessFile);
        if (!File.Exists(net) || !File.Exists(prep))
            throw new ModelException($"the embedded ResNet18 is missing from '{modelDirectory}' (it comes with the Microsoft.ML.DnnImageFeaturizer.ResNet18 package; rebuild the project)");
        var meanImage = OnnxModels.Load(prep).Graph.Initializer.FirstOrDefault(t => t.Dims.Count == 4)
                        ?? throw new ModelException($"'{prep}' has no mean image");
        var mean = TensorProtos.ToFloats(meanImage);
        long plane = meanImage.Dims[2] * meanImage.Dims[3];
        var meanBgr = new float[3];
        for (int c = 0; c < 3; c++)
        {
            double s = 0;
            for (long i = 0; i < plane; i++) s += mean[c * plane + i];
            meanBgr[c] = (float)(s / plane);
        }

        var m = OnnxModels.Load(net);
        GraphTransforms.UpgradeOpset(m);
        GraphTransforms.FoldBatchNorm(m);
        UseSamePadding(m);
        string input = OnnxModels.RealInputs(m)[0];
        // BGR order in, mean subtracted: out[0]=B=x[2], out[1]=G=x[1], out[2]=R=x[0].
        BackboneFactory.ReplaceInput(m, input, new[] { 2, 1, 0 }, new[] { 1f, 1f, 1f }, meanBgr.Select(v => -v).ToArray());

        // Name the layers and drop the classifier pooling.
        var probe = BackboneFactory.ProbeShapes(m);
        var layers = new List<LayerInfo>();
        int stage = 0, block = 0; long prevCh = -1;
        string? last = null;
        var producers = m.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        foreach (var n in m.Graph.Node)
        {
            if (n.OpType == "MaxPool" && stage == 0) { layers.Add(BackboneFactory.MakeLayer(probe, "pool1", n.Output[0])); stage = 1; block = 0; prevCh = probe.Dims(n.Output[0])![1]; continue; }
            if (n.OpType != "Relu") continue;
            if (stage == 0) { layers.Add(BackboneFactory.MakeLayer(probe, "conv1", n.Output[0])); continue; }
            long ch = probe.Dims(n.Output[0])![1];
            if (ch != prevCh) { stage++; block = 0; prevCh = ch; }
            bool blockOut = producers.TryGetValue(n.Input[0], out var p) && p.OpType == "Add";
            layers.Add(BackboneFactory.MakeLayer(probe, blockOut ? $"layer{stage}.{block}" : $"layer{stage}.{block}.relu", n.Output[0]));
            if (blockOut) block++;
            last = n.Output[0];
        }
        GraphTransforms.Prune(m, new[] { last! });
        return new Backbone("resnet18", BackboneKind.ResNet18, m, layers,
            "ImageNet ResNet18 (embedded; CNTK export from Microsoft.ML.DnnImageFeaturizer.ResNet18). Fast; stylises well with its default layers on raw activations.",
            net);
    }
}
