using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Backbones;
using MLStyle.Losses;
using MLStyle.Imaging;
using MLStyle.ML.Internal;
using MLStyle.Onnx;

namespace MLStyle.ML;

/// <summary>
/// DeepDream (Mordvintsev et al. 2015) as a pipeline step: each row's image is changed by gradient ascent on the mean
/// activation of chosen backbone layers, over a short schedule of octaves, inside the ONNX model.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255, as `ExtractPixels` produces by default |
/// | Output column data type | `Image<H, W>` (default) or `Vector<Single, 3, H, W>` with `OutputKind = Pixels` |
///
/// The objective is that of MLStyle's DeepDream engine (`MLStyle.Losses.DreamObjective`): Σ weight·mean(activations) over
/// `Layers` (or the mean square with `Reduction = L2`, optionally over chosen `Channels`). Each step is x ← clip(x + StepSize · g / mean|g|, 0, 255) with
/// g the gradient of the objective (MLStyle's differentiator, as ONNX operators), so a step moves pixels by about `StepSize`
/// on the 0–255 scale whatever the gradient's magnitude. Octaves are unrolled into the ONNX model, smallest first: octave k
/// runs `Iterations` steps on the image resized by `OctaveScale`^-(Octaves−1−k), starting from that resized image plus the
/// detail the previous octave added (upsampled); octaves whose short side would fall below 16 pixels are skipped
/// (`MLStyle.Losses.DreamSchedule`, the engine's schedule and step). Each octave is one ONNX `Loop` with a fixed trip count; all octaves share the
/// backbone's weights. Tiling is not needed at pipeline sizes (the whole image is one tile).
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.DeepDream(TransformsCatalog, string, string?, Options?)"/>
public sealed class DeepDreamEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="DeepDreamEstimator"/>.</summary>
    public sealed class Options : BackboneOptions
    {
        /// <summary>
        /// Layers whose activations are maximised, as <c>name</c> or <c>name:weight</c> (default: the DeepDream engine's,
        /// <c>layer3.0</c> and <c>layer3.1</c> for ResNet18, <c>relu4_2</c> for VGG; see <see cref="DreamDefaults"/>).
        /// </summary>
        public IList<string>? Layers { get; set; }

        /// <summary>How a layer's activations become a number: their mean (default) or mean square.</summary>
        public DreamReduction Reduction { get; set; } = DreamReduction.Mean;

        /// <summary>Only these channels of every layer count (default null: all channels).</summary>
        public IList<int>? Channels { get; set; }

        /// <summary>Gradient-ascent steps per octave (default 10).</summary>
        public int Iterations { get; set; } = 10;

        /// <summary>Step size on the 0–255 scale, applied to the gradient divided by its mean absolute value (default 2).</summary>
        public float StepSize { get; set; } = 2f;

        /// <summary>Number of octaves (default 3; 1 runs at the full size only).</summary>
        public int Octaves { get; set; } = 3;

        /// <summary>Size ratio between successive octaves (default 1.4).</summary>
        public float OctaveScale { get; set; } = 1.4f;

        /// <summary>Keep each row's colours: luminance from the result, chroma from the input (YIQ) (default false).</summary>
        public bool PreserveColors { get; set; }

        /// <summary>The kind of output column (default <see cref="ImageOutputKind.Image"/>).</summary>
        public ImageOutputKind OutputKind { get; set; } = ImageOutputKind.Image;

        internal void Validate()
        {
            ValidateSize();
            if (Layers is { Count: 0 }) throw new ArgumentException("Layers: at least one layer is needed (or null for the default)");
            if (Iterations is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Iterations), $"Iterations {Iterations} must be between 1 and 100000");
            if (!(StepSize > 0) || !float.IsFinite(StepSize)) throw new ArgumentOutOfRangeException(nameof(StepSize), $"StepSize {StepSize} must be positive");
            if (Octaves is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(Octaves), $"Octaves {Octaves} must be between 1 and 8");
            if (!(OctaveScale > 1 && OctaveScale <= 4)) throw new ArgumentOutOfRangeException(nameof(OctaveScale), $"OctaveScale {OctaveScale} must be in (1, 4]");
        }
    }

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;

    internal DeepDreamEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options? options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? new Options();
        _options.Validate();
    }

    /// <summary>Builds the DeepDream model for the input column's image size and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
        => OnnxChain.FitImageModel(_catalog, input, _inputColumn, _outputColumn, _options.ImageWidth, _options.ImageHeight,
            _options.OutputKind == ImageOutputKind.Image, (size, tensor) => OnnxModels.ToBytes(BuildModel(size, tensor)));

    /// <summary>The smallest octave side: the estimator's images may be small, so it goes below the engine's.</summary>
    internal const int MinOctaveSide = 16;

    /// <summary>The octave sizes, smallest first (<see cref="DreamSchedule.OctaveSizes"/>; octaves below 16 pixels are skipped).</summary>
    internal static IReadOnlyList<ImageSize> OctaveSizes(ImageSize size, int octaves, float scale) =>
        DreamSchedule.OctaveSizes(size.Width, size.Height, octaves, scale, MinOctaveSide).Reverse().Select(s => new ImageSize(s.Width, s.Height)).ToList();

    internal global::Onnx.ModelProto BuildModel(ImageSize size, string outputTensor)
    {
        var o = _options;
        var backbone = o.ResolveBackbone();
        var layers = o.Layers is { } l ? WeightedLayer.ParseList(string.Join(",", l)) : DreamDefaults.Layers(backbone);
        var spec = new DreamObjectiveSpec(backbone, layers, o.Reduction, o.Channels?.ToList());
        spec.Validate();
        var b = GraphBuilder.Create("mlstyle_deep_dream");
        var layerScale = b.Constant(Enumerable.Repeat(1f, layers.Count).ToArray(), new long[] { layers.Count }, "layer_scale");
        var input = b.AddInput(_inputColumn, ElementType.Float, size.Dims);
        var copier = new TrunkCopier(b);
        var sizes = OctaveSizes(size, o.Octaves, o.OctaveScale);
        string? detail = null, current = null;
        var objectives = new List<string>();
        for (int k = 0; k < sizes.Count; k++)
        {
            var s = sizes[k];
            var baseImage = s == size ? input : Resize(b, input, s);
            var start = detail is null ? baseImage : b.Add(baseImage, Resize(b, detail, s));
            b.SetInfo(start, TensorInfo.Float(s.Dims));

            // The loop body: the objective and its gradient (differentiated by DreamObjective before inlining), then the step.
            var objectiveModel = DreamObjective.BuildModel(spec, s.Width, s.Height);
            var loop = LoopScope.Begin(b, $"octave{k}/", s.Dims);
            var x = loop.Carried[0];
            var map = copier.Inline(objectiveModel, new Dictionary<string, string> { [Backbone.InputName] = x, [DreamObjective.LayerScale] = layerScale }, $"octave{k}/");
            var objective = map[DreamObjective.Objective];
            var g = map[DreamObjective.ImageGrad];
            var next = DreamSchedule.AddNormalisedStep(b, x, g, o.StepSize);
            b.SetInfo(next, TensorInfo.Float(s.Dims));
            var outs = loop.End(o.Iterations, new[] { start }, new[] { next }, new[] { objective }, $"octave{k}");

            current = outs[0];
            objectives.Add(outs[1]);
            if (k < sizes.Count - 1)
            {
                detail = b.Sub(current, baseImage);
                b.SetInfo(detail, TensorInfo.Float(s.Dims));
            }
        }
        var result = o.PreserveColors ? ColorTransfer.AddPreserveColors(b, current!, input) : GraphOps.Clip(b, current!);
        size.AddPixelOutput(b, result, outputTensor);
        var all = objectives.Count == 1 ? objectives[0] : b.Concat(0, objectives.ToArray());
        b.AddOutput(b.Identity(all, StyleTransferEstimator.LossesOutput), TensorInfo.Float(o.Iterations * sizes.Count));
        GraphTransforms.RemoveUnusedInitializers(b.Model);
        return b.Model;
    }

    static string Resize(GraphBuilder b, string x, ImageSize s)
    {
        var y = b.Node("Resize", new[] { x, "", "", b.Ints(s.Dims) }, "octave_resize", ("mode", "linear"));
        b.SetInfo(y, TensorInfo.Float(s.Dims));
        return y;
    }

    /// <summary>Checks the input column and adds the output column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn, DeepFeatureExtractingEstimator.ExpectedText(_options));
        return _options.OutputKind == ImageOutputKind.Image
            ? SchemaTemplates.WithImage(_catalog, inputSchema, _outputColumn, _options.ImageHeight ?? 1, _options.ImageWidth ?? 1)
            : SchemaTemplates.WithVectors(_catalog, inputSchema, new[] { _outputColumn });
    }
}
