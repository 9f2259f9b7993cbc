using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>Pooling used by VGG backbones.</summary>
public enum VggPooling
{
    /// <summary>The network's own max pooling.</summary>
    Max,

    /// <summary>Average pooling, as Gatys et al. recommend for smoother results.</summary>
    Average,
}

/// <summary>Creates backbones: the embedded ResNet18, VGG16/VGG19 files, or any ONNX CNN.</summary>
public static class BackboneFactory
{
    /// <summary>Where the embedded ResNet18 files are (next to the application, copied there by the NuGet package).</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    static readonly Dictionary<string, Backbone> Cache = new();
    static readonly object Gate = new();

    /// <summary>
    /// Resolves a backbone specification: <c>resnet18</c> (embedded, the default); <c>vgg16</c>/<c>vgg19</c> (the first
    /// <c>vgg16*.onnx</c>/<c>vgg19*.onnx</c> in <paramref name="modelsDirectory"/>); or a path to an .onnx file (VGG-shaped files
    /// are recognised as VGG, anything else is a generic CNN addressed by tensor names).
    /// </summary>
    public static Backbone Resolve(string? spec, string? modelsDirectory = null, VggPooling pooling = VggPooling.Max)
    {
        spec = string.IsNullOrWhiteSpace(spec) ? "resnet18" : spec.Trim();
        var key = $"{spec}|{modelsDirectory}|{pooling}";
        lock (Gate)
        {
            if (Cache.TryGetValue(key, out var cached)) return cached;
            var b = ResolveUncached(spec, modelsDirectory, pooling);
            Cache[key] = b;
            return b;
        }
    }

    static Backbone ResolveUncached(string spec, string? modelsDirectory, VggPooling pooling)
    {
        if (spec.Equals("resnet18", StringComparison.OrdinalIgnoreCase)) return ResNet18();
        if (!spec.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !File.Exists(spec))
        {
            var dir = modelsDirectory ?? FindModelsDirectory();
            var hit = dir is null || !Directory.Exists(dir) ? null
                : Directory.EnumerateFiles(dir, spec + "*.onnx").OrderBy(f => f, StringComparer.Ordinal).FirstOrDefault();
            if (hit is null)
                throw new ModelException($"unknown model '{spec}': use resnet18, a path to an .onnx file, or put {spec}*.onnx into {(dir ?? "models/")} (see models/README.md)");
            spec = hit;
        }
        var model = OnnxModels.Load(spec);
        return Vgg.LooksLikeVgg(model) ? Vgg.Create(model, Path.GetFileNameWithoutExtension(spec), spec, pooling)
                                       : GenericCnn.Create(model, Path.GetFileNameWithoutExtension(spec), spec);
    }

