using MLStyle.Backbones;

namespace MLStyle.Losses;

/// <summary>How feature activations are transformed before the content and style losses.</summary>
public enum ActivationSmoothing
{
    /// <summary>Raw activations (right for VGG).</summary>
    None,

    /// <summary>
    /// Softmax over each channel's spatial positions (Wang et al., CVPR 2021, "SWAG"): raises the entropy of the peaky
    /// activations that residual networks produce, which makes their Gram matrices describe style far better.
    /// </summary>
    Softmax,
}

/// <summary>
/// Default layers and weights with which a backbone gives good style transfer: the one place to change them
/// (<see cref="For"/>; <see cref="StyleObjectiveSpec.FromDefaults"/> fills a spec from them).
/// </summary>
public sealed record StyleDefaults(
    IReadOnlyList<WeightedLayer> ContentLayers,
    IReadOnlyList<WeightedLayer> StyleLayers,
    float ContentWeight,
    float StyleWeight,
    float TvWeight,
    ActivationSmoothing Smoothing)
{
    /// <summary>Taps of the binomial blur the backbone sees the image through (<see cref="StyleObjectiveSpec.InputBlur"/>; 0: none).</summary>
    public int InputBlur { get; init; }

    /// <summary>
    /// ResNet18: chosen by measurement (<c>mlstyle bench quality</c>, docs/style-transfer.md): style on every stage conv1 …
    /// layer4.1 (layer3.1 weighted 2, layer4.1 1.5, so the deep statistics are matched too), content on layer2.1 with weight
    /// 200 (the photo's objects stay recognisable), raw activations (SWAG's softmax smoothing made the peaky layers dominate).
    /// </summary>
    public static StyleDefaults ResNet18 { get; } = new(
        ContentLayers: new[] { new WeightedLayer("layer2.1", 1f) },
        StyleLayers: new[]
        {
            new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.1", 1f), new WeightedLayer("layer2.1", 1f),
            new WeightedLayer("layer3.1", 2f), new WeightedLayer("layer4.1", 1.5f),
        },
        ContentWeight: 200f,
        StyleWeight: 1e4f,
        TvWeight: 1e-2f,
        Smoothing: ActivationSmoothing.None);

    /// <summary>VGG: the classic neural-style layers and weights.</summary>
    public static StyleDefaults Vgg { get; } = new(
        ContentLayers: new[] { new WeightedLayer("relu4_2", 1f) },
        StyleLayers: new[] { new WeightedLayer("relu1_1", 1f), new WeightedLayer("relu2_1", 1f), new WeightedLayer("relu3_1", 1f), new WeightedLayer("relu4_1", 1f), new WeightedLayer("relu5_1", 1f) },
        ContentWeight: 1f,
        StyleWeight: 1e3f,
        TvWeight: 1e-3f,
        Smoothing: ActivationSmoothing.None);

    /// <summary>
    /// The defaults of <paramref name="backbone"/>: <see cref="ResNet18"/>, <see cref="Vgg"/>, or for any other CNN the layer
    /// two thirds of the way down for content and four layers spread over the first four fifths for style.
    /// </summary>
    public static StyleDefaults For(Backbone backbone)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        switch (backbone.Kind)
        {
            case BackboneKind.ResNet18: return ResNet18;
            case BackboneKind.Vgg: return Vgg;
        }
        var layers = backbone.Layers;
        if (layers.Count == 0) throw new ModelException($"backbone '{backbone.Name}' has no feature layers");
        return new StyleDefaults(
            new[] { new WeightedLayer(layers[layers.Count * 2 / 3].Name, 1f) },
            Enumerable.Range(0, 4).Select(i => new WeightedLayer(layers[Math.Min(layers.Count - 1, i * layers.Count / 5)].Name, 1f)).Distinct().ToArray(),
            1f, 1e3f, 1e-3f, ActivationSmoothing.None);
    }
}
