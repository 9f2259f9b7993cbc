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
/// (<see cref="For"/>; <see cref="StyleObjectiveSpec.FromDefaults"/> overrides them).
/// </summary>
public static class StyleDefaults
{
    /// <summary>
    /// The default objective of <paramref name="backbone"/>. ResNet18: chosen by measurement (<c>mlstyle bench quality</c>,
    /// docs/style-transfer.md): style on every stage conv1 … layer4.1 (layer3.1 weighted 2, layer4.1 1.5, so the deep
    /// statistics are matched too), content on layer2.1 with weight 200 (the photo's objects stay recognisable), raw
    /// activations (SWAG's softmax smoothing made the peaky layers dominate). VGG: the classic neural-style layers and weights.
    /// Any other CNN: the layer two thirds of the way down for content and four layers spread over the first four fifths for style.
    /// </summary>
    public static StyleObjectiveSpec For(Backbone backbone)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        switch (backbone.Kind)
        {
            case BackboneKind.ResNet18:
                return new(backbone,
                    ContentLayers: new[] { new WeightedLayer("layer2.1", 1f) },
                    StyleLayers: new[]
                    {
                        new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.1", 1f), new WeightedLayer("layer2.1", 1f),
                        new WeightedLayer("layer3.1", 2f), new WeightedLayer("layer4.1", 1.5f),
                    },
                    ContentWeight: 200f, StyleWeight: 1e4f, TvWeight: 1e-2f, Smoothing: ActivationSmoothing.None);
            case BackboneKind.Vgg:
                return new(backbone,
                    ContentLayers: new[] { new WeightedLayer("relu4_2", 1f) },
                    StyleLayers: new[] { new WeightedLayer("relu1_1", 1f), new WeightedLayer("relu2_1", 1f), new WeightedLayer("relu3_1", 1f), new WeightedLayer("relu4_1", 1f), new WeightedLayer("relu5_1", 1f) },
                    ContentWeight: 1f, StyleWeight: 1e3f, TvWeight: 1e-3f, Smoothing: ActivationSmoothing.None);
        }
        var layers = backbone.Layers;
        if (layers.Count == 0) throw new ModelException($"backbone '{backbone.Name}' has no feature layers");
        return new(backbone,
            new[] { new WeightedLayer(layers[layers.Count * 2 / 3].Name, 1f) },
            Enumerable.Range(0, 4).Select(i => new WeightedLayer(layers[Math.Min(layers.Count - 1, i * layers.Count / 5)].Name, 1f)).Distinct().ToArray(),
            1f, 1e3f, 1e-3f, ActivationSmoothing.None);
    }
}