    /// <summary>The models/ folder: the current directory's, or the nearest one above the application.</summary>
    public static string? FindModelsDirectory()
    {
        var cwd = Path.Combine(Directory.GetCurrentDirectory(), "models");
        if (Directory.Exists(cwd)) return cwd;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var m = Path.Combine(d.FullName, "models");
            if (Directory.Exists(m) && File.Exists(Path.Combine(m, "README.md"))) return m;
        }
        return null;
    }

    /// <summary>The embedded ImageNet ResNet18 (from Microsoft.ML.DnnImageFeaturizer.ResNet18).</summary>
    public static Backbone ResNet18(string? modelDirectory = null) => ResNet18Backbone.Create(modelDirectory ?? DefaultModelDirectory);

    /// <summary>
    /// Replaces a model's image input with <see cref="Backbone.InputName"/> (RGB 0–255, symbolic N/H/W) followed by a 1×1
    /// convolution that reorders channels and applies the model's own normalisation: out[c] = x[src[c]]·scale[c] + bias[c].
    /// </summary>
    internal static void ReplaceInput(ModelProto m, string oldInput, int[] sourceChannel, float[] scale, float[] bias)
    {
        var g = m.Graph;
        var old = g.Input.FirstOrDefault(i => i.Name == oldInput) ?? throw new ModelException($"model has no input '{oldInput}'");
        g.Input.Remove(old);
        var b = new GraphBuilder(m);
        var normOut = b.UniqueName("normalized_image");
        var consumers = g.Node.Where(n => n.Input.Contains(oldInput)).ToList();
        NodeProto norm;
        if (consumers.Count > 0 && consumers.All(n => FoldableFirstConv(b, g, n, oldInput)) && scale.All(v => v != 0))
        {
            // out[c] = x[src[c]]·scale[c] + bias[c] = scale[c]·(x + o)[src[c]] with o[src[c]] = bias[c]/scale[c]: one Add on
            // the image, and the channel order and scales moved exactly into the first convolutions' weights.
            var offset = new float[3];
            for (int c = 0; c < 3; c++) offset[sourceChannel[c]] = bias[c] / scale[c];
            foreach (var conv in consumers)
            {
                var wt = b.ConstantValue(conv.Input[1])!;
                var w = TensorProtos.ToFloats(wt);
                long cout = wt.Dims[0], per = wt.Dims[2] * wt.Dims[3];
                var nw = new float[w.Length];
                for (long o = 0; o < cout; o++)
                    for (int c = 0; c < 3; c++)
                        for (long k = 0; k < per; k++)
                            nw[(o * 3 + sourceChannel[c]) * per + k] = w[(o * 3 + c) * per + k] * scale[c];
                conv.Input[1] = b.Initializer(TensorProtos.FromFloats("", nw, wt.Dims.ToArray()), conv.Input[1] + "_rgb");
            }
            var on = b.Constant(offset, new long[] { 1, 3, 1, 1 }, "input_norm_offset");
            norm = new NodeProto { OpType = "Add", Name = b.UniqueName("input_normalization") };
            norm.Input.Add(Backbone.InputName); norm.Input.Add(on);
        }
        else
        {
            // General case: a 1×1 convolution that reorders the channels, scales and offsets them.
            var w = new float[9];
            for (int c = 0; c < 3; c++) w[c * 3 + sourceChannel[c]] = scale[c];
            var wn = b.Constant(w, new long[] { 3, 3, 1, 1 }, "input_norm_w");
            var bn = b.Constant(bias, new long[] { 3 }, "input_norm_b");
            norm = new NodeProto { OpType = "Conv", Name = b.UniqueName("input_normalization") };
            norm.Input.Add(Backbone.InputName); norm.Input.Add(wn); norm.Input.Add(bn);
            norm.Attribute.Add(Attributes.Make("kernel_shape", new long[] { 1, 1 }));
        }
        norm.Output.Add(normOut);
        foreach (var n in g.Node) for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == oldInput) n.Input[i] = normOut;
        g.Node.Insert(0, norm);
        GraphTransforms.RemoveUnusedInitializers(m);
        g.Input.Insert(0, GraphBuilder.MakeValueInfo(Backbone.InputName, ElementType.Float, new long[] { -1, 3, -1, -1 }, new[] { "N", "", "H", "W" }));
        g.ValueInfo.Clear();
        foreach (var o in g.Output) if (o.Type?.TensorType is { } tt) tt.Shape = null;
    }

    /// <summary>A first convolution whose constant weights (used by it alone) can absorb the input's channel order and scale.</summary>
    static bool FoldableFirstConv(GraphBuilder b, GraphProto g, NodeProto n, string input) =>
        n.OpType == "Conv" && n.Input[0] == input && n.Input.Skip(1).All(i => i != input)
        && n.GetInt("group", 1) == 1
        && b.ConstantValue(n.Input[1]) is { Dims.Count: 4 } w && w.Dims[1] == 3
        && g.Node.Count(x => x.Input.Contains(n.Input[1])) == 1;

    /// <summary>Shapes of every tensor for a 224×224 image (for channel counts and strides).</summary>
    internal static GraphBuilder ProbeShapes(ModelProto trunk, int size = 224)
    {
        var m = trunk.Clone();
        var inp = m.Graph.Input.First(i => i.Name == Backbone.InputName);
        var dims = inp.Type.TensorType.Shape.Dim;
        dims[0].DimValue = 1; dims[2].DimValue = size; dims[3].DimValue = size;
        return new GraphBuilder(m);
    }

    internal static LayerInfo MakeLayer(GraphBuilder probe, string name, string tensor, int size = 224)
    {
        var d = probe.Dims(tensor);
        long ch = d is { Length: > 1 } ? d[1] : -1;
        int stride = d is { Length: 4 } && d[2] > 0 ? (int)Math.Round(size / (double)d[2]) : 0;
        return new LayerInfo(name, tensor, ch, stride);
    }
}
