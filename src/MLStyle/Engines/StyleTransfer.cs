using System.Diagnostics;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Optimization;
using MLStyle.Runtime;

namespace MLStyle.Engines;

/// <summary>Options of Gatys-style neural style transfer. Null values take the backbone's defaults.</summary>
public sealed record StyleTransferOptions
{
    /// <summary>Long side of the output in pixels (default 512). Ignored when <see cref="Scales"/> is set.</summary>
    public int Size { get; init; } = 512;

    /// <summary>Optimiser iterations per scale (default 300).</summary>
    public int Iterations { get; init; } = 300;

    /// <summary><c>lbfgs</c> (default) or <c>adam</c>.</summary>
    public string Optimizer { get; init; } = "lbfgs";

    /// <summary>Learning rate (default: 1 for L-BFGS; 2 for Adam on the 0–255 pixel scale).</summary>
    public float? LearningRate { get; init; }

    /// <summary>
    /// L-BFGS history size (default 25 pairs: the style, content and grid measures of `mlstyle bench quality` as with 50 and
    /// neural-style's 100, at a quarter of the latter's memory; 512×384 at the defaults then peaks below 800 MiB).
    /// </summary>
    public int LbfgsHistory { get; init; } = 25;

    /// <summary>
    /// Storage of the L-BFGS pairs (default float32). <see cref="HistoryPrecision.Half"/> (float16 with a scale per vector)
    /// halves the history's memory, but its rounding lets a period-4 pattern grow on some pairs (`mlstyle bench quality`,
    /// flowers × Shipwreck at 256 px: grid 1.92 against 1.21), so it is an option for tight memory, not the default.
    /// </summary>
    public HistoryPrecision LbfgsHistoryPrecision { get; init; } = HistoryPrecision.Single;

    /// <summary>L-BFGS line search (default none, as neural-style: one evaluation per iteration).</summary>
    public LineSearch LineSearch { get; init; } = LineSearch.None;

    /// <summary>Weight of the content loss (default: the backbone's).</summary>
    public float? ContentWeight { get; init; }

    /// <summary>Weight of the style loss (default: the backbone's).</summary>
    public float? StyleWeight { get; init; }

    /// <summary>Weight of the total-variation loss (default: the backbone's).</summary>
    public float? TvWeight { get; init; }

    /// <summary>Blend weights of several style images (default equal); normalised to sum 1.</summary>
    public IReadOnlyList<float>? StyleBlend { get; init; }

    /// <summary>Style images are resized to this fraction of the output's long side (default 1).</summary>
    public float StyleScale { get; init; } = 1f;

    /// <summary><c>content</c> (default), <c>random</c>, or a path to an image to start from.</summary>
    public string Init { get; init; } = "content";

    /// <summary>Random seed (for <c>random</c> init); the same seed on the same machine gives the same output.</summary>
    public int Seed { get; init; }

    /// <summary>Keep the content's colours: luminance from the result, chroma from the content.</summary>
    public bool PreserveColors { get; init; }

    /// <summary>Coarse-to-fine long sides, e.g. 256, 512; each stage starts from the upsampled previous result.</summary>
    public IReadOnlyList<int>? Scales { get; init; }

    /// <summary>Content layers with weights (default: the backbone's).</summary>
    public IReadOnlyList<WeightedLayer>? ContentLayers { get; init; }

    /// <summary>Style layers with weights (default: the backbone's).</summary>
    public IReadOnlyList<WeightedLayer>? StyleLayers { get; init; }

    /// <summary>Activation smoothing (default: the backbone's; SWAG softmax for ResNet18).</summary>
    public ActivationSmoothing? Smoothing { get; init; }

    /// <summary>Taps of the binomial blur the backbone sees the image through: 0 (none), 3 or 5 (default: the backbone's).</summary>
    public int? InputBlur { get; init; }

    /// <summary>
    /// Taps (3, 5, 7 or 9; 0: off) of the blur applied to every change the optimiser makes to the image (x = start + blur(z), see
    /// <see cref="BlurredUpdates"/>): keeps the strided layers' period-2/4 gradient pattern out of the picture. Default 3.
    /// </summary>
    public int SmoothUpdates { get; init; } = 3;

