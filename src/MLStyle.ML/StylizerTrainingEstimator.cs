using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.ML.Internal;
using MLStyle.Onnx;
using MLStyle.Stylizers;
using Onnx;

namespace MLStyle.ML;

/// <summary>
/// Learns a feed-forward styliser (Johnson et al. 2016, with instance normalisation) for one style image — or one styliser for
/// several (conditional instance normalisation, Dumoulin et al. 2017) — from the photos of a pixel column, then stylises each
/// row in one forward pass of it.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | Yes: `Fit` trains the styliser on random crops of the rows' images |
/// | Input column data type | `Vector<Single, 3, H, W>`: planar RGB pixels 0–255 (from `ExtractPixels`), all rows of one size |
/// | Output column data type | `Image<H, W>` (default) or `Vector<Single, 3, H, W>` with `OutputKind = Pixels` |
///
/// `Fit` reads every row of the input column, trains a styliser with MLStyle's trainer (the content + Gram style + total-variation
/// objective of style transfer over a backbone, differentiated down to every weight, Adam) for the options' iterations, and
/// returns the same chain as `ApplyStylizer` over the trained network: an `ApplyOnnxModel` holding it and a clamping (and
/// optional colour-preserving) step, so `mlContext.Model.Save`/`Load` work as usual. `Options.SaveStylizerTo` also writes the
/// network as an ONNX file for `mlstyle apply`, `ApplyStylizer` or any other ONNX runtime.
///
/// The name follows ML.NET's convention of naming an estimator after what its fitted transformer does (as
/// `ProjectToPrincipalComponents` learns the projection it applies): the transformer stylises images; `Fit` learns how.
/// `ApplyStylizer` is the counterpart for a styliser file that already exists.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.StylizeImages(TransformsCatalog, string, string?, StylizerTrainingEstimator.Options?)"/>
public sealed class StylizerTrainingEstimator : IEstimator<TransformerChain<ITransformer>>
{
    /// <summary>Options of <see cref="StylizerTrainingEstimator"/>: those of <c>mlstyle train</c>.</summary>
    public sealed class Options : BackboneOptions
    {
        /// <summary>The style image file (this or <see cref="StyleImages"/> is required).</summary>
        public string StyleImage { get; set; } = "";

        /// <summary>
        /// Instead of <see cref="StyleImage"/>: several style image files for ONE styliser that holds them all (conditional
        /// instance normalisation, Dumoulin et al. 2017; <c>mlstyle train --styles</c>). The transformer applies the blend
        /// <see cref="StyleWeights"/>.
        /// </summary>
        public string[]? StyleImages { get; set; }

        /// <summary>
        /// With <see cref="StyleImages"/>: the blend the transformer applies, one non-negative weight per style, normalised to
        /// sum 1 (default: the equal blend). The exported file (<see cref="SaveStylizerTo"/>) keeps the equal blend as its
        /// default; <c>mlstyle apply --style-weights</c> chooses any other.
        /// </summary>
        public float[]? StyleWeights { get; set; }

        /// <summary>Side of the random square crops trained on (default 128).</summary>
        public int CropSize { get; set; } = 128;

        /// <summary>Crops per iteration (default 4).</summary>
        public int BatchSize { get; set; } = 4;

        /// <summary>Adam steps (default 2000).</summary>
        public int Iterations { get; set; } = 2000;

        /// <summary>Stop training after this long (default: none).</summary>
        public TimeSpan? TimeLimit { get; set; }

        /// <summary>Channels of the first layer (default 16; Johnson et al.: 32).</summary>
        public int Width { get; set; } = 16;

        /// <summary>Residual blocks (default 5).</summary>
        public int ResidualBlocks { get; set; } = 5;

        /// <summary>Skip from the input photo to the output, so training starts from the photo (default true).</summary>
        public bool InputSkip { get; set; } = true;

        /// <summary>With <see cref="InputSkip"/>, the photo's range squeezed into the middle this fraction of 0–255 (default null: the photo clipped to 2–98 %).</summary>
        public float? SkipRange { get; set; }

        /// <summary>Adam's learning rate (default 1e-3).</summary>
        public float LearningRate { get; set; } = 1e-3f;

        /// <summary>Seed of the initial weights and the crops (default 0): the same seed on the same machine trains the same network.</summary>
        public int Seed { get; set; }

        /// <summary>Long side of the style image for its Gram matrices (default: 4 × the crop size).</summary>
        public int? StyleSize { get; set; }

        /// <summary>Largest random shift of the styliser's output before the backbone, a multiple of 4 (default <see cref="StylizerTrainingOptions.DefaultJitter"/>; 0: none).</summary>
        public int? Jitter { get; set; }

        /// <summary>Content loss weight (default: the backbone's).</summary>
        public float? ContentWeight { get; set; }

        /// <summary>Style loss weight (default: the backbone's).</summary>
        public float? StyleWeight { get; set; }

        /// <summary>Total-variation weight (default <see cref="StylizerTrainingOptions.DefaultTvWeight"/>).</summary>
        public float? TvWeight { get; set; }

        /// <summary>Content layers, e.g. <c>layer2.1</c> (default: the backbone's).</summary>
        public string? ContentLayers { get; set; }

        /// <summary>Style layers with optional weights, e.g. <c>conv1,layer1.1:0.5</c> (default: the backbone's).</summary>
        public string? StyleLayers { get; set; }

