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

/// <summary>The kinds of backbone MLStyle knows (each has its own default layers in the losses built on it).</summary>
public enum BackboneKind
{
    /// <summary>The embedded ImageNet ResNet18, layers named like torchvision (conv1, layer1.0 … layer4.1).</summary>
    ResNet18,

    /// <summary>VGG16/VGG19, layers named as in Gatys et al. (conv1_1, relu1_1, …, pool5).</summary>
    Vgg,

    /// <summary>Any other ONNX CNN, layers addressed by tensor name.</summary>
    Generic,
}

/// <summary>
/// A CNN used as a feature extractor. Its <see cref="Trunk"/> takes one input, <see cref="InputName"/>, an RGB image
/// <c>[N, 3, H, W]</c> with values 0–255 (any height and width); the backbone's own normalisation happens inside the graph.
/// Inference BatchNormalization is folded into the convolutions.
/// </summary>
public sealed class Backbone
{
    internal Backbone(string name, BackboneKind kind, ModelProto trunk, IReadOnlyList<LayerInfo> layers, string description, string source)
    {
        Name = name; Kind = kind; Trunk = trunk; Layers = layers; Description = description; Source = source;
        Hash = Convert.ToHexString(SHA256.HashData(trunk.ToByteArrayForHash())).ToLowerInvariant()[..16];
    }

    /// <summary>The input tensor name of <see cref="Trunk"/>.</summary>
    public const string InputName = "image";

    /// <summary>Short name (resnet18, vgg19, or the file name).</summary>
    public string Name { get; }

    /// <summary>What kind of network this is (it decides the default layers of the losses built on it).</summary>
    public BackboneKind Kind { get; }

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
