using System.Diagnostics;
using System.Text.Json.Nodes;
using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using Onnx;

namespace MLStyle.Batch;

/// <summary>Options of applying a feed-forward styliser to an image.</summary>
public sealed record StylizerApplyOptions
{
    /// <summary>Resize the image so its long side is this many pixels first (default: the image's size).</summary>
    public int? Size { get; init; }

    /// <summary>Keep the photo's colours: luminance from the styliser, chroma from the photo.</summary>
    public bool PreserveColors { get; init; }

    /// <summary>
    /// The blend of a styliser of several styles: one weight per style, non-negative, normalised to sum 1 (default: the blend
    /// stored in the file, the equal blend for a styliser <c>mlstyle train --styles</c> wrote).
    /// </summary>
    public IReadOnlyList<float>? StyleWeights { get; init; }

    /// <summary>Checks the options (the number of style weights is checked against the styliser when it is applied).</summary>
    public void Validate()
    {
        if (Size is { } s && (s < 16 || s > 16384)) throw new MLStyleException($"invalid size {s}: must be between 16 and 16384 pixels");
        if (StyleWeights is { } w) FastStylizer.NormalizeStyleWeights(w, w.Count);
    }

    /// <summary>Checks the options against a styliser: the number of style weights must be its number of styles.</summary>
    public void Validate(StylizerSession stylizer)
    {
        Validate();
        if (StyleWeights is { } w) FastStylizer.NormalizeStyleWeights(w, stylizer.Styles);
    }

    /// <summary>Stylises <paramref name="image"/> with <paramref name="stylizer"/>: resize, one forward pass, optional colour preservation.</summary>
    public ImageTensor Apply(StylizerSession stylizer, ImageTensor image)
    {
        var input = Size is { } s ? ImageIO.ResizeToLongSide(image, s) : image;
        var output = stylizer.Apply(input, StyleWeights);
        if (!PreserveColors) return output;
        var kept = ColorTransfer.PreserveColors(output, input);
        kept.ClampInPlace();
        return kept;
    }
}

/// <summary>A batch job that applies one feed-forward styliser (an ONNX file) to every image.</summary>
public sealed class StylizerJob : IImageJob
{
    readonly ModelProto _model;
    readonly StylizerApplyOptions _options;

    /// <summary>Creates the job over a loaded styliser; <paramref name="modelHash"/> is the SHA-256 of its file.</summary>
    public StylizerJob(ModelProto model, string modelName, string modelHash, StylizerApplyOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // A model without the interface, or style weights that do not fit it: one clear error now.
        using (var probe = new StylizerSession(model, null, $"styliser '{modelName}'")) options.Validate(probe);
        _model = model;
        _options = options;
        ModelName = modelName;
        ModelHash = modelHash;
        Options = new JsonObject { ["size"] = options.Size, ["preserve_colors"] = options.PreserveColors, ["model"] = modelHash };
        if (options.StyleWeights is { } w)
            Options["style_weights"] = new JsonArray(FastStylizer.NormalizeStyleWeights(w, w.Count).Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
    }

    /// <inheritdoc />
    public string Kind => "apply";

    /// <inheritdoc />
    public JsonObject Options { get; }

    /// <inheritdoc />
    public int Seed => 0;

    /// <inheritdoc />
    public string ModelName { get; }

    /// <inheritdoc />
    public string ModelHash { get; }

    /// <inheritdoc />
    public IImageJobWorker CreateWorker(SessionSettings settings) => new Worker(new StylizerSession(_model, settings, $"styliser '{ModelName}'"), _options);

    sealed class Worker(StylizerSession session, StylizerApplyOptions options) : IImageJobWorker
    {
        public ImageJobResult Run(ImageTensor input, IProgress<double>? progress, CancellationToken cancel)
        {
            cancel.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            var image = options.Apply(session, input);
            progress?.Report(1);
            return new ImageJobResult(image, new Dictionary<string, double>(), new Dictionary<string, IReadOnlyList<double>>(), 1, sw.Elapsed,
                Process.GetCurrentProcess().PeakWorkingSet64, false, "one forward pass");
        }

        public void Dispose() => session.Dispose();
    }
}
