using System.Globalization;
using System.Text.Json.Nodes;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

namespace MLStyle.Losses;

/// <summary>A layer with a weight, written <c>name</c> or <c>name:weight</c> on the command line.</summary>
public sealed record WeightedLayer(string Layer, float Weight)
{
    /// <summary>Parses <c>a,b:0.5,c</c>; a bad weight is an <see cref="MLStyleException"/>.</summary>
    public static IReadOnlyList<WeightedLayer> ParseList(string text)
    {
        var list = new List<WeightedLayer>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.LastIndexOf(':');
            if (colon > 0 && float.TryParse(part[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var w))
            {
                if (!(w >= 0) || float.IsInfinity(w)) throw new MLStyleException($"invalid layer weight in '{part}': weights must be finite and non-negative");
                list.Add(new WeightedLayer(part[..colon], w));
            }
            else if (colon > 0 && part[(colon + 1)..].Length > 0 && !char.IsDigit(part[colon + 1]) && part[(colon + 1)..] != "")
                list.Add(new WeightedLayer(part, 1f));
            else if (colon > 0) throw new MLStyleException($"invalid layer weight in '{part}'");
            else list.Add(new WeightedLayer(part, 1f));
        }
        if (list.Count == 0) throw new MLStyleException($"no layers in '{text}'");
        return list;
    }
}

/// <summary>
/// Everything that defines the style-transfer objective (Gatys et al. 2016): the backbone, the content and style layers with
/// their weights, the weights of the three terms and the activation smoothing. <see cref="FromDefaults"/> fills what is not
/// given from <see cref="StyleDefaults.For"/>; <see cref="WriteTo"/> is its one serialisation (option hashes, cache keys).
/// </summary>
public sealed record StyleObjectiveSpec(
    Backbone Backbone,
    IReadOnlyList<WeightedLayer> ContentLayers,
    IReadOnlyList<WeightedLayer> StyleLayers,
    float ContentWeight,
    float StyleWeight,
    float TvWeight,
    ActivationSmoothing Smoothing)
{
    /// <summary>
    /// Taps of the binomial blur the backbone sees the image through (0 or 1: none; 3: [1 2 1]/4; 5: [1 4 6 4 1]/16, per axis).
    /// The strided layers make the raw gradient periodic (period 2 at the first convolution, 4 after the max-pool), and an
    /// optimiser building on it paints that period as a grid. Seen through the blur, the image has no say at period 2 (3 and 5
    /// taps) and a quarter of it at period 4 (5 taps), so the gradient — and the picture — carries no grid; the content and
    /// style targets are taken through the same blur, so an unchanged photo still has content loss 0.
    /// </summary>
    public int InputBlur { get; init; }

    /// <summary>
    /// Weight of the chroma total variation (<see cref="StyleLosses.ChromaTotalVariation"/>), added to the total-variation term
    /// (default 0: none). It penalises colour patterns whose channels alternate out of phase, which the plain total variation
    /// prices no higher than a luminance edge.
    /// </summary>
    public float ChromaTvWeight { get; init; }

    /// <summary>The backbone's defaults (<see cref="StyleDefaults.For"/>), with optional overrides; validated.</summary>
    public static StyleObjectiveSpec FromDefaults(Backbone backbone, IReadOnlyList<WeightedLayer>? content = null, IReadOnlyList<WeightedLayer>? style = null,
        float? contentWeight = null, float? styleWeight = null, float? tvWeight = null, ActivationSmoothing? smoothing = null, int? inputBlur = null)
    {
        var d = StyleDefaults.For(backbone);
        var spec = d with
        {
            ContentLayers = content ?? d.ContentLayers, StyleLayers = style ?? d.StyleLayers, ContentWeight = contentWeight ?? d.ContentWeight,
            StyleWeight = styleWeight ?? d.StyleWeight, TvWeight = tvWeight ?? d.TvWeight, Smoothing = smoothing ?? d.Smoothing, InputBlur = inputBlur ?? d.InputBlur,
        };
        spec.Validate();
        return spec;
    }

    /// <summary>The backbone trunk pruned to <paramref name="layers"/>, reading the image through <see cref="InputBlur"/>.</summary>
    public ModelProto Trunk(IEnumerable<LayerInfo> layers)
    {
        var m = Backbone.TrunkFor(layers);
        if (InputBlur > 1) StyleLosses.BlurInput(m, Backbone.InputName, InputBlur);
        return m;
    }

    /// <summary>Checks layer names and weights (clear errors for unknown layers or negative weights).</summary>
    public void Validate()
    {
        foreach (var l in ContentLayers.Concat(StyleLayers)) Backbone.Layer(l.Layer);
        foreach (var (n, v) in new[] { ("content weight", ContentWeight), ("style weight", StyleWeight), ("tv weight", TvWeight), ("chroma tv weight", ChromaTvWeight) })
            if (!(v >= 0) || float.IsInfinity(v)) throw new MLStyleException($"invalid {n} {v}: must be finite and non-negative");
        if (InputBlur is not (0 or 1 or 3 or 5)) throw new MLStyleException($"invalid input blur {InputBlur}: use 0 (none), 3 or 5 taps");
    }

    /// <summary>The backbone layers the objective reads: the content layers, then the style layers.</summary>
    public IReadOnlyList<LayerInfo> FeatureLayers() => ContentLayers.Concat(StyleLayers).Select(l => Backbone.Layer(l.Layer)).ToList();

    /// <summary>
    /// Writes the objective into <paramref name="json"/> as <c>content_weight</c>, <c>style_weight</c>, <c>tv_weight</c>,
    /// <c>content_layers</c>, <c>style_layers</c> (<c>[{layer, weight}]</c>), <c>smoothing</c> and <c>input_blur</c>, in that order,
    /// then <c>chroma_tv_weight</c> when it is not 0 (so the keys of objectives without it stay as they were).
    /// </summary>
    public JsonObject WriteTo(JsonObject json)
    {
        static JsonArray Layers(IEnumerable<WeightedLayer> layers) =>
            new(layers.Select(l => (JsonNode)new JsonObject { ["layer"] = l.Layer, ["weight"] = l.Weight }).ToArray());
        json["content_weight"] = ContentWeight;
        json["style_weight"] = StyleWeight;
        json["tv_weight"] = TvWeight;
        json["content_layers"] = Layers(ContentLayers);
        json["style_layers"] = Layers(StyleLayers);
        json["smoothing"] = Smoothing.ToString().ToLowerInvariant();
        json["input_blur"] = InputBlur > 1 ? InputBlur : 0;
        if (ChromaTvWeight != 0) json["chroma_tv_weight"] = ChromaTvWeight;
        return json;
    }

    /// <summary>A key equal for equal objectives: the backbone's hash and <see cref="WriteTo"/>.</summary>
    public string Key => $"{Backbone.Hash}|{WriteTo(new JsonObject()).ToJsonString()}";
}

