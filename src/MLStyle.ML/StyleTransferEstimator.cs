using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.ML.Internal;
using MLStyle.Onnx;
using MLStyle.Optimization;
using MLStyle.Runtime;

namespace MLStyle.ML;

/// <summary>
/// Neural style transfer (Gatys et al. 2016) as a pipeline step: each row's image is optimised, inside the ONNX model, to keep
/// its content and take on the style of the style images the estimator was fitted with.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No: it learns the style images' Gram matrices |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255, as `ExtractPixels` produces by default |
/// | Output column data type | `Image<H, W>` (default) or `Vector<Single, 3, H, W>` with `OutputKind = Pixels` |
///
/// `Fit` computes the Gram matrices of the style images (blended when there are several) and stores them as initializers of an
/// ONNX model. The model holds the whole optimisation: an ONNX `Loop` whose body evaluates the content + style + total-variation
/// loss of the current image, its gradient (written by MLStyle's differentiator as ordinary ONNX operators) and an Adam step
/// projected onto 0–255, run `Iterations` times from the content image. The saved model therefore reproduces the result in any
/// process with ONNX Runtime. The content features of each row are computed before the loop; the backbone's weights are stored
/// once and read by the loop body from the outer scope.
///
/// There is no progress report while a row is optimised (the loop runs inside ONNX Runtime): each row costs about
/// `Iterations` forward and backward passes of the backbone. The loss of every iteration is a second output of the ONNX model.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.StyleTransfer(TransformsCatalog, string, string?, Options)"/>
public sealed class StyleTransferEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="StyleTransferEstimator"/>. Null values take the backbone's defaults.</summary>
    public sealed class Options : BackboneOptions
    {
        /// <summary>Paths of the style images (at least one).</summary>
        public IList<string> StyleImages { get; set; } = new List<string>();

        /// <summary>Blend weights of the style images (default equal); normalised to sum 1.</summary>
        public IList<float>? StyleBlend { get; set; }

        /// <summary>Style images are resized so their long side is this fraction of the output's long side (default 1).</summary>
        public float StyleScale { get; set; } = 1f;

        /// <summary>Adam iterations per row (default 100); the trip count of the ONNX loop.</summary>
        public int Iterations { get; set; } = 100;

        /// <summary>Adam learning rate on the 0–255 pixel scale (default 4).</summary>
        public float LearningRate { get; set; } = 4f;

        /// <summary>Content layers as <c>name</c> or <c>name:weight</c> (default: the backbone's, layer2.1 for ResNet18).</summary>
        public IList<string>? ContentLayers { get; set; }

        /// <summary>Style layers as <c>name</c> or <c>name:weight</c> (default: the backbone's, conv1 … layer3.1 for ResNet18).</summary>
        public IList<string>? StyleLayers { get; set; }

        /// <summary>Weight of the content loss (default: the backbone's, 3 for ResNet18).</summary>
        public float? ContentWeight { get; set; }

        /// <summary>Weight of the style loss (default: the backbone's, 1e4 for ResNet18).</summary>
        public float? StyleWeight { get; set; }

        /// <summary>Weight of the total-variation loss (default: the backbone's, 1e-2 for ResNet18).</summary>
        public float? TvWeight { get; set; }

        /// <summary>Activation smoothing (default: the backbone's).</summary>
        public ActivationSmoothing? Smoothing { get; set; }

        /// <summary>Keep each row's colours: luminance from the result, chroma from the input (YIQ) (default false).</summary>
        public bool PreserveColors { get; set; }

        /// <summary>The kind of output column (default <see cref="ImageOutputKind.Image"/>).</summary>
        public ImageOutputKind OutputKind { get; set; } = ImageOutputKind.Image;

        internal void Validate()
        {
            ValidateSize();
            if (StyleImages is not { Count: > 0 }) throw new ArgumentException("StyleImages: at least one style image is needed");
            if (Iterations is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Iterations), $"Iterations {Iterations} must be between 1 and 100000");
            if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), $"LearningRate {LearningRate} must be positive");
            if (!(StyleScale > 0 && StyleScale <= 8)) throw new ArgumentOutOfRangeException(nameof(StyleScale), $"StyleScale {StyleScale} must be in (0, 8]");
            foreach (var (name, w) in new[] { (nameof(ContentWeight), ContentWeight), (nameof(StyleWeight), StyleWeight), (nameof(TvWeight), TvWeight) })
                if (w is { } v && (!(v >= 0) || float.IsInfinity(v))) throw new ArgumentOutOfRangeException(name, $"{name} {v} must be finite and non-negative");
                        if (StyleBlend is { } blend && (blend.Count != StyleImages.Count || blend.Any(w => !(w >= 0) || float.IsInfinity(w)) || blend.Sum() <= 0))
                throw new ArgumentException($"StyleBlend needs {StyleImages.Count} non-negative weights with a positive sum");
        }
    }

    /// <summary>Name of the second ONNX output: the loss at every iteration.</summary>
    internal const string LossesOutput = "losses";

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;

    internal StyleTransferEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>Computes the style targets, builds the optimisation model for the input column's image size and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
        => OnnxChain.FitImageModel(_catalog, input, _inputColumn, _outputColumn, _options.ImageWidth, _options.ImageHeight,
            _options.OutputKind == ImageOutputKind.Image, (size, tensor) => OnnxModels.ToBytes(BuildModel(size, tensor)));

    internal global::Onnx.ModelProto BuildModel(ImageSize size, string outputTensor)
    {
        var o = _options;
        var backbone = o.ResolveBackbone();
        var spec = StyleObjectiveSpec.FromDefaults(backbone,
            o.ContentLayers is { Count: > 0 } cl ? WeightedLayer.ParseList(string.Join(",", cl)) : null,
            o.StyleLayers is { Count: > 0 } sl ? WeightedLayer.ParseList(string.Join(",", sl)) : null,
            o.ContentWeight, o.StyleWeight, o.TvWeight, o.Smoothing);
        var grams = StyleGrams(spec, size);

        var b = GraphBuilder.Create("mlstyle_style_transfer");
        var content = b.AddInput(_inputColumn, ElementType.Float, size.Dims);
        var trunks = new TrunkCopier(b);

        // Before the loop: the content targets of this row.
        var contentTargets = StyleObjective.AddContentTargets(b, spec, content, trunks, "content/");
        var gramTargets = StyleObjective.AddStyleTargets(b, grams);
        var zeros = b.ZerosLike(content);

        // The loop body: loss, gradient, Adam step.
        var loop = LoopScope.Begin(b, "step/", size.Dims, size.Dims, size.Dims);
        var (x, m, v) = (loop.Carried[0], loop.Carried[1], loop.Carried[2]);
        var loss = StyleObjective.AddLoss(b, spec, x, contentTargets, gramTargets, trunks, "step/").Loss;
        var grad = Differentiator.AddGradients(b, loss, null, new[] { x })[x];
        var (step, m2, v2) = new AdamRule(o.LearningRate).Emit(b, loop.Iteration, o.Iterations, x, grad, m, v);
        var x2 = GraphOps.Clip(b, step); // projected onto 0–255
        var outs = loop.End(o.Iterations, new[] { content, zeros, zeros }, new[] { x2, m2, v2 }, new[] { loss }, "style_transfer");

        var result = o.PreserveColors ? ColorTransfer.AddPreserveColors(b, outs[0], content) : GraphOps.Clip(b, outs[0]);
        size.AddPixelOutput(b, result, outputTensor);
        b.AddOutput(b.Identity(outs[3], LossesOutput), TensorInfo.Float(o.Iterations));
        GraphTransforms.RemoveUnusedInitializers(b.Model);
        return b.Model;
    }

    /// <summary>The blended Gram matrices of the style images at the size matching <paramref name="size"/>.</summary>
    List<FloatTensor> StyleGrams(StyleObjectiveSpec spec, ImageSize size)
    {
        var o = _options;
        var blend = StyleTargets.BlendWeights(o.StyleBlend?.ToArray(), o.StyleImages.Count);
        int longSide = StyleTargets.StyleSide(Math.Max(size.Width, size.Height), o.StyleScale);
        var targetModel = StyleObjective.BuildTargetModel(spec with { ContentLayers = Array.Empty<WeightedLayer>() });
        using var session = new OnnxSession(targetModel, MLContextDeviceExtensions.SettingsFor(_catalog));
        // Styles of weight 0 are skipped by the blend, so they are not even loaded.
        var styles = o.StyleImages.Select((path, s) => blend[s] == 0 ? new ImageTensor(1, 1) : ImageIO.Load(path)).ToList();
        var grams = StyleTargets.Blended(session, spec, styles, blend, longSide);
        return Enumerable.Range(0, spec.StyleLayers.Count).Select(i => grams[StyleObjective.StyleTarget(i)]).ToList();
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
