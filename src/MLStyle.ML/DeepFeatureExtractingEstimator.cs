using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Backbones;
using MLStyle.ML.Internal;
using MLStyle.Onnx;

namespace MLStyle.ML;

/// <summary>
/// Computes the feature maps of a CNN backbone at chosen layers from a column of image pixels.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No (it reads the image size from the schema) |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255, as `ExtractPixels` produces by default |
/// | Output column data type | `Vector<Single, C, h, w>` per layer (`Vector<Single, C>` with `GlobalAveragePool`) |
/// | Exportable to ONNX | The fitted pipeline is a chain of `ApplyOnnxModel` steps; the graph is stored in the saved model |
///
/// The backbone's own input normalisation (for example ResNet18's BGR mean subtraction or VGG's ImageNet mean and standard
/// deviation) runs inside the graph, so the input is plain 0–255 RGB. Its input dimensions are fixed to the image size because
/// `ApplyOnnxModel` runs one row at a time and allows only one unknown dimension.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.ExtractDeepFeatures(TransformsCatalog, string, string?, Options?)"/>
public sealed class DeepFeatureExtractingEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="DeepFeatureExtractingEstimator"/>.</summary>
    public sealed class Options : BackboneOptions
    {
        /// <summary>
        /// The layers to read, one per output column (default: the backbone's deepest layer, <c>layer4.2</c> for ResNet18).
        /// Layer names are those of <see cref="Backbones.Backbone.Layers"/> (ResNet18: conv1, pool1, layer1.0 … layer4.2,
        /// layerS.B.relu; VGG: conv1_1, relu1_1 … pool5) or raw tensor names.
        /// </summary>
        public IList<string>? Layers { get; set; }

        /// <summary>Average each feature map over its positions, giving <c>Vector&lt;Single, C&gt;</c> (default false).</summary>
        public bool GlobalAveragePool { get; set; }
    }

    readonly TransformsCatalog _catalog;
    readonly string[] _outputColumns;
    readonly string _inputColumn;
    readonly Options _options;

    internal DeepFeatureExtractingEstimator(TransformsCatalog catalog, string[] outputColumnNames, string? inputColumnName, Options? options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        if (outputColumnNames is not { Length: > 0 } || outputColumnNames.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("at least one non-empty output column name is needed", nameof(outputColumnNames));
        if (outputColumnNames.Distinct().Count() != outputColumnNames.Length) throw new ArgumentException("output column names must differ", nameof(outputColumnNames));
        _outputColumns = outputColumnNames;
        _inputColumn = inputColumnName ?? (outputColumnNames.Length == 1 ? outputColumnNames[0] : throw new ArgumentNullException(nameof(inputColumnName)));
        _options = options ?? new Options();
        _options.ValidateSize();
        if (_options.Layers is { } l && l.Count != outputColumnNames.Length)
            throw new ArgumentException($"{l.Count} layers for {outputColumnNames.Length} output columns: give one layer per output column", nameof(options));
    }

    /// <summary>Builds the feature graph for the input column's image size and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var size = ImageSize.Resolve(input.Schema, _inputColumn, _options.ImageWidth, _options.ImageHeight);
        SchemaChecks.PixelScale(input, _inputColumn);
        var (onnx, outputs) = BuildModel(size);
        return OnnxChain.Fit(OnnxChain.Pipeline(_catalog, onnx, new[] { _inputColumn }, outputs), input);
    }

    internal (byte[] Onnx, (string Tensor, string Column, ImageSize? Image)[] Outputs) BuildModel(ImageSize size)
    {
        var backbone = _options.ResolveBackbone();
        var layers = (_options.Layers ?? new[] { backbone.Layers[^1].Name }).Select(backbone.Layer).ToList();
        var b = GraphBuilder.Create("mlstyle_deep_features");
        var x = b.AddInput(_inputColumn, ElementType.Float, size.Dims);
        var map = new TrunkCopier(b).Append(backbone.TrunkFor(layers), x, "features/");
        var outputs = new (string Tensor, string Column, ImageSize? Image)[_outputColumns.Length];
        var names = new List<string>();
        for (int i = 0; i < layers.Count; i++)
        {
            var t = map[layers[i].Tensor];
            if (_options.GlobalAveragePool) t = b.Node("GlobalAveragePool", new[] { t });
            t = b.Node("Squeeze", new[] { t, b.Ints(_options.GlobalAveragePool ? new long[] { 0, 2, 3 } : new long[] { 0 }) });
            var tensor = OnnxChain.OutputTensor(_outputColumns[i], new[] { _inputColumn }, image: false);
            names.Add(b.Identity(t, tensor));
            outputs[i] = (tensor, _outputColumns[i], null);
        }
        ModelShapes.AddOutputs(b, names);
        return (OnnxModels.ToBytes(b.Model), outputs);
    }

    /// <summary>Checks the input column and adds the feature columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn, ExpectedText(_options));
        return SchemaTemplates.WithVectors(_catalog, inputSchema, _outputColumns);
    }

    internal static string ExpectedText(BackboneOptions o) =>
        o.ImageWidth is { } w && o.ImageHeight is { } h ? new ImageSize(w, h).VectorText : "Vector<Single, 3, H, W>";
}