/// <summary>The scalar terms of a style loss added to a graph (tensor names; each term already weighted).</summary>
/// <param name="Loss">Content + style + total variation.</param>
/// <param name="Content">Σ content weight · layer weight · content loss.</param>
/// <param name="Style">Σ style weight · layer weight · style loss.</param>
/// <param name="Tv">Total-variation weight · total variation (+ chroma total-variation weight · chroma total variation).</param>
public sealed record StyleLossTerms(string Loss, string Content, string Style, string Tv);

/// <summary>
/// The style-transfer objective as ONNX graphs: the one place it is assembled. <see cref="AddLoss(GraphBuilder, StyleObjectiveSpec, string, IReadOnlyList{string}, IReadOnlyList{string}, TrunkCopier, string)"/>
/// adds content + Gram style + total-variation loss on top of any image tensor <c>[N, 3, H, W]</c> (0–255) of a graph, so
/// gradients can be taken through it to the image or to whatever produced it; <see cref="BuildTargetModel"/> and
/// <see cref="BuildLossModel"/> are the standalone models the optimisation engine runs. The targets are graph tensors: content
/// features <c>[1 or N, C, h, w]</c> (from <see cref="AddContentTargets"/> or the target model) and Gram matrices
/// <c>[1, C, C]</c> (from <see cref="StyleTargets.Blended"/>, added with <see cref="AddStyleTargets"/>).
/// </summary>
public static class StyleObjective
{
    /// <summary>Output names of the loss model.</summary>
    public const string Loss = "loss", ContentLoss = "content_loss", StyleLoss = "style_loss", TvLoss = "tv_loss", ImageGrad = "image_grad";