        /// <summary>Keep each row's colours: luminance from the styliser, chroma from the input (default false).</summary>
        public bool PreserveColors { get; set; }

        /// <summary>The kind of output column (default <see cref="ImageOutputKind.Image"/>).</summary>
        public ImageOutputKind OutputKind { get; set; } = ImageOutputKind.Image;

        /// <summary>Also write the trained styliser to this ONNX file (default: none).</summary>
        public string? SaveStylizerTo { get; set; }
    }

    readonly TransformsCatalog _catalog;
    readonly string _outputColumn, _inputColumn;
    readonly Options _options;

    internal StylizerTrainingEstimator(TransformsCatalog catalog, string outputColumnName, string? inputColumnName, Options? options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _outputColumn = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("an output column name is needed", nameof(outputColumnName)) : outputColumnName;
        _inputColumn = inputColumnName ?? outputColumnName;
        _options = options ?? new Options();
        if (_options.StyleImages is { } many)
        {
            if (!string.IsNullOrWhiteSpace(_options.StyleImage)) throw new ArgumentException("set StyleImage (one style) or StyleImages (several), not both", nameof(options));
            if (many.Length < 2 || many.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("StyleImages: two or more style image files are needed (one style: StyleImage)", nameof(options));
        }
        else if (string.IsNullOrWhiteSpace(_options.StyleImage)) throw new ArgumentException("StyleImage: a style image file is needed", nameof(options));
        if (_options.StyleWeights is { } w)
        {
            try { FastStylizer.NormalizeStyleWeights(w, StyleFiles.Count); }
            catch (MLStyleException e) { throw new ArgumentException($"StyleWeights: {e.Message}", nameof(options), e); }
        }
        _options.ValidateSize();
        TrainingOptions(0).Validate();
    }

    IReadOnlyList<string> StyleFiles => _options.StyleImages ?? new[] { _options.StyleImage };

    StylizerTrainingOptions TrainingOptions(int seed) => new()
    {
        CropSize = _options.CropSize,
        BatchSize = _options.BatchSize,
        Iterations = _options.Iterations,
        TimeLimit = _options.TimeLimit,
        Shape = new StylizerShape(_options.Width, _options.ResidualBlocks, _options.InputSkip, _options.SkipRange),
        LearningRate = _options.LearningRate,
        Seed = seed,
        StyleSize = _options.StyleSize,
        Jitter = _options.Jitter,
        ContentWeight = _options.ContentWeight,
        StyleWeight = _options.StyleWeight,
        TvWeight = _options.TvWeight,
        ContentLayers = _options.ContentLayers is null ? null : WeightedLayer.ParseList(_options.ContentLayers),
        StyleLayers = _options.StyleLayers is null ? null : WeightedLayer.ParseList(_options.StyleLayers),
    };

    /// <summary>The trained styliser of the last <see cref="Fit"/> (null before).</summary>
    public ModelProto? TrainedStylizer { get; private set; }

    /// <summary>Trains a styliser on the rows' images and returns the chain that applies it.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var size = ImageSize.Resolve(input.Schema, _inputColumn, _options.ImageWidth, _options.ImageHeight);
        var photos = TrainingPhotos.FromImages(ReadImages(input, size), TrainingOptions(0).StylizerCropSize);
        var styles = StyleFiles.Select(f => ImageIO.Load(f)).ToList();
        var trainer = new StylizerTrainer(_options.ResolveBackbone(), MLContextDeviceExtensions.SettingsFor(_catalog));
        var result = trainer.Train(photos, styles, TrainingOptions(_options.Seed));
        if (result.Diverged) throw new InvalidOperationException($"training the styliser diverged: {result.StopReason}");
        TrainedStylizer = result.Model;
        if (_options.SaveStylizerTo is { } path) OnnxModels.Save(result.Model, path);
        var apply = new StylizerEstimator(_catalog, _outputColumn, _inputColumn, new StylizerEstimator.Options
        {
            ModelFile = "trained styliser",
            PreserveColors = _options.PreserveColors,
            OutputKind = _options.OutputKind,
            ImageWidth = size.Width,
            ImageHeight = size.Height,
            StyleWeights = _options.StyleWeights,
        }, result.Model);
        return apply.Fit(input);
    }

    List<ImageTensor> ReadImages(IDataView input, ImageSize size)
    {
        var col = input.Schema[_inputColumn];
        var list = new List<ImageTensor>();
        using var cursor = input.GetRowCursor(new[] { col });
        var get = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> v = default;
        while (cursor.MoveNext())
        {
            get(ref v);
            var img = new ImageTensor(size.Width, size.Height);
            v.CopyTo(img.Data);
            list.Add(img);
        }
        return list;
    }

    /// <summary>Checks the input column and adds the output column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckFloatVector(inputSchema, _inputColumn,
            _options.ImageWidth is { } w && _options.ImageHeight is { } h ? new ImageSize(w, h).VectorText : "Vector<Single, 3, H, W>");
        return _options.OutputKind == ImageOutputKind.Image
            ? SchemaTemplates.WithImage(_catalog, inputSchema, _outputColumn, _options.ImageHeight ?? 1, _options.ImageWidth ?? 1)
            : SchemaTemplates.WithVectors(_catalog, inputSchema, new[] { _outputColumn });
    }
}
