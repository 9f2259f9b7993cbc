using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Imaging;
using MLStyle.ML.Internal;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using Onnx;

namespace MLStyle.ML;

/// <summary>
/// Applies a feed-forward styliser network (Johnson et al. 2016), such as the ONNX model zoo's fast-neural-style models,
/// to a column of image pixels: one forward pass per row, then clamping to 0–255 and optional colour preservation.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255 of the styliser's input size (224×224 for the model zoo's) |
/// | Output column data type | `Image<H', W'>` (default) or `Vector<Single, 3, H', W'>` with `OutputKind = Pixels`, H'×W' the styliser's output size |
///
/// The styliser must take one float input `[1, 3, H, W]` of RGB values 0–255 and return one float output `[1, 3, H', W']` on the
/// same scale (the interface of the model zoo's mosaic, candy, rain-princess, udnie and pointilism models). Symbolic height and
/// width are fixed to the input column's size, since `ApplyOnnxModel` allows one unknown dimension. The styliser runs unchanged
/// (its tensors are only renamed to column names) in one `ApplyOnnxModel` step; a second, MLStyle-built step clamps the result
/// and, with `PreserveColors`, keeps the luminance (Y of YIQ) of the styliser's output and the chroma (I, Q) of the input.
/// Both ONNX graphs are stored in the saved model.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.ApplyStylizer(TransformsCatalog, string, string, string?, bool)"/>
public sealed class StylizerEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="StylizerEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Path of the styliser's ONNX file (required).</summary>
        public string ModelFile { get; set; } = "";

        /// <summary>Keep each row's colours: luminance from the styliser, chroma from the input (default false).</summary>
        public bool PreserveColors { get; set; }

        /// <summary>The kind of output column (default <see cref="ImageOutputKind.Image"/>).</summary>
        public ImageOutputKind OutputKind { get; set; } = ImageOutputKind.Image;

        /// <summary>Image width for stylisers with a symbolic width (default: from the input column).</summary>
        public int? ImageWidth { get; set; }

        /// <summary>Image height for stylisers with a symbolic height (default: from the input column).</summary>
        public int? ImageHeight { get; set; }

        /// <summary>
        /// For a styliser trained on several styles (<c>mlstyle train --styles</c>, or <see cref="StylizerTrainingEstimator.Options.StyleImages"/>):
        /// the blend, one non-negative weight per style in training order, normalised to sum 1 (default: the blend stored in
        /// the file, the equal blend). The weights are stored in the fitted chain's ONNX graph (the default of its
        /// <c>style_weights</c> input), so a saved model keeps them.
        /// </summary>
        public float[]? StyleWeights { get; set; }
    }

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;
    readonly ModelProto _model;
    readonly string _modelInput, _modelOutput;
    readonly long[] _inputDims;

    internal StylizerEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options options)
        : this(catalog, outputColumnName, inputColumnName, options, LoadModel(options))
    {
    }

    static ModelProto LoadModel(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ModelFile)) throw new ArgumentException("ModelFile: the styliser's ONNX file is needed", nameof(options));
        return OnnxModels.Load(options.ModelFile);
    }

    /// <summary>Applies a styliser held in memory (<paramref name="options"/>' ModelFile only names it in messages).</summary>
    internal StylizerEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options options, ModelProto model)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _model = model;
        if (options.StyleWeights is { } weights)
        {
            try { _model = FastStylizer.WithDefaultStyleWeights(model, weights); }
            catch (MLStyleException e) { throw new ArgumentException($"StyleWeights: {e.Message}", nameof(options), e); }
        }
        var inputs = OnnxModels.RealInputs(_model);
        if (inputs.Count != 1) throw new ModelException($"styliser '{options.ModelFile}' has {inputs.Count} inputs; it needs exactly one image input [1, 3, H, W]");
        if (_model.Graph.Output.Count < 1) throw new ModelException($"styliser '{options.ModelFile}' has no output");
        _modelInput = inputs[0];
        _modelOutput = _model.Graph.Output[0].Name;
        var vi = _model.Graph.Input.First(i => i.Name == _modelInput);
        var info = GraphBuilder.FromValueInfo(vi);
        if (info?.ElemType is not (null or ElementType.Float))
            throw new ModelException($"styliser '{options.ModelFile}': input '{_modelInput}' is not a float tensor");
        _inputDims = info?.Dims ?? new long[] { 1, 3, -1, -1 };
        if (_inputDims.Length != 4 || _inputDims[1] is not (3 or -1) || _inputDims[0] is not (1 or -1))
            throw new ModelException($"styliser '{options.ModelFile}': input '{_modelInput}' is [{string.Join(", ", _inputDims.Select(d => d < 0 ? "?" : d.ToString()))}], not an RGB image [1, 3, H, W]");
    }

    int? FixedWidth => _inputDims[3] > 0 ? (int)_inputDims[3] : _options.ImageWidth;
    int? FixedHeight => _inputDims[2] > 0 ? (int)_inputDims[2] : _options.ImageHeight;

    /// <summary>Specialises the styliser to the input column's size and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var size = ImageSize.Resolve(input.Schema, _inputColumn, FixedWidth, FixedHeight);
        SchemaChecks.PixelScale(input, _inputColumn);
        string raw = $"{_outputColumn}.MLStyle.Stylizer";
        var stylizer = Specialise(size, raw, out var outDims);
        var outSize = new ImageSize((int)outDims[3], (int)outDims[2]);
        bool image = _options.OutputKind == ImageOutputKind.Image;
        var tensor = OnnxChain.OutputTensor(_outputColumn, new[] { _inputColumn, raw }, image);
        var post = PostProcessing(size, outSize, raw, tensor);

        var apply = _catalog.ApplyOnnxModel(new[] { raw }, new[] { _inputColumn }, new MemoryStream(OnnxModels.ToBytes(stylizer), writable: false),
            shapeDictionary: null, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
        var pipeline = OnnxChain.Pipeline(_catalog, OnnxModels.ToBytes(post), _options.PreserveColors ? new[] { raw, _inputColumn } : new[] { raw },
            new (string, string, ImageSize?)[] { (tensor, _outputColumn, image ? outSize : null) }, new EstimatorChain<ITransformer>().Append<ITransformer>(apply))
            .Append<ITransformer>(_catalog.DropColumns(raw));
        return OnnxChain.Fit(pipeline, input);
    }

    /// <summary>A copy of the styliser with fixed input dimensions, the input named after the column and the output named <paramref name="output"/>.</summary>
    ModelProto Specialise(ImageSize size, string output, out long[] outDims)
    {
        var m = _model.Clone();
        var g = m.Graph;
        foreach (var name in new[] { _inputColumn, output })
            if (name != _modelInput && name != _modelOutput && (g.Node.Any(n => n.Output.Contains(name)) || g.Initializer.Any(t => t.Name == name)))
                throw new ModelException($"styliser '{_options.ModelFile}' already has a tensor named '{name}'; choose another column name");
        void Rename(string from, string to)
        {
            if (from == to) return;
            foreach (var n in g.Node)
            {
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == from) n.Input[i] = to;
                for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == from) n.Output[i] = to;
            }
            foreach (var v in g.Input.Concat(g.Output).Concat(g.ValueInfo)) if (v.Name == from) v.Name = to;
        }
        Rename(_modelInput, _inputColumn);
        Rename(_modelOutput, output);
        while (g.Output.Count > 1) g.Output.RemoveAt(1);
        var dims = g.Input.First(i => i.Name == _inputColumn).Type.TensorType.Shape ??= new TensorShapeProto();
        dims.Dim.Clear();
        foreach (var d in size.Dims) dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });

        outDims = GraphBuilder.FromValueInfo(g.Output[0])?.Dims ?? Array.Empty<long>();
        if (outDims.Length != 4 || outDims.Any(d => d < 0))
        {
            using var session = new OnnxSession(m, MLContextDeviceExtensions.SettingsFor(_catalog));
            var probe = session.Run(new Dictionary<string, FloatTensor> { [_inputColumn] = new(new float[size.Length], size.Dims) }, new[] { output });
            outDims = probe[output].Shape;
            g.Output[0] = GraphBuilder.MakeValueInfo(output, ElementType.Float, outDims, null);
        }
        if (outDims.Length != 4 || outDims[0] != 1 || outDims[1] != 3)
            throw new ModelException($"styliser '{_options.ModelFile}' returns [{string.Join(", ", outDims)}], not an RGB image [1, 3, H, W]");
        return m;
    }

    ModelProto PostProcessing(ImageSize inSize, ImageSize outSize, string raw, string output)
    {
        var b = GraphBuilder.Create("mlstyle_stylizer_post");
        var x = b.AddInput(raw, ElementType.Float, outSize.Dims);
        string result;
        if (_options.PreserveColors)
        {
            var original = b.AddInput(_inputColumn, ElementType.Float, inSize.Dims);
            if (inSize != outSize)
            {
                original = b.Node("Resize", new[] { original, "", "", b.Ints(outSize.Dims) }, "resized_input", ("mode", "linear"));
                b.SetInfo(original, TensorInfo.Float(outSize.Dims));
            }
            result = ColorTransfer.AddPreserveColors(b, GraphOps.Clip(b, x), original);
        }
        else result = GraphOps.Clip(b, x);
        outSize.AddPixelOutput(b, result, output);
        return b.Model;
    }

    /// <summary>Checks the input column and adds the output column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn,
            FixedWidth is { } w && FixedHeight is { } h ? new ImageSize(w, h).VectorText : "Vector<Single, 3, H, W>");
        return _options.OutputKind == ImageOutputKind.Image
            ? SchemaTemplates.WithImage(_catalog, inputSchema, _outputColumn, FixedHeight ?? 1, FixedWidth ?? 1)
            : SchemaTemplates.WithVectors(_catalog, inputSchema, new[] { _outputColumn });
    }
}