    /// <summary>Stop a stage early when the loss changes by less than this fraction for 5 iterations (default 1e-5; 0 disables).</summary>
    public double Tolerance { get; init; } = 1e-5;

    /// <summary>The style objective of these options over <paramref name="backbone"/> (its defaults fill what is not set); validated.</summary>
    public StyleObjectiveSpec Objective(Backbone backbone) =>
        StyleObjectiveSpec.FromDefaults(backbone, ContentLayers, StyleLayers, ContentWeight, StyleWeight, TvWeight, Smoothing, InputBlur);

    /// <summary>The scales this run goes through.</summary>
    public IReadOnlyList<int> EffectiveScales => Scales is { Count: > 0 } ? Scales : new[] { Size };

    /// <summary>Checks every option and throws an <see cref="MLStyleException"/> naming the first bad one.</summary>
    public void Validate(int styleCount)
    {
        foreach (var s in EffectiveScales)
            if (s < 16 || s > 16384) throw new MLStyleException($"invalid size {s}: must be between 16 and 16384 pixels");
        if (Iterations < 0) throw new MLStyleException($"invalid iterations {Iterations}: must be 0 or more");
        if (!Optimizers.Names.Contains(Optimizer)) throw new MLStyleException($"unknown optimizer '{Optimizer}': use {string.Join(" or ", Optimizers.Names)}");
        if (LearningRate is { } lr && !(lr > 0 && float.IsFinite(lr))) throw new MLStyleException($"invalid learning rate {lr}: must be positive");
        if (LbfgsHistory < 1) throw new MLStyleException($"invalid L-BFGS history {LbfgsHistory}: must be at least 1");
        if (!(StyleScale > 0 && StyleScale <= 8)) throw new MLStyleException($"invalid style scale {StyleScale}: must be in (0, 8]");
        if (styleCount < 1) throw new MLStyleException("at least one style image is needed");
        if (StyleBlend is { } blend)
        {
            if (blend.Count != styleCount) throw new MLStyleException($"the style blend has {blend.Count} weights for {styleCount} style images");
            if (blend.Any(w => !(w >= 0) || float.IsInfinity(w)) || blend.Sum() <= 0) throw new MLStyleException("style blend weights must be non-negative with a positive sum");
        }
        if (!Enum.IsDefined(LbfgsHistoryPrecision)) throw new MLStyleException($"invalid L-BFGS history precision {LbfgsHistoryPrecision}");
        if (SmoothUpdates is not (0 or 1 or 3 or 5 or 7 or 9)) throw new MLStyleException($"invalid smooth updates {SmoothUpdates}: use 0 (off), 3, 5, 7 or 9 taps");
        if (Tolerance < 0) throw new MLStyleException($"invalid tolerance {Tolerance}");
    }
}

/// <summary>One row of the loss history.</summary>
public sealed record LossRecord(int Stage, int Iteration, float Loss, float Content, float Style, float Tv);

