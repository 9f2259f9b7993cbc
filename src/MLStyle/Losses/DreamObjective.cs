using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Losses;

/// <summary>How DeepDream scores a layer's activations (unguided dreams).</summary>
public enum DreamReduction
{
    /// <summary>The mean of the activations (the TensorFlow DeepDream tutorial's objective).</summary>
    Mean,

    /// <summary>The mean of the squared activations (Google's original "L2" objective, whose gradient is the activations).</summary>
    L2,
}

/// <summary>Everything that defines a DeepDream objective over a backbone.</summary>
/// <param name="Backbone">The network whose activations are maximised.</param>
/// <param name="Layers">Layers with weights; the objective is Σ weight · term(layer).</param>
/// <param name="Reduction">How an unguided layer's activations become a number.</param>
/// <param name="Channels">Only these channels of every layer count (null: all channels).</param>
/// <param name="Guided">
/// Guided dreaming: each layer's term is the mean over the image's positions of the best dot product between the image's
/// feature vector there and any of the guide image's feature vectors (Google's <c>objective_guide</c>); the guide features
/// are graph inputs (<see cref="DreamObjective.GuideFeatures"/>). <paramref name="Reduction"/> is then not used.
/// </param>
public sealed record DreamObjectiveSpec(
    Backbone Backbone,
    IReadOnlyList<WeightedLayer> Layers,
    DreamReduction Reduction = DreamReduction.Mean,
    IReadOnlyList<int>? Channels = null,
    bool Guided = false)
{
    /// <summary>Checks layer names, weights and channels; throws an <see cref="MLStyleException"/> naming the problem.</summary>
    public void Validate()
    {
        if (Layers.Count == 0) throw new MLStyleException("DeepDream needs at least one layer");
        foreach (var l in Layers)
        {
            var info = Backbone.Layer(l.Layer);
            if (!(l.Weight >= 0) || float.IsInfinity(l.Weight)) throw new MLStyleException($"invalid weight {l.Weight} of layer '{l.Layer}': must be finite and non-negative");
            if (Channels is null) continue;
            long c = info.Channels;
            if (c <= 0) throw new MLStyleException($"layer '{l.Layer}' has an unknown channel count, so channels cannot be chosen in it");
            foreach (var ch in Channels)
                if (ch < 0 || ch >= c) throw new MLStyleException($"channel {ch} is out of range for layer '{l.Layer}', which has {c} channels (0–{c - 1})");
        }
        if (Layers.All(l => l.Weight == 0)) throw new MLStyleException("every DeepDream layer has weight 0");
        if (Layers.Select(l => Backbone.Layer(l.Layer).Tensor).Distinct().Count() != Layers.Count)
            throw new MLStyleException($"a layer is listed twice in '{string.Join(",", Layers.Select(l => l.Layer))}'");
        if (Channels is { Count: 0 }) throw new MLStyleException("the channel list is empty");
        if (Channels is not null && Channels.Distinct().Count() != Channels.Count)
            throw new MLStyleException($"a channel is listed twice in '{string.Join(",", Channels)}'");
    }

    /// <summary>Channels each layer's term uses (after <see cref="Channels"/>).</summary>
    public long SelectedChannels(int layer) => Channels?.Count ?? Backbone.Layer(Layers[layer].Layer).Channels;
}

