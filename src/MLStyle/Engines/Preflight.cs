using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Onnx;

namespace MLStyle.Engines;

/// <summary>
/// The constants of the pre-flight model. The defaults were fitted on ResNet18 runs on 2 CPU cores
/// (<c>docs/benchmarks.md</c> gives the runs and the fit); other machines and backbones are off by a constant factor.
/// </summary>
public sealed record PreflightCalibration
{
    /// <summary>
    /// The process before any model work: .NET, ONNX Runtime, SkiaSharp, the embedded model file, plus a margin for run-to-run
    /// variation (default 360 MiB: 330 fitted, 30 margin; three default 512×341 runs peaked at 707–748 MiB).
    /// </summary>
    public long BaseBytes { get; init; } = 360L << 20;

    /// <summary>
    /// Bytes held while iterating per byte of the pruned trunk's weights: the loss session's plain, flipped and pre-packed
    /// copies (default 2; the target session and the build's garbage are gone by then).
    /// </summary>
    public double WeightFactor { get; init; } = 2;

    /// <summary>
    /// Bytes held per byte of the pruned trunk's weights while the loss model is built and its session created: the model,
    /// its gradient graph, their serialised bytes and the new session (default 7.5). Small images peak here.
    /// </summary>
    public double SetupWeightFactor { get; init; } = 7.5;

    /// <summary>
    /// Bytes held per pixel of the working image whatever the layers (default 60): the input-sized tensors of the forward and
    /// backward passes beyond the named layers' activations.
    /// </summary>
    public double PixelBytes { get; init; } = 60;

    /// <summary>
    /// Bytes held per byte of forward activations of the trunk's named layers (default 5.2): the activations kept for the
    /// backward pass, their gradients, the gradient graph's intermediates and the arena's growth.
    /// </summary>
    public double ActivationFactor { get; init; } = 5.2;

    /// <summary>
    /// Seconds per iteration = <see cref="IterationScale"/> · W^<see cref="IterationExponent"/>, where the work W is the sum
    /// over the trunk's named layers of channels² × pixels / stride² (default 7.6e-8; fitted on 2 threads).
    /// </summary>
    public double IterationScale { get; init; } = 7.6e-8;

    /// <summary>The exponent of the work in the time per iteration (default 0.74: larger images use the threads better).</summary>
    public double IterationExponent { get; init; } = 0.74;

    /// <summary>Seconds to set up one scale of a single run: graph building, differentiation, sessions (default 1.4 s).</summary>
    public double SetupSeconds { get; init; } = 1.4;

    /// <summary>Seconds to set up one scale of an image in a batch worker, whose sessions are cached (default 0.2 s).</summary>
    public double CachedSetupSeconds { get; init; } = 0.2;

    /// <summary>Setup seconds per pixel of the working image: the targets, the memory plan of the sized loss graph (default 1.05e-5).</summary>
    public double SetupSecondsPerPixel { get; init; } = 1.05e-5;

    /// <summary>The fitted defaults (style transfer).</summary>
    public static PreflightCalibration Default { get; } = new();

    /// <summary>
    /// The defaults of <see cref="Preflight.EstimateDream"/>: the memory constants of the first, additive fit on style
    /// transfer (base 390 MiB, weights × 5.5, 1100 bytes per pixel, activations × 1.5, no separate build peak), which measured
    /// within +2 % (512 px) to +54 % (1024 px) of DeepDream's peak; the later refit for style transfer would put DeepDream at
    /// 512 px 20 % below its measured peak.
    /// </summary>
    public static PreflightCalibration Dream { get; } = new()
    {
        BaseBytes = 390L << 20, WeightFactor = 5.5, SetupWeightFactor = 0, PixelBytes = 1100, ActivationFactor = 1.5,
    };
}

