using System.Globalization;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Onnx;
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

/// <summary>Everything that defines the style-transfer objective.</summary>
public sealed record StyleObjectiveSpec(
    Backbone Backbone,
    IReadOnlyList<WeightedLayer> ContentLayers,
    IReadOnlyList<WeightedLayer> StyleLayers,
    float ContentWeight,
    float StyleWeight,
    float TvWeight,
    ActivationSmoothing Smoothing)
{
    /// <summary>The backbone's defaults, with optional overrides.</summary>
    public static StyleObjectiveSpec FromDefaults(Backbone backbone, IReadOnlyList<WeightedLayer>? content = null, IReadOnlyList<WeightedLayer>? style = null,
        float? contentWeight = null, float? styleWeight = null, float? tvWeight = null, ActivationSmoothing? smoothing = null)
    {
        var d = backbone.Defaults;
        var spec = new StyleObjectiveSpec(backbone,
            content ?? d.ContentLayers.Select(l => new WeightedLayer(l.Layer, l.Weight)).ToList(),
            style ?? d.StyleLayers.Select(l => new WeightedLayer(l.Layer, l.Weight)).ToList(),
            contentWeight ?? d.ContentWeight, styleWeight ?? d.StyleWeight, tvWeight ?? d.TvWeight, smoothing ?? d.Smoothing);
        spec.Validate();
        return spec;
    }

    /// <summary>Checks layer names and weights (clear errors for unknown layers or negative weights).</summary>
    public void Validate()
    {
        foreach (var l in ContentLayers.Concat(StyleLayers)) Backbone.Layer(l.Layer);
        foreach (var (n, v) in new[] { ("content weight", ContentWeight), ("style weight", StyleWeight), ("tv weight", TvWeight) })
            if (!(v >= 0) || float.IsInfinity(v)) throw new MLStyleException($"invalid {n} {v}: must be finite and non-negative");
    }
}

/// <summary>Builds the ONNX graphs of style transfer: target extraction and loss + gradient.</summary>
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
        var layers = spec.ContentLayers.Concat(spec.StyleLayers).Select(l => spec.Backbone.Layer(l.Layer)).ToList();
        var m = spec.Backbone.TrunkFor(layers);
        var inp = m.Graph.Input.First(i => i.Name == Backbone.InputName);
        var dims = inp.Type.TensorType.Shape.Dim;
        for (int i = 0; i < 4; i++)
            if (imageDims[i] >= 0) { dims[i].DimValue = imageDims[i]; }
        m.Graph.Output.Clear();
        return m;
    }

    /// <summary>
    /// A model from the image (any size) to the targets: smoothed content features <c>content_target_i</c> and Gram matrices
    /// <c>style_target_i</c> ([1, C, C]).
    /// </summary>
    public static ModelProto BuildTargetModel(StyleObjectiveSpec spec)
    {
        var m = TrunkWithInput(spec, new long[] { 1, 3, -1, -1 });
        var b = new GraphBuilder(m);
        for (int i = 0; i < spec.ContentLayers.Count; i++)
        {
            var f = Smoothed(b, spec, spec.ContentLayers[i].Layer);
            b.AddOutput(b.Identity(f, ContentTarget(i)));
        }
        for (int i = 0; i < spec.StyleLayers.Count; i++)
        {
            var g = StyleLosses.Gram(b, Smoothed(b, spec, spec.StyleLayers[i].Layer));
            b.AddOutput(b.Identity(g, StyleTarget(i)));
        }
        return m;
    }

    static string Smoothed(GraphBuilder b, StyleObjectiveSpec spec, string layer) =>
        StyleLosses.Smooth(b, spec.Backbone.Layer(layer).Tensor, spec.Smoothing);

    /// <summary>
    /// The loss model for <paramref name="batch"/> images of <paramref name="width"/>×<paramref name="height"/>: inputs <c>image</c>
    /// and the targets; outputs <c>loss</c>, <c>content_loss</c>, <c>style_loss</c>, <c>tv_loss</c> (weighted) and
    /// <c>image_grad</c> = d loss / d image. With a batch, content targets have the batch's leading dimension, the style
    /// targets <c>[1, C, C]</c> apply to every image, and the style and total-variation terms are sums over the images.
    /// </summary>
    public static ModelProto BuildLossModel(StyleObjectiveSpec spec, int width, int height, IReadOnlyList<long[]> contentTargetShapes, int batch = 1)
    {
        var m = TrunkWithInput(spec, new long[] { batch, 3, height, width });
        var b = new GraphBuilder(m);
        var contentTerms = new List<(string, float)>();
        for (int i = 0; i < spec.ContentLayers.Count; i++)
        {
            var f = Smoothed(b, spec, spec.ContentLayers[i].Layer);
            var t = b.AddInput(ContentTarget(i), ElementType.Float, contentTargetShapes[i]);
            contentTerms.Add((StyleLosses.ContentLoss(b, f, t), spec.ContentLayers[i].Weight * spec.ContentWeight));
        }
        var styleTerms = new List<(string, float)>();
        for (int i = 0; i < spec.StyleLayers.Count; i++)
        {
            var f = Smoothed(b, spec, spec.StyleLayers[i].Layer);
            long c = spec.Backbone.Layer(spec.StyleLayers[i].Layer).Channels;
            var t = b.AddInput(StyleTarget(i), ElementType.Float, new long[] { 1, c, c });
            styleTerms.Add((StyleLosses.StyleLoss(b, StyleLosses.Gram(b, f), t), spec.StyleLayers[i].Weight * spec.StyleWeight));
        }
        var content = b.Identity(StyleLosses.WeightedSum(b, contentTerms), ContentLoss);
        var style = b.Identity(StyleLosses.WeightedSum(b, styleTerms), StyleLoss);
        var tv = b.Identity(b.Mul(StyleLosses.TotalVariation(b, Backbone.InputName), spec.TvWeight), TvLoss);
        var loss = b.Identity(b.Sum(new[] { content, style, tv }), Loss);
        var grads = Differentiator.AddGradients(b, loss, null, new[] { Backbone.InputName });
        var g = b.Identity(grads[Backbone.InputName], ImageGrad);
        foreach (var o in new[] { loss, content, style, tv, g }) b.AddOutput(o);
        GraphTransforms.RemoveUnusedInitializers(m);
        return m;
    }
}
