using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Losses;
using MLStyle.ML.Internal;
using MLStyle.Onnx;

namespace MLStyle.ML;

/// <summary>Which entries of a (symmetric) Gram matrix a flattened Gram vector holds.</summary>
public enum GramLayout
{
    /// <summary>The upper triangle with the diagonal, row by row: C·(C+1)/2 values and no duplicates (the default).</summary>
    UpperTriangle,

    /// <summary>All C·C entries, row-major.</summary>
    Full,
}

/// <summary>
/// Computes the Gram matrix of a column of feature maps: G = F·Fᵀ / (C·h·w) for features F reshaped to C × (h·w), flattened.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No |
/// | Input column data type | Known-size vector of `Single` with dimensions `C, h, w` (or `1, C, h, w`), as `ExtractDeepFeatures` produces; a flat vector when `Options.Channels` is set |
/// | Output column data type | `Vector<Single, C·(C+1)/2>` (upper triangle) or `Vector<Single, C·C>` (full) |
///
/// The normalisation by C·h·w is that of `MLStyle.Losses.StyleLosses.Gram`, the Gram matrix MLStyle's style transfer uses, so
/// values do not depend on the image size. With `L2Normalize` the vector is divided by its Euclidean norm.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.ComputeGramMatrix(TransformsCatalog, string, string?, Options?)"/>
public sealed class GramMatrixEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="GramMatrixEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Which entries to keep (default <see cref="GramLayout.UpperTriangle"/>).</summary>
        public GramLayout Layout { get; set; } = GramLayout.UpperTriangle;

        /// <summary>Divide the flattened Gram vector by its Euclidean norm (default false).</summary>
        public bool L2Normalize { get; set; }

        /// <summary>
        /// The number of channels C when the input column is a flat vector of C·h·w values. Default null: C is the third
        /// dimension from the end of the input column's dimensions.
        /// </summary>
        public int? Channels { get; set; }
    }

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;

    internal GramMatrixEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options? options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? new Options();
        if (_options.Channels is < 1) throw new ArgumentOutOfRangeException(nameof(options), "Channels must be positive");
    }

    const string Expected = "Vector<Single, C, h, w>";

    /// <summary>Builds the Gram graph for the input column's shape and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var type = SchemaChecks.FloatVector(input.Schema, _inputColumn, Expected);
        long channels;
        if (_options.Channels is { } c)
        {
            if (type.Size % c != 0) throw SchemaChecks.Mismatch("input", _inputColumn, $"a multiple of {c} values (Channels = {c})", type.ToString());
            channels = c;
        }
        else if (type.Dimensions.Length >= 3) channels = type.Dimensions[^3];
        else throw SchemaChecks.Mismatch("input", _inputColumn, Expected + " (or set Options.Channels)", type.ToString());

        var b = GraphBuilder.Create("mlstyle_gram");
        var x = b.AddInput(_inputColumn, ElementType.Float, type.Dimensions.Select(d => (long)d).ToArray());
        var features = b.Reshape(x, 1, channels, 1, type.Size / channels);
        var flat = Flatten(b, StyleLosses.Gram(b, features), channels, _options.Layout);
        if (_options.L2Normalize) flat = GraphOps.L2Normalize(b, flat);
        var tensor = OnnxChain.OutputTensor(_outputColumn, new[] { _inputColumn }, image: false);
        ModelShapes.AddOutputs(b, new[] { b.Identity(flat, tensor) });
        var pipeline = OnnxChain.Pipeline(_catalog, OnnxModels.ToBytes(b.Model), new[] { _inputColumn }, new (string, string, ImageSize?)[] { (tensor, _outputColumn, null) });
        return OnnxChain.Fit(pipeline, input);
    }

    /// <summary>Flattens a Gram matrix <c>[1, C, C]</c> to the chosen layout.</summary>
    internal static string Flatten(GraphBuilder b, string gram, long channels, GramLayout layout)
    {
        var full = b.Reshape(gram, channels * channels);
        return layout == GramLayout.Full ? full : GraphOps.UpperTriangle(b, full, channels);
    }

    /// <summary>Checks the input column and adds the Gram column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn, Expected);
        return SchemaTemplates.WithVectors(_catalog, inputSchema, new[] { _outputColumn });
    }
}
