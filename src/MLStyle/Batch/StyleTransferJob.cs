using System.Text.Json.Nodes;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Batch;

/// <summary>A batch job that stylises every image with the same style images and options.</summary>
public sealed class StyleTransferJob : IImageJob
{
    readonly Backbone _backbone;
    readonly IReadOnlyList<ImageTensor> _styles;
    readonly StyleTransferOptions _options;

    /// <summary>Creates the job; validates the options and the layers against the backbone.</summary>
    /// <param name="backbone">The feature extractor.</param>
    /// <param name="styles">The style images, loaded.</param>
    /// <param name="styleHashes">The SHA-256 of each style image file (see <see cref="ContentHash.OfFile"/>), for the options hash.</param>
    /// <param name="options">The style-transfer options of every image.</param>
    /// <exception cref="MLStyleException">An option is invalid or a layer is not in the backbone.</exception>
    public StyleTransferJob(Backbone backbone, IReadOnlyList<ImageTensor> styles, IReadOnlyList<string> styleHashes, StyleTransferOptions options)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(styles);
        ArgumentNullException.ThrowIfNull(options);
        if (styleHashes.Count != styles.Count) throw new ArgumentException("one hash per style image is needed", nameof(styleHashes));
        options.Validate(styles.Count);
        _backbone = backbone;
        _styles = styles;
        _options = options;
        var spec = options.Objective(backbone); // resolves the layers: a clear error for unknown ones
        Spec = spec;
        Options = Describe(spec, options, styleHashes);
    }

    /// <summary>The resolved objective (the backbone's defaults filled in).</summary>
    public StyleObjectiveSpec Spec { get; }

    /// <summary>The options of every image.</summary>
    public StyleTransferOptions TransferOptions => _options;

    /// <inheritdoc />
    public string Kind => "stylize";

    /// <inheritdoc />
    public JsonObject Options { get; }

    /// <inheritdoc />
    public int Seed => _options.Seed;

    /// <inheritdoc />
    public string ModelName => _backbone.Name;

    /// <inheritdoc />
    public string ModelHash => _backbone.Hash;

    /// <inheritdoc />
    public IImageJobWorker CreateWorker(SessionSettings settings)
    {
        var cache = new StyleTransferCache();
        return new Worker(new StyleTransferEngine(_backbone, settings) { Cache = cache }, cache, _styles, _options);
    }

    static JsonObject Describe(StyleObjectiveSpec spec, StyleTransferOptions o, IReadOnlyList<string> styleHashes)
    {
        string init = o.Init.ToLowerInvariant() is "content" or "random" ? o.Init.ToLowerInvariant() : "sha256:" + ContentHash.OfFile(o.Init);
        var json = new JsonObject
        {
            ["scales"] = new JsonArray(o.EffectiveScales.Select(s => (JsonNode)s).ToArray()),
            ["iterations"] = o.Iterations,
            ["optimizer"] = o.Optimizer,
            ["learning_rate"] = o.LearningRate,
            ["history"] = o.Optimizer == "lbfgs" ? o.LbfgsHistory : null,
            ["history_precision"] = o.Optimizer == "lbfgs" ? o.LbfgsHistoryPrecision.ToString().ToLowerInvariant() : null,
            ["line_search"] = o.Optimizer == "lbfgs" ? o.LineSearch.ToString().ToLowerInvariant() : null,
        };
        spec.WriteTo(json);
        json["styles"] = new JsonArray(styleHashes.Select(h => (JsonNode)h).ToArray());
        json["style_blend"] = o.StyleBlend is null ? null : new JsonArray(o.StyleBlend.Select(w => (JsonNode)w).ToArray());
        json["style_scale"] = o.StyleScale;
        json["init"] = init;
        json["seed"] = o.Seed;
        json["preserve_colors"] = o.PreserveColors;
        json["tolerance"] = o.Tolerance;
        json["smooth_updates"] = o.SmoothUpdates > 1 ? o.SmoothUpdates : 0;
        return json;
    }

    sealed class Worker(StyleTransferEngine engine, StyleTransferCache cache, IReadOnlyList<ImageTensor> styles, StyleTransferOptions options) : IImageJobWorker
    {
        public ImageJobResult Run(ImageTensor input, IProgress<double>? progress, CancellationToken cancel)
        {
            var r = engine.Run(input, styles, options,
                progress is null ? null : new Reporter(p => progress.Report((p.Stage - 1 + p.Iteration / (double)Math.Max(1, p.Iterations)) / p.Stages)),
                cancel);
            var losses = new Dictionary<string, double>
            {
                ["total"] = r.Final.Loss, ["content"] = r.Final.Content, ["style"] = r.Final.Style, ["tv"] = r.Final.Tv,
            };
            var curves = new Dictionary<string, IReadOnlyList<double>>
            {
                ["total"] = r.History.Select(h => (double)h.Loss).ToList(),
                ["content"] = r.History.Select(h => (double)h.Content).ToList(),
                ["style"] = r.History.Select(h => (double)h.Style).ToList(),
                ["tv"] = r.History.Select(h => (double)h.Tv).ToList(),
            };
            return new ImageJobResult(r.Image, losses, curves, r.Iterations, r.Elapsed, r.PeakMemoryBytes, r.Diverged, r.StopReason) { NoProgress = r.Stalled };
        }

        public void Dispose() => cache.Dispose();
    }

    sealed class Reporter(Action<StyleProgress> report) : IProgress<StyleProgress>
    {
        public void Report(StyleProgress value) => report(value);
    }
}