/// <summary>The estimated peak memory and time of one style transfer (of one worker's image).</summary>
/// <param name="Width">Width of the largest scale.</param>
/// <param name="Height">Height of the largest scale.</param>
/// <param name="Optimizer">The optimiser.</param>
/// <param name="History">The L-BFGS history size (0 for Adam).</param>
/// <param name="BaseBytes">The process before model work.</param>
/// <param name="WeightBytes">Weights of the pruned trunk, times their copies.</param>
/// <param name="ActivationBytes">Activations, gradients and per-pixel buffers of the largest scale.</param>
/// <param name="OptimizerBytes">Optimiser state: L-BFGS 2·m·n pair elements (float32 by default, float16 with half precision) and 3·n floats (+3·n with a strong-Wolfe line search) with m = min(history, iterations), Adam 3·n floats, n = 3·W·H; 3·n more with smooth updates.</param>
/// <param name="ImageBytes">Content, style and working images.</param>
/// <param name="Setup">Graph building, sessions and targets, all scales.</param>
/// <param name="Iterating">All iterations of all scales.</param>
public sealed record PreflightEstimate(
    int Width, int Height, string Optimizer, int History,
    long BaseBytes, long WeightBytes, long ActivationBytes, long OptimizerBytes, long ImageBytes,
    TimeSpan Setup, TimeSpan Iterating)
{
    /// <summary>
    /// Bytes held (beyond <see cref="BaseBytes"/>) while the loss model is built and its session created, before the build's
    /// garbage is released and the optimiser's state exists (0: not modelled). Small images peak here, not while iterating.
    /// </summary>
    public long SetupBytes { get; init; }

    /// <summary>The memory of one worker's image while it iterates, without <see cref="BaseBytes"/>.</summary>
    public long RunBytes => WeightBytes + ActivationBytes + OptimizerBytes + ImageBytes;

    /// <summary>The memory of one worker's image at its peak (set-up or iterations), without <see cref="BaseBytes"/>.</summary>
    public long WorkerBytes => Math.Max(RunBytes, SetupBytes);

    /// <summary>The estimated peak working set of a process running one image.</summary>
    public long PeakBytes => BaseBytes + WorkerBytes;

    /// <summary>The estimated time of one image.</summary>
    public TimeSpan Time => Setup + Iterating;

    /// <summary>The estimated peak working set of a process running <paramref name="workers"/> images at once.</summary>
    public long PeakBytesWith(int workers) => BaseBytes + Math.Max(1, workers) * WorkerBytes;
}

/// <summary>What <see cref="Preflight.Plan"/> decided.</summary>
/// <param name="Options">The options to run: the requested ones, or a fallback that fits.</param>
/// <param name="Estimate">The estimate of <see cref="Options"/>.</param>
/// <param name="Requested">The estimate of the requested options.</param>
/// <param name="LimitBytes">The memory limit planned against.</param>
/// <param name="Fallback">A one-line description of the fallback, or null when the request fits.</param>
public sealed record PreflightPlan(StyleTransferOptions Options, PreflightEstimate Estimate, PreflightEstimate Requested, long LimitBytes, string? Fallback);

/// <summary>Thrown when a job would need more memory than the limit, even after the fallbacks.</summary>
/// <param name="message">What does not fit, with advice in plain words.</param>
/// <param name="need">What does not fit, without the advice (null: the message), for callers that word the advice themselves.</param>
public sealed class MemoryLimitException(string message, string? need = null) : MLStyleException(message)
{
    /// <summary>What does not fit (e.g. <c>a 2048x1362 dream needs about 4.2 GiB, above the limit of 600 MiB</c>), without the advice.</summary>
    public string Need { get; } = need ?? message;
}

/// <summary>
/// Pre-flight estimates of style transfer: peak memory and time from the image size, the layers, the optimiser and its
/// history, by a simple calibrated model (<see cref="PreflightCalibration"/>), and plans that fall back to a shorter L-BFGS
/// history, then to Adam, rather than run out of memory.
/// </summary>
public static class Preflight
{
    /// <summary>The smallest L-BFGS history a fallback goes down to before switching to Adam.</summary>
    public const int MinimumFallbackHistory = 5;