/// <summary>The default DeepDream layers of each kind of backbone.</summary>
public static class DreamDefaults
{
    /// <summary>
    /// ResNet18: <c>layer3.0</c> and <c>layer3.1</c> (stride 16, 256 channels), chosen by looking at dreams of each stage
    /// (README, docs/images/dream-layers.jpg): layer2.x gives fine stripes, dots and colour noise but no objects; layer3.0
    /// fills the picture with eyes and dog faces, the most recognisable dream; layer3.1 gives fur, snouts and eyes, softer;
    /// layer4.x gives larger, coarser shells and feathers with fewer recognisable things at photo sizes. The block outputs look
    /// richer than the <c>.relu</c> taps inside the blocks (which give blobs and bubbles). Both layer3 blocks together keep
    /// layer3.0's faces with layer3.1's fur. VGG: <c>relu4_2</c>. Any other network: the layer two thirds of the way down.
    /// </summary>
    public static IReadOnlyList<WeightedLayer> Layers(Backbone backbone)
    {
        if (backbone.Kind == BackboneKind.ResNet18) return new[] { new WeightedLayer("layer3.0", 1f), new WeightedLayer("layer3.1", 1f) };
        if (backbone.Kind == BackboneKind.Vgg) return new[] { new WeightedLayer("relu4_2", 1f) };
        var deep = backbone.Layers.Where(l => l.Channels > 0).ToList();
        if (deep.Count == 0) throw new ModelException($"backbone '{backbone.Name}' has no feature layers to dream with");
        return new[] { new WeightedLayer(deep[Math.Min(deep.Count - 1, deep.Count * 2 / 3)].Name, 1f) };
    }
}

/// <summary>
/// Builds the ONNX graphs of DeepDream: the objective over a backbone trunk specialised to one image size, its gradient
/// with respect to the image (from <see cref="Differentiator.AddGradients"/>), and the guide-feature extractor.
/// </summary>
public static class DreamObjective
{
    /// <summary>Output: the scalar objective (to be maximised).</summary>
    public const string Objective = "objective";

    /// <summary>Output: d objective / d image, shape <c>[1, 3, H, W]</c>.</summary>
    public const string ImageGrad = "image_grad";

    /// <summary>
    /// Input <c>[L]</c>: a factor per layer that multiplies that layer's term (1 for a whole image). Tiled dreaming passes
    /// (feature positions of the tile) / (feature positions of the whole image) so that tile gradients add up to the whole
    /// image's gradient.
    /// </summary>
    public const string LayerScale = "layer_scale";

    /// <summary>Name of the guide features of the i-th layer: an input of the objective model <c>[C, n]</c> (C selected channels,
    /// n guide positions), an output of the guide model.</summary>
    public static string GuideFeatures(int i) => $"guide_features_{i}";

    static ModelProto Trunk(DreamObjectiveSpec spec, int width, int height)
    {
        var m = spec.Backbone.TrunkFor(spec.Layers.Select(l => spec.Backbone.Layer(l.Layer)));
        var inp = m.Graph.Input.First(i => i.Name == Backbone.InputName);
        var dims = inp.Type.TensorType.Shape.Dim;
        long[] want = { 1, 3, height, width };
        for (int i = 0; i < 4; i++) dims[i].DimValue = want[i];
        m.Graph.Output.Clear();
        return m;
    }

    /// <summary>The features of layer <paramref name="i"/>, reduced to the selected channels by a 1×1 selection convolution.</summary>
    static string Features(GraphBuilder b, DreamObjectiveSpec spec, int i)
    {
        var layer = spec.Backbone.Layer(spec.Layers[i].Layer);
        var f = layer.Tensor;
        if (spec.Channels is null) return f;
        long c = b.Dims(f)?[1] ?? layer.Channels;
        int k = spec.Channels.Count;
        var w = new float[k * c];
        for (int j = 0; j < k; j++) w[j * c + spec.Channels[j]] = 1f;
        var wn = b.Constant(w, new long[] { k, c, 1, 1 }, "dream_channels");
        return b.Node("Conv", new[] { f, wn }, "dream_selected", ("kernel_shape", new long[] { 1, 1 }));
    }

    /// <summary>Features <c>[1, C, h, w]</c> as <c>[C, h·w]</c>.</summary>
    static string Flatten(GraphBuilder b, string f)
    {
        var d = b.Dims(f) ?? throw new ModelException($"the shape of '{f}' is unknown");
        return b.Reshape(f, d[1], d[2] * d[3]);
    }