    /// <summary>Name of the i-th content target (input of the loss model, output of the target model).</summary>
    public static string ContentTarget(int i) => $"content_target_{i}";

    /// <summary>Name of the i-th style (Gram) target.</summary>
    public static string StyleTarget(int i) => $"style_target_{i}";

    static ModelProto TrunkWithInput(StyleObjectiveSpec spec, long[] imageDims)
    {
        var m = spec.Trunk(spec.FeatureLayers());
        var inp = m.Graph.Input.First(i => i.Name == Backbone.InputName);
        var dims = inp.Type.TensorType.Shape.Dim;
        for (int i = 0; i < 4; i++)
            if (imageDims[i] >= 0) { dims[i].DimValue = imageDims[i]; }
        m.Graph.Output.Clear();
        return m;
    }

    /// <summary>Trunk tensor → the same name: for graphs built on the trunk itself.</summary>
    static Dictionary<string, string> Itself(StyleObjectiveSpec spec) =>
        spec.FeatureLayers().Select(l => l.Tensor).Distinct().ToDictionary(t => t, t => t);

    /// <summary>
    /// A model from the image (any size) to the targets: smoothed content features <c>content_target_i</c> and Gram matrices
    /// <c>style_target_i</c> ([1, C, C]).
    /// </summary>
    public static ModelProto BuildTargetModel(StyleObjectiveSpec spec)
    {
        var m = TrunkWithInput(spec, new long[] { 1, 3, -1, -1 });
        var b = new GraphBuilder(m);
        var trunk = Itself(spec);
        for (int i = 0; i < spec.ContentLayers.Count; i++)
            b.AddOutput(b.Identity(Smoothed(b, spec, trunk, spec.ContentLayers[i]), ContentTarget(i)));
        for (int i = 0; i < spec.StyleLayers.Count; i++)
            b.AddOutput(b.Identity(StyleLosses.Gram(b, Smoothed(b, spec, trunk, spec.StyleLayers[i])), StyleTarget(i)));
        return m;
    }

    static string Smoothed(GraphBuilder b, StyleObjectiveSpec spec, IReadOnlyDictionary<string, string> trunk, WeightedLayer layer) =>
        StyleLosses.Smooth(b, trunk[spec.Backbone.Layer(layer.Layer).Tensor], spec.Smoothing);

    /// <summary>
    /// The loss model for an image of <paramref name="width"/>×<paramref name="height"/>: inputs <c>image</c> and the targets;
    /// outputs <c>loss</c>, <c>content_loss</c>, <c>style_loss</c>, <c>tv_loss</c> (weighted) and <c>image_grad</c> = d loss / d image.
    /// </summary>
    public static ModelProto BuildLossModel(StyleObjectiveSpec spec, int width, int height, IReadOnlyList<long[]> contentTargetShapes)
    {
        var m = TrunkWithInput(spec, new long[] { 1, 3, height, width });
        var b = new GraphBuilder(m);
        var contentTargets = Enumerable.Range(0, spec.ContentLayers.Count)
            .Select(i => b.AddInput(ContentTarget(i), ElementType.Float, contentTargetShapes[i])).ToList();
        var styleTargets = spec.StyleLayers.Select((l, i) =>
        {
            long c = spec.Backbone.Layer(l.Layer).Channels;
            return b.AddInput(StyleTarget(i), ElementType.Float, new long[] { 1, c, c });
        }).ToList();
        var terms = AddLoss(b, spec, Backbone.InputName, Itself(spec), contentTargets, styleTargets);
        var content = b.Identity(terms.Content, ContentLoss);
        var style = b.Identity(terms.Style, StyleLoss);
        var tv = b.Identity(terms.Tv, TvLoss);
        var loss = b.Identity(terms.Loss, Loss);
        var grads = Differentiator.AddGradients(b, loss, null, new[] { Backbone.InputName });
        var g = b.Identity(grads[Backbone.InputName], ImageGrad);
        foreach (var o in new[] { loss, content, style, tv, g }) b.AddOutput(o);
        GraphTransforms.RemoveUnusedInitializers(m);
        return m;
    }