    /// <summary>The machine's memory available to this process (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: physical memory or the container limit).</summary>
    public static long AvailableMemoryBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Estimates one style transfer of a <paramref name="contentWidth"/>×<paramref name="contentHeight"/> content image.</summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="options">The options (validated here).</param>
    /// <param name="contentWidth">Width of the content image as loaded (orientation applied).</param>
    /// <param name="contentHeight">Height of the content image as loaded.</param>
    /// <param name="styleCount">Number of style images.</param>
    /// <param name="calibration">The model's constants (default <see cref="PreflightCalibration.Default"/>).</param>
    /// <param name="cached">Estimate the setup of an image in a batch worker, which reuses its sessions (<see cref="StyleTransferCache"/>).</param>
    public static PreflightEstimate Estimate(Backbone backbone, StyleTransferOptions options, int contentWidth, int contentHeight,
        int styleCount = 1, PreflightCalibration? calibration = null, bool cached = false)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(styleCount);
        var c = calibration ?? PreflightCalibration.Default;
        var used = options.Objective(backbone).FeatureLayers();
        var trunkLayers = TrunkLayers(backbone, used);
        long weights = WeightBytes(backbone, used);

        long peakActivations = 0, peakOptimizer = 0, peakImages = 0;
        int maxW = 0, maxH = 0;
        double iterSeconds = 0, setupSeconds = 0;
        foreach (var scale in options.EffectiveScales)
        {
            var (w, h) = ImageIO.SizeForLongSide(contentWidth, contentHeight, scale);
            long n = 3L * w * h;
            var (activations, work) = TrunkCost(trunkLayers, w, h);
            // L-BFGS buffers are allocated uninitialised: history pairs beyond the iteration count are never touched.
            // A strong-Wolfe line search keeps 3 more vectors (two more gradients and the start point).
            int working = options.LineSearch == Optimization.LineSearch.StrongWolfe ? 6 : 3;
            int pairBytes = Optimization.HistoryVectors.BytesPerElement(options.LbfgsHistoryPrecision);
            long optimizer = options.Optimizer == "lbfgs" ? (2L * EffectiveHistory(options) * pairBytes + working * sizeof(float)) * n : 3L * n * sizeof(float);
            // Smooth updates keep the variable, the start point and a blur buffer.
            if (options.SmoothUpdates > 1) optimizer += 3L * n * sizeof(float);
            var (sw, sh) = ImageIO.SizeForLongSide(contentWidth, contentHeight, Math.Max(16, (int)Math.Round(scale * options.StyleScale)));
            long images = (5L * n + 3L * styleCount * Math.Max((long)sw * sh, (long)sh * sw)) * sizeof(float) + 3L * contentWidth * contentHeight * sizeof(float);
            long act = (long)(activations * c.ActivationFactor + (double)w * h * c.PixelBytes);
            if (act + optimizer + images > peakActivations + peakOptimizer + peakImages)
                (peakActivations, peakOptimizer, peakImages, maxW, maxH) = (act, optimizer, images, w, h);
            iterSeconds += options.Iterations * c.IterationScale * Math.Pow(Math.Max(1, work), c.IterationExponent);
            setupSeconds += (cached ? c.CachedSetupSeconds : c.SetupSeconds) + c.SetupSecondsPerPixel * w * h;
        }
        return new PreflightEstimate(maxW, maxH, options.Optimizer, options.Optimizer == "lbfgs" ? options.LbfgsHistory : 0,
            c.BaseBytes, (long)(weights * c.WeightFactor), peakActivations, peakOptimizer, peakImages,
            TimeSpan.FromSeconds(setupSeconds), TimeSpan.FromSeconds(iterSeconds))
        { SetupBytes = (long)(weights * c.SetupWeightFactor) };
    }

    /// <summary>
    /// Estimates one DeepDream run on a <paramref name="imageWidth"/>×<paramref name="imageHeight"/> image with the same model
    /// (calibrated on style transfer: a gradient-ascent step costs about one style-transfer iteration of the same trunk, and
    /// there is no optimiser state). With tiles, the activations are those of one tile.
    /// </summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="options">The options (validated here).</param>
    /// <param name="imageWidth">Width of the input image as loaded.</param>
    /// <param name="imageHeight">Height of the input image as loaded.</param>
    /// <param name="calibration">The model's constants (default <see cref="PreflightCalibration.Dream"/>).</param>
    public static PreflightEstimate EstimateDream(Backbone backbone, DeepDreamOptions options, int imageWidth, int imageHeight,
        PreflightCalibration? calibration = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var c = calibration ?? PreflightCalibration.Dream;
        var used = (options.Layers ?? Losses.DreamDefaults.Layers(backbone)).Select(l => backbone.Layer(l.Layer)).ToList();
        var trunkLayers = TrunkLayers(backbone, used);
        long weights = WeightBytes(backbone, used);
        var (width, height) = options.Size is { } size ? ImageIO.SizeForLongSide(imageWidth, imageHeight, size) : (imageWidth, imageHeight);
        long peakActivations = 0, peakImages = 0;
        double iterSeconds = 0, setupSeconds = 0;
        foreach (var (w, h) in options.OctaveSizes(width, height))
        {
            int tw = options.Tile > 0 ? Math.Min(w, options.Tile) : w, th = options.Tile > 0 ? Math.Min(h, options.Tile) : h;
            long tiles = options.Tile > 0 ? (long)Math.Ceiling(w / (double)tw) * (long)Math.Ceiling(h / (double)th) : 1;
            var (activations, work) = TrunkCost(trunkLayers, tw, th);
            peakActivations = Math.Max(peakActivations, (long)(activations * c.ActivationFactor + (double)tw * th * c.PixelBytes));
            // The octave's base, detail, current image and gradient, and the input at full size.
            peakImages = Math.Max(peakImages, (4L * 3 * w * h + 3L * imageWidth * imageHeight) * sizeof(float));
            iterSeconds += options.IterationsPerOctave * tiles * c.IterationScale * Math.Pow(Math.Max(1, work), c.IterationExponent);
            setupSeconds += c.SetupSeconds + c.SetupSecondsPerPixel * tw * th;
        }
        int runs = 1 + options.Frames;
        return new PreflightEstimate(width, height, "gradient ascent", 0, c.BaseBytes, (long)(weights * c.WeightFactor), peakActivations, 0,
            peakImages, TimeSpan.FromSeconds(setupSeconds), TimeSpan.FromSeconds(iterSeconds * runs))
        { SetupBytes = (long)(weights * c.SetupWeightFactor) };
    }

    /// <summary>
    /// Checks a DeepDream run against a memory limit.
    /// </summary>
    /// <exception cref="MemoryLimitException">The estimate exceeds <paramref name="limitBytes"/>.</exception>
    public static PreflightEstimate PlanDream(Backbone backbone, DeepDreamOptions options, int imageWidth, int imageHeight, long limitBytes,
        PreflightCalibration? calibration = null)
    {
        var e = EstimateDream(backbone, options, imageWidth, imageHeight, calibration);
        if (e.PeakBytes > limitBytes)
        {
            var need = $"a {e.Width}x{e.Height} dream needs about {Bytes(e.PeakBytes)}, above the limit of {Bytes(limitBytes)}";
            throw new MemoryLimitException($"{need}: use {(options.Tile > 0 ? "smaller tiles" : "tiles of 512 px")} or a smaller size, or raise the memory limit", need);
        }
        return e;
    }

    /// <summary>
    /// Plans a run against a memory limit: the requested options when they fit; else the longest L-BFGS history that fits
    /// (halving, down to <see cref="MinimumFallbackHistory"/>); else Adam; else a <see cref="MemoryLimitException"/>.
    /// </summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="options">The requested options.</param>
    /// <param name="contentWidth">Width of the (largest) content image.</param>
    /// <param name="contentHeight">Height of the (largest) content image.</param>
    /// <param name="limitBytes">The memory the process may use (see <see cref="AvailableMemoryBytes"/>).</param>
    /// <param name="workers">Images processed at once (each holds its own activations and optimiser state).</param>
    /// <param name="styleCount">Number of style images.</param>
    /// <param name="calibration">The model's constants.</param>
    /// <exception cref="MemoryLimitException">Even Adam does not fit.</exception>
    public static PreflightPlan Plan(Backbone backbone, StyleTransferOptions options, int contentWidth, int contentHeight, long limitBytes,
        int workers = 1, int styleCount = 1, PreflightCalibration? calibration = null)
    {
        var requested = Estimate(backbone, options, contentWidth, contentHeight, styleCount, calibration);
        if (requested.PeakBytesWith(workers) <= limitBytes) return new PreflightPlan(options, requested, requested, limitBytes, null);
        string need = $"needs about {Bytes(requested.PeakBytesWith(workers))}{(workers > 1 ? $" with {workers} workers" : "")}, above the limit of {Bytes(limitBytes)}";
        if (options.Optimizer == "lbfgs")
        {
            for (int h = EffectiveHistory(options) / 2; h >= MinimumFallbackHistory; h /= 2)
            {
                var o = options with { LbfgsHistory = h };
                var e = Estimate(backbone, o, contentWidth, contentHeight, styleCount, calibration);
                if (e.PeakBytesWith(workers) <= limitBytes)
                    return new PreflightPlan(o, e, requested, limitBytes, $"L-BFGS with history {options.LbfgsHistory} {need}: using history {h} ({Bytes(e.PeakBytesWith(workers))})");
            }
            var adam = options with { Optimizer = "adam", LearningRate = null };
            var ea = Estimate(backbone, adam, contentWidth, contentHeight, styleCount, calibration);
            if (ea.PeakBytesWith(workers) <= limitBytes)
                return new PreflightPlan(adam, ea, requested, limitBytes, $"L-BFGS {need} even with history {MinimumFallbackHistory}: using Adam ({Bytes(ea.PeakBytesWith(workers))})");
            throw new MemoryLimitException($"a {requested.Width}x{requested.Height} image {need}, even with Adam ({Bytes(ea.PeakBytesWith(workers))}): use a smaller size{(workers > 1 ? " or fewer workers" : "")}, or raise the memory limit");
        }
        throw new MemoryLimitException($"a {requested.Width}x{requested.Height} image {need}: use a smaller size{(workers > 1 ? " or fewer workers" : "")}, or raise the memory limit");
    }

    /// <summary>Bytes as a short human-readable size (MiB/GiB).</summary>
    public static string Bytes(long b) =>
        b >= 1L << 30 ? (b / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB"
                      : (b / (double)(1L << 20)).ToString("F0", CultureInfo.InvariantCulture) + " MiB";

    /// <summary>The L-BFGS history pairs a run fills: the history size, or fewer when a scale has fewer iterations.</summary>
    public static int EffectiveHistory(StyleTransferOptions options) => Math.Max(1, Math.Min(options.LbfgsHistory, options.Iterations));

    /// <summary>The named layers a pass through the trunk up to the deepest of <paramref name="used"/> computes.</summary>
    static IReadOnlyList<LayerInfo> TrunkLayers(Backbone backbone, IReadOnlyList<LayerInfo> used)
    {
        int deepest = used.Max(l => IndexOf(backbone, l));
        return deepest >= 0 ? backbone.Layers.Take(deepest + 1).ToList() : used;
    }

    /// <summary>Forward activation bytes and work (Σ channels² × cells) of <paramref name="layers"/> on a w×h image.</summary>
    static (long Activations, double Work) TrunkCost(IReadOnlyList<LayerInfo> layers, int w, int h)
    {
        long activations = 0;
        double work = 0;
        foreach (var l in layers)
        {
            int s = Math.Max(1, l.Stride);
            long cells = (long)Math.Ceiling(w / (double)s) * (long)Math.Ceiling(h / (double)s);
            long ch = Math.Max(1, l.Channels);
            activations += ch * cells * sizeof(float);
            work += (double)ch * ch * cells;
        }
        return (activations, work);
    }

    static int IndexOf(Backbone backbone, LayerInfo layer)
    {
        for (int i = 0; i < backbone.Layers.Count; i++)
            if (backbone.Layers[i].Tensor == layer.Tensor) return i;
        return -1;
    }

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Backbone, Dictionary<string, long>> WeightCache = new();

    /// <summary>Float bytes of the initializers of the trunk pruned to <paramref name="layers"/> (cached per backbone).</summary>
    static long WeightBytes(Backbone backbone, IReadOnlyList<LayerInfo> layers)
    {
        var key = string.Join("|", layers.Select(l => l.Tensor).Distinct().OrderBy(t => t, StringComparer.Ordinal));
        var cache = WeightCache.GetOrCreateValue(backbone);
        lock (cache)
        {
            if (cache.TryGetValue(key, out var b)) return b;
            var trunk = backbone.TrunkFor(layers);
            b = trunk.Graph.Initializer.Sum(t => TensorProtos.Count(t)) * sizeof(float);
            cache[key] = b;
            return b;
        }
    }
}
