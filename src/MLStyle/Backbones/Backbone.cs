using System.Security.Cryptography;
using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>A named feature layer of a backbone: the tensor it reads, its channels and its stride relative to the image.</summary>
public sealed record LayerInfo(string Name, string Tensor, long Channels, int Stride)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Channels} ch, 1/{Stride})";
}

/// <summary>Default layers and weights with which a backbone gives good style transfer.</summary>
public sealed record StyleDefaults(
    IReadOnlyList<(string Layer, float Weight)> ContentLayers,
    IReadOnlyList<(string Layer, float Weight)> StyleLayers,
    float ContentWeight,
    float StyleWeight,
    float TvWeight,
    ActivationSmoothing Smoothing);

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
/// A CNN used as a feature extractor. Its <see cref="Trunk"/> takes one input, <see cref="InputName"/>, an RGB image
/// <c>[N, 3, H, W]</c> with values 0–255 (any height and width); the backbone's own normalisation happens inside the graph.
/// Inference BatchNormalization is folded into the convolutions.
/// </summary>
public sealed class Backbone
{
    internal Backbone(string name, ModelProto trunk, IReadOnlyList<LayerInfo> layers, StyleDefaults defaults, string description, string source)
    {
        Name = name; Trunk = trunk; Layers = layers; Defaults = defaults; Description = description; Source = source;
        Hash = Convert.ToHexString(SHA256.HashData(trunk.ToByteArrayForHash())).ToLowerInvariant()[..16];
    }

    /// <summary>The input tensor name of <see cref="Trunk"/>.</summary>
    public const string InputName = "image";

    /// <summary>Short name (resnet18, vgg19, or the file name).</summary>
    public string Name { get; }

    /// <summary>What the backbone is and what it is good for.</summary>
    public string Description { get; }

    /// <summary>Where the weights came from.</summary>
    public string Source { get; }

    /// <summary>A stable hash of the trunk (for manifests and caches).</summary>
    public string Hash { get; }

    /// <summary>The trunk graph: input <see cref="InputName"/>, RGB 0–255.</summary>
    public ModelProto Trunk { get; }

    /// <summary>The named layers, shallow to deep.</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }

    /// <summary>Default layers and weights for style transfer.</summary>
    public StyleDefaults Defaults { get; }

    /// <summary>Finds a layer by its name or by its raw tensor name; a clear <see cref="ModelException"/> otherwise.</summary>
    public LayerInfo Layer(string nameOrTensor)
    {
        var l = Layers.FirstOrDefault(x => string.Equals(x.Name, nameOrTensor, StringComparison.OrdinalIgnoreCase))
                ?? Layers.FirstOrDefault(x => x.Tensor == nameOrTensor);
        if (l is not null) return l;
        var b = new GraphBuilder(Trunk);
        if (b.Exists(nameOrTensor) && b.Info(nameOrTensor) is { } ti)
            return new LayerInfo(nameOrTensor, nameOrTensor, ti.Dims?.ElementAtOrDefault(1) ?? -1, 0);
        var names = string.Join(", ", Layers.Select(x => x.Name).Take(40));
        throw new ModelException($"backbone '{Name}' has no layer '{nameOrTensor}' (layers: {names})");
    }

    /// <summary>A copy of the trunk pruned to what the given layers need, with those layers as its outputs.</summary>
    public ModelProto TrunkFor(IEnumerable<LayerInfo> layers)
    {
        var m = Trunk.Clone();
        GraphTransforms.Prune(m, layers.Select(l => l.Tensor).Distinct().ToList());
        return m;
    }
}

static class ModelHashing
{
    public static byte[] ToByteArrayForHash(this ModelProto m) => Google.Protobuf.MessageExtensions.ToByteArray(m);
}