    /// <summary>
    /// The guide model for a guide image of <paramref name="width"/>×<paramref name="height"/>: input <c>image</c>, outputs
    /// <see cref="GuideFeatures"/>(i) <c>[C, h·w]</c> for every layer (selected channels only).
    /// </summary>
    public static ModelProto BuildGuideModel(DreamObjectiveSpec spec, int width, int height)
    {
        spec.Validate();
        var m = Trunk(spec, width, height);
        var b = new GraphBuilder(m);
        for (int i = 0; i < spec.Layers.Count; i++)
            b.AddOutput(b.Identity(Flatten(b, Features(b, spec, i)), GuideFeatures(i)));
        GraphTransforms.RemoveUnusedInitializers(m);
        return m;
    }

    /// <summary>
    /// The objective model for an image of <paramref name="width"/>×<paramref name="height"/>: inputs <c>image</c> (RGB 0–255),
    /// <see cref="LayerScale"/> <c>[L]</c> and, when guided, <see cref="GuideFeatures"/>(i) with <paramref name="guidePositions"/>[i]
    /// columns; outputs <see cref="Objective"/> = Σᵢ weightᵢ · layer_scaleᵢ · termᵢ and, with <paramref name="withGradient"/>,
    /// <see cref="ImageGrad"/>. The terms: mean or mean square of the (selected) activations, or for guided dreams
    /// mean over positions p of maxₙ ⟨f(p), guide(n)⟩.
    /// </summary>
    public static ModelProto BuildModel(DreamObjectiveSpec spec, int width, int height, IReadOnlyList<long>? guidePositions = null, bool withGradient = true)
    {
        spec.Validate();
        if (spec.Guided && (guidePositions is null || guidePositions.Count != spec.Layers.Count))
            throw new ArgumentException("a guided objective needs the number of guide positions of every layer", nameof(guidePositions));
        var m = Trunk(spec, width, height);
        var b = new GraphBuilder(m);
        int L = spec.Layers.Count;
        var terms = new List<string>();
        for (int i = 0; i < L; i++)
        {
            var f = Features(b, spec, i);
            string term;
            if (spec.Guided)
            {
                long c = spec.SelectedChannels(i);
                var g = b.AddInput(GuideFeatures(i), ElementType.Float, new[] { c, guidePositions![i] });
                var x = b.Transpose(Flatten(b, f), 1, 0);                     // [hw, C]
                var dots = b.MatMul(x, g);                                    // [hw, n]
                var best = b.Node("ReduceMax", new[] { dots }, "best_match", ("axes", new long[] { 1 }), ("keepdims", 0L));
                term = b.ReduceMean(best, null, keepdims: false);
            }
            else
            {
                term = b.ReduceMean(spec.Reduction == DreamReduction.L2 ? b.Square(f) : f, null, keepdims: false);
            }
            terms.Add(b.Reshape(term, 1));
        }
        var scale = b.AddInput(LayerScale, ElementType.Float, new long[] { L });
        var vec = L == 1 ? terms[0] : b.Concat(0, terms.ToArray());
        var weights = b.Constant(spec.Layers.Select(l => l.Weight).ToArray(), new long[] { L }, "dream_weights");
        var objective = b.Identity(b.ReduceSum(b.Mul(b.Mul(vec, weights), scale), null, keepdims: false), Objective);
        b.AddOutput(objective);
        if (withGradient)
        {
            var grads = Differentiator.AddGradients(b, objective, null, new[] { Backbone.InputName });
            b.AddOutput(b.Identity(grads[Backbone.InputName], ImageGrad));
        }
        GraphTransforms.RemoveUnusedInitializers(m);
        return m;
    }

    /// <summary>Feature-map size (h, w) of every layer for an image of the given size (from static shape inference).</summary>
    public static IReadOnlyList<(long H, long W)> FeatureSizes(DreamObjectiveSpec spec, int width, int height)
    {
        var b = new GraphBuilder(Trunk(spec, width, height));
        return spec.Layers.Select(l =>
        {
            var d = b.Dims(spec.Backbone.Layer(l.Layer).Tensor);
            if (d is not { Length: 4 } || d[2] < 0 || d[3] < 0) throw new ModelException($"layer '{l.Layer}' has no static [1, C, h, w] shape at {width}x{height}");
            return (d[2], d[3]);
        }).ToList();
    }
}