/// <summary>Progress of a running style transfer.</summary>
public sealed record StyleProgress(int Stage, int Stages, int Width, int Height, int Iteration, int Iterations, LossRecord Losses, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>The result of a style transfer.</summary>
public sealed record StyleTransferResult(
    ImageTensor Image, IReadOnlyList<LossRecord> History, LossRecord Initial, LossRecord Final,
    int Iterations, TimeSpan Elapsed, long PeakMemoryBytes, bool Diverged, string StopReason)
{
    /// <summary>
    /// True when some stage ended without lowering its (positive) loss, even after falling back from L-BFGS to Adam: the
    /// output is about the start image, and the run must not be taken for a success.
    /// </summary>
    public bool Stalled { get; init; }
}

/// <summary>
/// Neural style transfer by optimisation (Gatys et al. 2016): minimises content + Gram-matrix style + total-variation losses
/// over the pixels, with gradients from MLStyle's own differentiation of the backbone, run by ONNX Runtime.
/// </summary>
/// <param name="backbone">The network whose features the objective reads.</param>
/// <param name="settings">Device and threads of the ONNX Runtime sessions (default <see cref="SessionSettings.Default"/>).</param>
public sealed class StyleTransferEngine(Backbone backbone, SessionSettings? settings = null)
{
    readonly Backbone _backbone = backbone;
    readonly SessionSettings _settings = settings ?? SessionSettings.Default;

    /// <summary>Called with (global iteration, current image) every <c>saveEvery</c> iterations when set.</summary>
    public Action<int, ImageTensor>? Snapshot { get; init; }

    /// <summary>Save a snapshot every N iterations (0: never).</summary>
    public int SnapshotEvery { get; init; }

    /// <summary>
    /// Reuses sessions and style targets across runs (default null: every run builds its own). Set it when one engine
    /// stylises many images with the same styles and options, as a batch worker does; the caller owns and disposes it.
    /// </summary>
    internal StyleTransferCache? Cache { get; init; }

    /// <summary>Builds the objective specification for these options.</summary>
    public StyleObjectiveSpec Spec(StyleTransferOptions o) => o.Objective(_backbone);

    /// <summary>Runs style transfer of <paramref name="content"/> in the style of <paramref name="styles"/>.</summary>
    public StyleTransferResult Run(ImageTensor content, IReadOnlyList<ImageTensor> styles, StyleTransferOptions options,
        IProgress<StyleProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate(styles.Count);
        var spec = Spec(options);
        var scales = options.EffectiveScales;
        var sw = Stopwatch.StartNew();
        var history = new List<LossRecord>();
        var blend = StyleTargets.BlendWeights(options.StyleBlend, styles.Count);

        var cache = Cache;
        cache?.Prepare(spec, _settings);
        var targets = Targets(cache, spec, content, styles, blend, options);
        ImageTensor? current = null;
        LossRecord? initial = null, last = null;
        bool diverged = false;
        string stop = scales.Count == 1 ? $"ran all {options.Iterations} iterations" : $"ran all {options.Iterations} iterations of each of {scales.Count} scales";
        bool stalled = false;
        var fallbacks = new List<string>();
        int globalIter = 0;
        long totalWork = scales.Sum(s => (long)s * s) * Math.Max(1, options.Iterations);
        long doneWork = 0;

        for (int stage = 0; stage < scales.Count; stage++)
        {
            var (w, h) = ImageIO.SizeForLongSide(content.Width, content.Height, scales[stage]);
            current = stage == 0 ? Initial(options, ImageIO.Resize(content, w, h)) : ImageIO.Resize(current!, w, h);
            var (contentTargets, styleTargets) = targets[stage];

            var contentShapes = Enumerable.Range(0, spec.ContentLayers.Count).Select(i => contentTargets[StyleObjective.ContentTarget(i)].Shape).ToList();
            int built = cache?.LossSessionsBuilt ?? 0;
            using var ownedSession = cache is null ? new OnnxSession(StyleObjective.BuildLossModel(spec, w, h, contentShapes), _settings) : null;
            var session = ownedSession ?? cache!.LossSession(w, h, contentShapes);
            if (ownedSession is not null || cache!.LossSessionsBuilt != built) ReleaseBuildGarbage(); // not for a reused session
            var x = current.Data;
            var grad = new float[x.Length];
            var scalars = new[] { new float[1], new float[1], new float[1], new float[1] };
            var inputs = new Dictionary<string, FloatTensor> { [Backbone.InputName] = new FloatTensor(x, new long[] { 1, 3, h, w }) };
            foreach (var (k, v) in contentTargets) inputs[k] = v;
            foreach (var (k, v) in styleTargets) inputs[k] = v;
            var outputs = new Dictionary<string, FloatTensor>
            {
                [StyleObjective.Loss] = new(scalars[0], Array.Empty<long>()),
                [StyleObjective.ContentLoss] = new(scalars[1], Array.Empty<long>()),
                [StyleObjective.StyleLoss] = new(scalars[2], Array.Empty<long>()),
                [StyleObjective.TvLoss] = new(scalars[3], Array.Empty<long>()),
                [StyleObjective.ImageGrad] = new(grad, new long[] { 1, 3, h, w }),
            };
            using var bound = session.Bind(inputs, outputs);
            LossRecord Evaluate(int iteration)
            {
                bound.Run();
                return new LossRecord(stage, iteration, scalars[0][0], scalars[1][0], scalars[2][0], scalars[3][0]);
            }

            var opt = Optimizers.Create(options.Optimizer, options.LearningRate ?? (options.Optimizer == "adam" ? 2f : null), options.LbfgsHistory, options.LineSearch, options.LbfgsHistoryPrecision);
            bool onAdam = options.Optimizer == "adam";
            var monitor = new ConvergenceMonitor(options.Tolerance, patience: StallPatience);
            LossRecord evalRecord = Evaluate(0);
            initial ??= evalRecord;
            last = evalRecord;
            var stageStart = evalRecord;
            var lastGood = (float[])x.Clone();
            // The optimiser's variable: the pixels themselves, or z of x = start + blur(z) with --smooth-updates.
            var updates = options.SmoothUpdates > 1 ? new BlurredUpdates(x, 3, w, h, options.SmoothUpdates) : null;
            var variable = updates is null ? x : new float[x.Length];
            Objective objective = (xs, g) =>
            {
                if (updates is not null) updates.ToImage(xs, x);
                else if (!xs.Overlaps(x)) xs.CopyTo(x);
                evalRecord = Evaluate(evalRecord.Iteration);
                if (updates is not null) updates.ToVariable(grad, g);
                else grad.CopyTo(g);
                return evalRecord.Loss;
            };
            var stageSw = Stopwatch.StartNew();
            for (int it = 1; it <= options.Iterations; it++)
            {
                cancel.ThrowIfCancellationRequested();
                opt.Step(variable, objective);
                updates?.ToImage(variable, x);
                globalIter++;
                doneWork += (long)scales[stage] * scales[stage];
                var rec = evalRecord with { Iteration = it };
                if (!float.IsFinite(rec.Loss) || x.AsSpan().ContainsAnyExcept(0f) && !AllFinite(x))
                {
                    lastGood.CopyTo(x);
                    diverged = true;
                    stop = $"the loss became {rec.Loss} at iteration {it}; kept the last good image";
                    break;
                }
                Array.Copy(x, lastGood, x.Length);
                history.Add(rec);
                last = rec;
                var elapsed = sw.Elapsed;
                TimeSpan? eta = doneWork > 0 ? TimeSpan.FromTicks((long)(elapsed.Ticks * (double)(totalWork - doneWork) / doneWork)) : null;
                progress?.Report(new StyleProgress(stage + 1, scales.Count, w, h, it, options.Iterations, rec, elapsed, eta));
                if (SnapshotEvery > 0 && Snapshot is not null && globalIter % SnapshotEvery == 0) Snapshot(globalIter, Finish(current, content, options));
                bool settled = options.Tolerance > 0 && monitor.Update(rec.Loss);
                if (settled && NoProgress(stageStart.Loss, rec.Loss) && !onAdam)
                {
                    // L-BFGS "converged" without lowering the loss (steps too small to matter, e.g. on a network whose
                    // gradients are badly scaled): go on with Adam, whose steps do not depend on the gradient's scale.
                    opt = Optimizers.Create("adam", 2f);
                    onAdam = true;
                    monitor = new ConvergenceMonitor(options.Tolerance, patience: StallPatience);
                    fallbacks.Add($"L-BFGS made no progress in stage {stage + 1} by iteration {it}: continued with Adam");
                    continue;
                }
                if (settled)
                {
                    doneWork += (long)(options.Iterations - it) * scales[stage] * scales[stage];
                    stop = $"converged at iteration {it} of stage {stage + 1}";
                    break;
                }
            }
            if (diverged) break;
            // Judged only over more iterations than the convergence patience: L-BFGS's first step is deliberately tiny.
            if (options.Iterations > StallPatience && NoProgress(stageStart.Loss, last!.Loss)) stalled = true;
        }

        var image = Finish(current!, content, options);
        if (stalled) stop = $"no progress: the loss did not decrease ({initial!.Loss:G4} -> {last!.Loss:G4})";
        if (fallbacks.Count > 0) stop = string.Join("; ", fallbacks) + "; " + stop;
        return new StyleTransferResult(image, history, initial!, last!, globalIter, sw.Elapsed,
            Process.GetCurrentProcess().PeakWorkingSet64, diverged, stop) { Stalled = stalled && !diverged };
    }

    /// <summary>
    /// The targets of every stage: content features of the scaled content and blended Gram matrices of the styles. Without a
    /// cache they all come from one target session that is released before any loss session exists, so the two networks'
    /// weights and working memory are never held at once (≈ 150 MiB less peak memory at 512² through layer4).
    /// </summary>
    List<(Dictionary<string, FloatTensor> Content, Dictionary<string, FloatTensor> Style)> Targets(StyleTransferCache? cache,
        StyleObjectiveSpec spec, ImageTensor content, IReadOnlyList<ImageTensor> styles, float[] blend, StyleTransferOptions options)
    {
        using var owned = cache is null ? new OnnxSession(StyleObjective.BuildTargetModel(spec), _settings) : null;
        var session = owned ?? cache!.TargetSession();
        var result = new List<(Dictionary<string, FloatTensor>, Dictionary<string, FloatTensor>)>();
        foreach (var scale in options.EffectiveScales)
        {
            var (w, h) = ImageIO.SizeForLongSide(content.Width, content.Height, scale);
            var contentTargets = StyleTargets.Content(session, spec, ImageIO.Resize(content, w, h));
            int styleSide = StyleTargets.StyleSide(scale, options.StyleScale);
            var styleTargets = cache?.StyleTargets(styles, blend, styleSide) is { } cached ? cached
                : StyleTargets.Blended(session, spec, styles, blend, styleSide);
            cache?.KeepStyleTargets(styles, blend, styleSide, styleTargets);
            result.Add((contentTargets, styleTargets));
        }
        return result;
    }

    /// <summary>
    /// Returns the memory of building the loss session to the system before the optimiser allocates its history: the loss
    /// model's graph, its flipped weights and its serialised bytes (≈ 115 MiB at 512² through layer4) are garbage once ONNX
    /// Runtime holds the session, but would otherwise stay in the large-object heap for the whole run.
    /// </summary>
    static void ReleaseBuildGarbage()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>Iterations with a loss change below the tolerance after which a stage has converged (or stalled).</summary>
    const int StallPatience = 5;

    /// <summary>
    /// True when a stage ended without lowering a positive loss by at least one part in 10⁵ (a zero loss is already optimal).
    /// </summary>
    static bool NoProgress(float start, float end) => start > 0 && float.IsFinite(start) && !(end < start * (1 - 1e-5f));

    static bool AllFinite(float[] x)
    {
        foreach (var v in x) if (!float.IsFinite(v)) return false;
        return true;
    }

    static ImageTensor Finish(ImageTensor current, ImageTensor content, StyleTransferOptions o)
    {
        var img = current.Clone();
        img.ClampInPlace();
        if (o.PreserveColors)
        {
            var c = content.Width == img.Width && content.Height == img.Height ? content : ImageIO.Resize(content, img.Width, img.Height);
            img = ColorTransfer.PreserveColors(img, c);
            img.ClampInPlace();
        }
        return img;
    }

    ImageTensor Initial(StyleTransferOptions o, ImageTensor contentScaled)
    {
        switch (o.Init.ToLowerInvariant())
        {
            case "content":
                return contentScaled.Clone();
            case "random":
            {
                var rng = new Random(o.Seed);
                var img = new ImageTensor(contentScaled.Width, contentScaled.Height);
                var d = img.Data;
                for (int i = 0; i < d.Length; i++) d[i] = 128f + 40f * (float)(rng.NextDouble() * 2 - 1);
                return img;
            }
            default:
                var init = ImageIO.Load(o.Init);
                return ImageIO.Resize(init, contentScaled.Width, contentScaled.Height);
        }
    }
}