    /// <summary>
    /// Adds the smoothed content features of <paramref name="image"/> (<c>[N, 3, H, W]</c>, 0–255, any tensor of the graph) —
    /// the content targets of <see cref="AddLoss(GraphBuilder, StyleObjectiveSpec, string, IReadOnlyList{string}, IReadOnlyList{string}, TrunkCopier, string)"/>.
    /// The backbone trunk, pruned to the content layers, is copied into the graph with <paramref name="trunks"/>.
    /// </summary>
    public static IReadOnlyList<string> AddContentTargets(GraphBuilder b, StyleObjectiveSpec spec, string image, TrunkCopier trunks, string prefix)
    {
        var map = trunks.Append(spec.Trunk(spec.ContentLayers.Select(l => spec.Backbone.Layer(l.Layer))), image, prefix);
        return spec.ContentLayers.Select(l => Smoothed(b, spec, map, l)).ToList();
    }

    /// <summary>Adds Gram targets (as computed by <see cref="StyleTargets.Blended"/>, in style-layer order) as constants.</summary>
    public static IReadOnlyList<string> AddStyleTargets(GraphBuilder b, IReadOnlyList<FloatTensor> grams) =>
        grams.Select((g, i) => b.Constant(g.Data, g.Shape, $"style_gram_{i}")).ToList();

    /// <summary>
    /// Adds the loss of <paramref name="image"/> (<c>[N, 3, H, W]</c>, 0–255, any tensor of the graph: an input, or the output
    /// of another network) against the targets. The backbone trunk, pruned to the objective's layers, is copied into the graph
    /// reading <paramref name="image"/>; node names start with <paramref name="prefix"/>. Differentiate
    /// <see cref="StyleLossTerms.Loss"/> with <see cref="Differentiator.AddGradients"/> to get gradients through it.
    /// </summary>
    /// <param name="b">The graph.</param>
    /// <param name="spec">The objective.</param>
    /// <param name="image">The image tensor.</param>
    /// <param name="contentTargets">One per content layer: <c>[1, C, h, w]</c>, or <c>[N, C, h, w]</c> for a batch.</param>
    /// <param name="styleTargets">One per style layer: <c>[1, C, C]</c>, shared by the batch.</param>
    /// <param name="trunks">Copies the trunk; share one copier so the backbone's weights are stored once.</param>
    /// <param name="prefix">Prefix of the copied trunk's names.</param>
    /// <returns>
    /// The weighted terms. For a batch (N ≠ 1), each term is the mean over the images: the content loss is a mean over all
    /// elements, the style and total-variation terms are divided by N.
    /// </returns>
    public static StyleLossTerms AddLoss(GraphBuilder b, StyleObjectiveSpec spec, string image, IReadOnlyList<string> contentTargets,
        IReadOnlyList<string> styleTargets, TrunkCopier trunks, string prefix) =>
        AddLoss(b, spec, image, trunks.Append(spec.Trunk(spec.FeatureLayers()), image, prefix), contentTargets, styleTargets);

    /// <summary>The loss over trunk tensors already in the graph (<paramref name="trunk"/>: trunk tensor name → graph tensor).</summary>
    static StyleLossTerms AddLoss(GraphBuilder b, StyleObjectiveSpec spec, string image, IReadOnlyDictionary<string, string> trunk,
        IReadOnlyList<string> contentTargets, IReadOnlyList<string> styleTargets)
    {
        if (contentTargets.Count != spec.ContentLayers.Count || styleTargets.Count != spec.StyleLayers.Count)
            throw new ArgumentException($"the objective needs {spec.ContentLayers.Count} content and {spec.StyleLayers.Count} style targets");
        var contentTerms = spec.ContentLayers.Select((l, i) =>
            (StyleLosses.ContentLoss(b, Smoothed(b, spec, trunk, l), contentTargets[i]), l.Weight * spec.ContentWeight)).ToList();
        var styleTerms = spec.StyleLayers.Select((l, i) =>
            (PerImage(b, StyleLosses.StyleLoss(b, StyleLosses.Gram(b, Smoothed(b, spec, trunk, l)), styleTargets[i]), image), l.Weight * spec.StyleWeight)).ToList();
        var content = StyleLosses.WeightedSum(b, contentTerms);
        var style = StyleLosses.WeightedSum(b, styleTerms);
        var tv = b.Mul(PerImage(b, StyleLosses.TotalVariation(b, image), image), spec.TvWeight);
        if (spec.ChromaTvWeight > 0) tv = b.Add(tv, b.Mul(PerImage(b, StyleLosses.ChromaTotalVariation(b, image), image), spec.ChromaTvWeight));
        return new StyleLossTerms(b.Sum(new[] { content, style, tv }), content, style, tv);
    }

