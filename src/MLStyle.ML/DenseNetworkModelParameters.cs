using MLStyle.ML.Internal;

namespace MLStyle.ML;

/// <summary>
/// The parameters of a trained <see cref="DenseNetworkTrainer"/> network (the <c>Model</c> of its
/// <see cref="DenseNetworkTransformer"/>, as ML.NET's trainers expose theirs): the feature standardisation, then for each
/// layer a weight matrix <c>[in, out]</c> (row-major) and a bias, ReLU between layers and a softmax at the end.
/// </summary>
public sealed class DenseNetworkModelParameters
{
    readonly DenseNetwork _network;

    internal DenseNetworkModelParameters(DenseNetwork network) => _network = network;

    /// <summary>Layer sizes: features, hidden layers…, classes.</summary>
    public IReadOnlyList<int> LayerSizes => _network.Sizes;

    /// <summary>The class names, in the order of the label's keys (and of <c>Score</c>'s slots).</summary>
    public IReadOnlyList<string> ClassNames => _network.ClassNames;

    /// <summary>The mean subtracted from each feature before the first layer.</summary>
    public ReadOnlySpan<float> FeatureMean => _network.Mean;

    /// <summary>The factor each centred feature is multiplied by (1 / standard deviation, or 1 without normalisation).</summary>
    public ReadOnlySpan<float> FeatureScale => _network.InvStd;

    /// <summary>The weights of layer <paramref name="layer"/> (0 is the first), <c>[LayerSizes[layer], LayerSizes[layer + 1]]</c> row-major.</summary>
    public ReadOnlySpan<float> Weights(int layer) => _network.Parameters[2 * CheckLayer(layer)];

    /// <summary>The biases of layer <paramref name="layer"/>, <c>[LayerSizes[layer + 1]]</c>.</summary>
    public ReadOnlySpan<float> Biases(int layer) => _network.Parameters[2 * CheckLayer(layer) + 1];

    int CheckLayer(int layer) => layer >= 0 && layer < _network.Sizes.Length - 1
        ? layer
        : throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} does not exist: the network has {_network.Sizes.Length - 1} layers");
}
