using System.Text.Json.Nodes;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Runtime;

namespace MLStyle.Batch;

/// <summary>A batch job that dreams on every image with the same options (zoom frames are not part of batches).</summary>
public sealed class DeepDreamJob : IImageJob
{
    readonly Backbone _backbone;
    readonly DeepDreamOptions _options;

    /// <summary>Creates the job; validates the options and the layers and channels against the backbone.</summary>
    /// <param name="backbone">The feature extractor.</param>
    /// <param name="options">The dream options of every image (<see cref="DeepDreamOptions.Frames"/> must be 0).</param>
    /// <param name="guideHash">The SHA-256 of the guide image file when <see cref="DeepDreamOptions.Guide"/> is set, for the options hash.</param>
    /// <exception cref="MLStyleException">An option is invalid, frames were asked for, or a layer or channel is not in the backbone.</exception>
    public DeepDreamJob(Backbone backbone, DeepDreamOptions options, string? guideHash = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Frames > 0) throw new MLStyleException("zoom frames are not available in batches: dream the images one by one");
        if (options.Guide is not null && guideHash is null) throw new ArgumentException("a guided dream needs the guide's hash", nameof(guideHash));
        _backbone = backbone;
        _options = options;
        var spec = new DeepDreamEngine(backbone).Spec(options);
        Options = new JsonObject
        {
            ["layers"] = new JsonArray(spec.Layers.Select(l => (JsonNode)new JsonObject { ["layer"] = l.Layer, ["weight"] = l.Weight }).ToArray()),
            ["channels"] = spec.Channels is null ? null : new JsonArray(spec.Channels.Select(c => (JsonNode)c).ToArray()),
            ["objective"] = spec.Guided ? "guided" : spec.Reduction.ToString().ToLowerInvariant(),
            ["guide"] = guideHash,
            ["guide_size"] = spec.Guided ? options.GuideSize : null,
            ["size"] = options.Size,
            ["octaves"] = options.Octaves,
            ["octave_scale"] = options.OctaveScale,
            ["iterations"] = options.IterationsPerOctave,
            ["step"] = options.StepSize,
            ["jitter"] = options.Jitter,
            ["tile"] = options.Tile,
            ["tile_overlap"] = options.Tile > 0 ? options.TileOverlap : null,
            ["seed"] = options.Seed,
        };
    }

    /// <inheritdoc />
    public string Kind => "dream";

    /// <inheritdoc />
    public JsonObject Options { get; }

    /// <inheritdoc />
    public int Seed => _options.Seed;

    /// <inheritdoc />
    public string ModelName => _backbone.Name;

    /// <inheritdoc />
    public string ModelHash => _backbone.Hash;

    /// <inheritdoc />
    public IImageJobWorker CreateWorker(SessionSettings settings) => new Worker(new DeepDreamEngine(_backbone, settings), _options);

    sealed class Worker(DeepDreamEngine engine, DeepDreamOptions options) : IImageJobWorker
    {
        public ImageJobResult Run(ImageTensor input, IProgress<double>? progress, CancellationToken cancel)
        {
            var r = engine.Run(input, options, progress is null ? null : new Reporter(p => progress.Report(p.Fraction)), cancel);
            var objective = r.History.Select(s => (double)s.Objective).ToList();
            var bad = r.History.FirstOrDefault(s => !float.IsFinite(s.Objective));
            var losses = new Dictionary<string, double> { ["objective"] = objective.Count > 0 ? objective[^1] : double.NaN };
            var curves = new Dictionary<string, IReadOnlyList<double>> { ["objective"] = objective };
            return new ImageJobResult(r.Image, losses, curves, r.Steps, r.Elapsed, r.PeakMemoryBytes, bad is not null,
                bad is null ? "iterations" : $"the objective became {bad.Objective} at octave {bad.Octave}, step {bad.Iteration}");
        }

        public void Dispose() { }
    }

    sealed class Reporter(Action<DreamProgress> report) : IProgress<DreamProgress>
    {
        public void Report(DreamProgress value) => report(value);
    }
}