    /// <summary>A term summed over the batch divided by the batch size N (unchanged when N is known to be 1).</summary>
    static string PerImage(GraphBuilder b, string term, string image)
    {
        var n = b.Dims(image) is { Length: > 0 } d ? d[0] : -1;
        if (n == 1) return term;
        if (n > 1) return b.Div(term, b.Scalar(n));
        var count = b.Node("ReduceProd", new[] { b.ShapeSlice(image, 0, 1) }, null, ("keepdims", 0));
        return b.Div(term, b.Cast(count, ElementType.Float));
    }
}

/// <summary>
/// The targets of the style objective: content features of the content image, and the Gram matrices of the style images
/// at the style size (<see cref="StyleSide"/>), blended (<see cref="BlendWeights"/>) when there are several.
/// </summary>
public static class StyleTargets
{
    /// <summary>The long side of the style images for an output long side and a style scale (at least 16 pixels).</summary>
    public static int StyleSide(int outputLongSide, float styleScale) => (int)Math.Max(16, Math.Round(outputLongSide * styleScale));

    /// <summary>Blend weights normalised to sum 1 (equal weights when <paramref name="blend"/> is null).</summary>
    public static float[] BlendWeights(IReadOnlyList<float>? blend, int styles)
    {
        var w = blend ?? Enumerable.Repeat(1f, styles).ToList();
        float s = w.Sum();
        return w.Select(v => v / s).ToArray();
    }

    /// <summary>
    /// The content targets of <paramref name="content"/> from <paramref name="targets"/> (a session of
    /// <see cref="StyleObjective.BuildTargetModel"/>). Keys are <see cref="StyleObjective.ContentTarget"/> names.
    /// </summary>
    public static Dictionary<string, FloatTensor> Content(OnnxSession targets, StyleObjectiveSpec spec, ImageTensor content) =>
        targets.Run(Inputs(content), Enumerable.Range(0, spec.ContentLayers.Count).Select(StyleObjective.ContentTarget).ToList());

    /// <summary>
    /// The style targets: each style image resized to <paramref name="longSide"/>, its Gram matrices from
    /// <paramref name="targets"/> (a session of <see cref="StyleObjective.BuildTargetModel"/>), blended with
    /// <paramref name="weights"/> normalised to sum 1 (styles of weight 0 are skipped). Keys are <see cref="StyleObjective.StyleTarget"/> names.
    /// </summary>
    public static Dictionary<string, FloatTensor> Blended(OnnxSession targets, StyleObjectiveSpec spec, IReadOnlyList<ImageTensor> styles,
        IReadOnlyList<float> weights, int longSide)
    {
        var blend = BlendWeights(weights, styles.Count);
        var names = Enumerable.Range(0, spec.StyleLayers.Count).Select(StyleObjective.StyleTarget).ToList();
        Dictionary<string, FloatTensor>? acc = null;
        for (int s = 0; s < styles.Count; s++)
        {
            if (blend[s] == 0) continue;
            var scaled = ImageIO.ResizeToLongSide(styles[s], longSide);
            var grams = targets.Run(Inputs(scaled), names);
            if (acc is null)
            {
                acc = grams.ToDictionary(k => k.Key, k => new FloatTensor(k.Value.Data.Select(v => v * blend[s]).ToArray(), k.Value.Shape));
                continue;
            }
            foreach (var n in names)
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(grams[n].Data, blend[s], acc[n].Data, acc[n].Data);
        }
        return acc!;
    }

    static Dictionary<string, FloatTensor> Inputs(ImageTensor img) =>
        new() { [Backbone.InputName] = new FloatTensor(img.Data, new long[] { 1, 3, img.Height, img.Width }) };
}
