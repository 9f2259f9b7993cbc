using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Backbones;
using MLStyle.Losses;
using MLStyle.ML.Internal;
using MLStyle.Onnx;

namespace MLStyle.ML;

/// <summary>
/// Computes a style descriptor of each image: the Gram matrices of several backbone layers (the statistics that neural style
/// transfer matches), flattened, normalised and concatenated into one vector, for classifiers and similarity search.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255, as `ExtractPixels` produces by default |
/// | Output column data type | `Vector<Single, n>` with n = Σ C·(C+1)/2 over the layers (upper triangles) or Σ C² (full) |
///
/// Each layer's Gram matrix G = F·Fᵀ / (C·h·w) is flattened (the upper triangle by default); with `L2Normalize` (the default)
/// each layer's block is divided by its Euclidean norm and scaled by its weight / √(number of layers), so every layer counts
/// equally whatever its size and the whole vector of equally weighted layers has unit length: dot products are then cosine
/// similarities. ResNet18's default layers (conv1, layer1.1, layer2.1, layer3.1) give 45,312 values.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.ExtractStyleFeatures(TransformsCatalog, string, string?, Options?)"/>
public sealed class StyleFeatureExtractingEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="StyleFeatureExtractingEstimator"/>.</summary>
    public sealed class Options : BackboneOptions
    {
        /// <summary>
        /// Layers whose Gram matrices are used, optionally weighted as <c>name:weight</c> (default: the backbone's style layers,
        /// conv1, layer1.1, layer2.1 and layer3.1 for ResNet18).
        /// </summary>
        public IList<string>? Layers { get; set; }

        /// <summary>Which Gram entries to keep (default <see cref="GramLayout.UpperTriangle"/>).</summary>
        public GramLayout Layout { get; set; } = GramLayout.UpperTriangle;

        /// <summary>Normalise each layer's block to unit length (times weight / √layers) (default true).</summary>
        public bool L2Normalize { get; set; } = true;

        /// <summary>Activation smoothing before the Gram matrices (default: the backbone's, none for ResNet18 and VGG).</summary>
        public ActivationSmoothing? Smoothing { get; set; }
    }

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;

    internal StyleFeatureExtractingEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options? options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? new Options();
        _options.ValidateSize();
    }

    /// <summary>Builds the descriptor graph for the input column's image size and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
        => OnnxChain.FitImageModel(_catalog, input, _inputColumn, _outputColumn, _options.ImageWidth, _options.ImageHeight,
            imageOutput: false, BuildModel);

    byte[] BuildModel(ImageSize size, string outputTensor)
    {
        var backbone = _options.ResolveBackbone();
        var layers = _options.Layers is { Count: > 0 } l
            ? WeightedLayer.ParseList(string.Join(",", l))
            : StyleDefaults.For(backbone).StyleLayers;
        var smoothing = _options.Smoothing ?? StyleDefaults.For(backbone).Smoothing;
        var infos = layers.Select(w => backbone.Layer(w.Layer)).ToList();
        var b = GraphBuilder.Create("mlstyle_style_features");
        var x = b.AddInput(_inputColumn, ElementType.Float, size.Dims);
        var map = new TrunkCopier(b).Append(backbone.TrunkFor(infos), x, "style/");
        var parts = new List<string>();
        float scale = 1f / MathF.Sqrt(layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var f = StyleLosses.Smooth(b, map[infos[i].Tensor], smoothing);
            long c = b.Dims(f)?[1] ?? infos[i].Channels;
            if (c <= 0) throw new ModelException($"the channel count of layer '{infos[i].Name}' is unknown");
            var flat = GramMatrixEstimator.Flatten(b, StyleLosses.Gram(b, f), c, _options.Layout);
            parts.Add(_options.L2Normalize ? GraphOps.L2Normalize(b, flat, layers[i].Weight * scale) : b.Mul(flat, layers[i].Weight));
        }
        var all = parts.Count == 1 ? parts[0] : b.Concat(0, parts.ToArray());
        ModelShapes.AddOutputs(b, new[] { b.Identity(all, outputTensor) });
        return OnnxModels.ToBytes(b.Model);
    }

    /// <summary>Checks the input column and adds the descriptor column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn, DeepFeatureExtractingEstimator.ExpectedText(_options));
        return SchemaTemplates.WithVectors(_catalog, inputSchema, new[] { _outputColumn });
    }
}
