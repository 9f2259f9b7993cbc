using System.Diagnostics;
using System.Text.Json;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Files;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Optimization;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using Onnx;

namespace MLStyle.Engines;

/// <summary>Options of <see cref="StylizerTrainer"/>. Null loss settings take the backbone's defaults (as <c>stylize</c>).</summary>
public sealed record StylizerTrainingOptions
{
    /// <summary>
    /// Side of the square random crops the styliser learns on (default 128: on 2 CPU cores a step at 128² costs about a third
    /// of one at 256², and in a fixed time more, smaller steps gave the better styliser).
    /// </summary>
    public int CropSize { get; init; } = 128;

    /// <summary>Crops per mini-batch (default 4).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Adam steps (default 2000); training also stops at <see cref="TimeLimit"/>.</summary>
    public int Iterations { get; init; } = 2000;

    /// <summary>Stop after this much training time (default: none).</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>The network's shape (default: width 16, 5 residual blocks).</summary>
    public StylizerShape Shape { get; init; } = new();

    /// <summary>Adam's learning rate on the network's weights (default 1e-3, as Johnson et al.).</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Seed of the initial weights and of the crops; the same seed on the same machine reproduces the run.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Long side of the style image when its Gram matrices are computed (default: 4 × the crop size, the scale <c>stylize</c>
    /// uses for a 512-pixel output with 128-pixel crops); it sets the size of the strokes the styliser learns.
    /// </summary>
    public int? StyleSize { get; init; }

    /// <summary>Weight of the content loss (default: <see cref="ResNet18ContentWeight"/> for ResNet18, else the backbone's).</summary>
    public float? ContentWeight { get; init; }

    /// <summary>Weight of the style loss (default: the backbone's).</summary>
    public float? StyleWeight { get; init; }

    /// <summary>
    /// Weight of the total-variation loss (default <see cref="DefaultTvWeight"/>, far above <c>stylize</c>'s: a feed-forward
    /// network otherwise learns pixel-scale stripes that the backbone's strided first layer cannot tell from strokes).
    /// </summary>
    public float? TvWeight { get; init; }

    /// <summary>The default weight of the total-variation loss in training.</summary>
    public const float DefaultTvWeight = 500f;

    /// <summary>Content layers with weights (default: the backbone's).</summary>
    public IReadOnlyList<WeightedLayer>? ContentLayers { get; init; }

    /// <summary>Style layers with weights (default: <see cref="ResNet18StyleLayers"/> for ResNet18, else the backbone's).</summary>
    public IReadOnlyList<WeightedLayer>? StyleLayers { get; init; }

    /// <summary>Activation smoothing (default: the backbone's).</summary>
    public ActivationSmoothing? Smoothing { get; init; }

    /// <summary>
    /// Taps of the binomial blur the backbone sees the styliser's output through (<see cref="StyleObjectiveSpec.InputBlur"/>;
    /// default <see cref="DefaultInputBlur"/>, 0: none). Chosen by measurement: with it, the styliser's pixel-scale stripes
    /// measured a third of the grid peak of the run without it at the same iteration (docs/fast-style.md); they are not gone.
    /// </summary>
    public int? InputBlur { get; init; }

    /// <summary>
    /// ResNet18's content weight in training (<c>stylize</c>'s 200 let the styliser grow full-image stripes: grid 126 at
    /// iteration 1200 against 4.4 with these weights and style layers at iteration 1000; docs/fast-style.md).
    /// </summary>
    public const float ResNet18ContentWeight = 3f;

    /// <summary>ResNet18's style layers in training: conv1 … layer3.1, equal weights (no layer4, see <see cref="ResNet18ContentWeight"/>).</summary>
    public static IReadOnlyList<WeightedLayer> ResNet18StyleLayers { get; } = WeightedLayer.ParseList("conv1,layer1.1,layer2.1,layer3.1");

    /// <summary>The default input blur in training.</summary>
    public const int DefaultInputBlur = 5;

    /// <summary>
    /// Largest shift, in pixels, of the random translation between the styliser and the backbone (0: none; default
    /// <see cref="DefaultJitter"/>). The styliser works on crops <c>Jitter</c> pixels larger than <see cref="CropSize"/>, and
    /// the backbone sees, for each crop of each iteration, the <see cref="CropSize"/> window of its output (and of the photo,
    /// for the content targets) at a random offset 0 … <c>Jitter</c> in each direction. A backbone with a strided first layer
    /// cannot see a pixel-scale pattern at a fixed phase of its stride; with the phase random, such a pattern no longer hides.
    /// </summary>
    public int? Jitter { get; init; }

    /// <summary>The default jitter in training.</summary>
    public const int DefaultJitter = 4;

    /// <summary>
    /// Weight of the chroma total variation (<see cref="StyleObjectiveSpec.ChromaTvWeight"/>), on top of <see cref="TvWeight"/>
    /// (default <see cref="DefaultChromaTvWeight"/>).
    /// </summary>
    public float? ChromaTvWeight { get; init; }

    /// <summary>The default chroma total-variation weight in training.</summary>
    public const float DefaultChromaTvWeight = 30000f;

    /// <summary>Checks every option; an <see cref="MLStyleException"/> names the first bad one.</summary>
    public void Validate()
    {
        if (CropSize is < 32 or > 2048 || CropSize % 4 != 0) throw new MLStyleException($"invalid crop size {CropSize}: must be a multiple of 4 between 32 and 2048");
        if (BatchSize is < 1 or > 256) throw new MLStyleException($"invalid batch size {BatchSize}: must be between 1 and 256");
        if (Iterations < 1) throw new MLStyleException($"invalid iterations {Iterations}: must be at least 1");
        if (TimeLimit is { } t && t <= TimeSpan.Zero) throw new MLStyleException("invalid time limit: must be positive");
        if (!(LearningRate > 0 && float.IsFinite(LearningRate))) throw new MLStyleException($"invalid learning rate {LearningRate}: must be positive");
        if (StyleSize is { } s && (s < 16 || s > 16384)) throw new MLStyleException($"invalid style size {s}: must be between 16 and 16384 pixels");
        if (ChromaTvWeight is { } c && !(c >= 0 && float.IsFinite(c))) throw new MLStyleException($"invalid chroma tv weight {c}: must be finite and non-negative");
        if (Jitter is { } j && (j < 0 || j > 64 || j % 4 != 0)) throw new MLStyleException($"invalid jitter {j}: must be a multiple of 4 between 0 and 64 pixels");
        Shape.Validate();
    }

    /// <summary>
    /// The settings that must match for a checkpoint to be resumed (everything that changes the loss curve); the objective by its
    /// one serialisation, <see cref="StyleObjectiveSpec.Key"/>.
    /// </summary>
    internal string Fingerprint(StyleObjectiveSpec spec, string styleHash) => JsonSerializer.Serialize(new
    {
        CropSize, BatchSize, Shape.Width, Shape.ResidualBlocks, Shape.InputSkip, Shape.SkipRange, LearningRate, Seed, StyleSize,
        Objective = spec.Key, Jitter = JitterPixels, styleHash,
    });

    /// <summary>The jitter in pixels (<see cref="Jitter"/> or its default).</summary>
    public int JitterPixels => Jitter ?? DefaultJitter;

    /// <summary>Side of the crops the styliser runs on: <see cref="CropSize"/> + <see cref="JitterPixels"/> (hold photos at least this large).</summary>
    public int StylizerCropSize => CropSize + JitterPixels;
}

/// <summary>One point of the training curve: the mean loss terms per image of one mini-batch.</summary>
public sealed record TrainingRecord(int Iteration, float Loss, float Content, float Style, float Tv, double Seconds);

/// <summary>Progress of a training run.</summary>
public sealed record TrainingProgress(int Iteration, int Iterations, TrainingRecord Losses, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>The result of a training run.</summary>
/// <param name="Model">The trained styliser (weights as initializers).</param>
/// <param name="History">The whole loss curve (a resumed run includes the curve before the checkpoint).</param>
/// <param name="Iterations">Iterations done in total.</param>
/// <param name="Elapsed">Training time of this run.</param>
/// <param name="Diverged">True when the loss became NaN/Inf; <see cref="Model"/> then holds the last good weights.</param>
/// <param name="StopReason">Why training stopped.</param>
public sealed record StylizerTrainingResult(ModelProto Model, IReadOnlyList<TrainingRecord> History, int Iterations, TimeSpan Elapsed, bool Diverged, string StopReason);

/// <summary>Everything a run needs to continue exactly where it was saved.</summary>
/// <param name="Fingerprint">The settings of the run (a resume with other settings is refused).</param>
/// <param name="Weights">The network's parameters, concatenated in <see cref="FastStylizer.Parameters"/> order.</param>
/// <param name="Adam">The optimiser's state.</param>
/// <param name="History">The loss curve so far.</param>
public sealed record TrainingCheckpoint(string Fingerprint, float[] Weights, AdamState Adam, IReadOnlyList<TrainingRecord> History)
{
    const int Magic = 0x4D4C5354; // "MLST"

    /// <summary>Writes the checkpoint atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, s =>
    {
        using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic); w.Write(1); w.Write(Fingerprint);
        WriteFloats(w, Weights); w.Write(Adam.Step); w.Write(Adam.Iteration); WriteFloats(w, Adam.M); WriteFloats(w, Adam.V);
        w.Write(History.Count);
        foreach (var r in History) { w.Write(r.Iteration); w.Write(r.Loss); w.Write(r.Content); w.Write(r.Style); w.Write(r.Tv); w.Write(r.Seconds); }
    });

    /// <summary>Reads a checkpoint; a clear <see cref="MLStyleException"/> when the file is not one.</summary>
    public static TrainingCheckpoint Load(string path)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadInt32() != Magic || r.ReadInt32() != 1) throw new MLStyleException($"'{path}' is not an MLStyle training checkpoint");
            var fp = r.ReadString();
            var weights = ReadFloats(r);
            var adam = new AdamState(r.ReadInt32(), r.ReadInt32(), ReadFloats(r), ReadFloats(r));
            int n = r.ReadInt32();
            var hist = new List<TrainingRecord>(n);
            for (int i = 0; i < n; i++) hist.Add(new TrainingRecord(r.ReadInt32(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadDouble()));
            return new TrainingCheckpoint(fp, weights, adam, hist);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or UnauthorizedAccessException or FormatException)
        {
            throw new MLStyleException($"cannot read checkpoint '{path}': {e.Message.Split('\n')[0]}", e);
        }
    }

    static void WriteFloats(BinaryWriter w, float[] a)
    {
        w.Write(a.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
    }

    static float[] ReadFloats(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 1 << 28) throw new FormatException("corrupt array length");
        var bytes = r.ReadBytes(n * sizeof(float));
        if (bytes.Length != n * sizeof(float)) throw new EndOfStreamException("truncated checkpoint");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }
}

/// <summary>
/// Trains a feed-forward styliser (<see cref="FastStylizer"/>) with the style-transfer objective of <see cref="StyleObjective"/>:
/// each mini-batch of random content crops goes through the styliser and the backbone; the content, Gram style and
/// total-variation losses of the stylised crops are differentiated (MLStyle's own reverse mode) down to every weight of the
/// styliser, and <see cref="AdamOptimizer"/> updates them.
/// </summary>
public sealed class StylizerTrainer
{
    /// <summary>The content batch input of the training graph.</summary>
    public const string ContentInput = "content";

    /// <summary>The row-selection input of a training graph with jitter: <c>[N, 1, S, S + J]</c>, one 1 per row.</summary>
    public const string JitterRowsInput = "jitter_rows";

    /// <summary>The column-selection input of a training graph with jitter: <c>[N, 1, S + J, S]</c>, one 1 per column.</summary>
    public const string JitterColumnsInput = "jitter_columns";

    const string Prefix = "stylizer/";
    readonly Backbone _backbone;
    readonly SessionSettings _settings;

    /// <summary>Creates a trainer over a backbone.</summary>
    public StylizerTrainer(Backbone backbone, SessionSettings? settings = null)
    {
        _backbone = backbone;
        _settings = settings ?? SessionSettings.Default;
    }

    /// <summary>Called after every <see cref="CheckpointEvery"/> iterations with the checkpoint and the current model.</summary>
    public Action<TrainingCheckpoint, ModelProto>? Checkpoint { get; init; }

    /// <summary>Checkpoint interval in iterations (0: never).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>The objective specification for these options.</summary>
    public StyleObjectiveSpec Spec(StylizerTrainingOptions o) =>
        StyleObjectiveSpec.FromDefaults(_backbone, o.ContentLayers,
            o.StyleLayers ?? (_backbone.Kind == BackboneKind.ResNet18 ? StylizerTrainingOptions.ResNet18StyleLayers : null),
            o.ContentWeight ?? (_backbone.Kind == BackboneKind.ResNet18 ? StylizerTrainingOptions.ResNet18ContentWeight : null),
            o.StyleWeight, o.TvWeight ?? StylizerTrainingOptions.DefaultTvWeight, o.Smoothing,
            o.InputBlur ?? StylizerTrainingOptions.DefaultInputBlur) with { ChromaTvWeight = o.ChromaTvWeight ?? StylizerTrainingOptions.DefaultChromaTvWeight };

    /// <summary>A short hash of a style image (part of a checkpoint's fingerprint).</summary>
    public static string StyleHash(ImageTensor style)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(style.Data.AsSpan());
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
    }

    /// <summary>The fingerprint a checkpoint of these settings carries.</summary>
    public string Fingerprint(StylizerTrainingOptions o, ImageTensor style) => Fingerprint(o, new[] { style });

    /// <summary>The fingerprint a checkpoint of these settings and styles carries (one style: as <see cref="Fingerprint(StylizerTrainingOptions, ImageTensor)"/>).</summary>
    public string Fingerprint(StylizerTrainingOptions o, IReadOnlyList<ImageTensor> styles) =>
        o.Fingerprint(Spec(o), string.Join(",", styles.Select(StyleHash)));

    /// <summary>
    /// The style a network of <paramref name="styles"/> styles trains on at <paramref name="iteration"/> (0-based): the
    /// iterations go in rounds of S, each round a permutation of the styles drawn from (seed, round) only, so every style gets
    /// every S-th step on average, no style waits more than 2S − 1 steps, and a resumed run trains the same styles.
    /// </summary>
    public static int StyleOf(int seed, int iteration, int styles)
    {
        if (styles <= 1) return 0;
        var order = Enumerable.Range(0, styles).ToArray();
        new Random(unchecked(seed * 7_919 + iteration / styles * 104_729 + 17)).Shuffle(order);
        return order[iteration % styles];
    }

    /// <summary>
    /// Trains a styliser on random crops of <paramref name="photos"/> in the style of <paramref name="style"/>. With
    /// <paramref name="resume"/> the run continues from a checkpoint of the same settings and repeats exactly the steps the
    /// interrupted run would have made.
    /// </summary>
    public StylizerTrainingResult Train(TrainingPhotos photos, ImageTensor style, StylizerTrainingOptions options,
        TrainingCheckpoint? resume = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default) =>
        Train(photos, new[] { style }, options, resume, progress, cancel);

    /// <summary>
    /// Trains one styliser for several styles (conditional instance normalisation, Dumoulin et al. 2017): the network gets
    /// <c>S = styles.Count</c> scale and bias tables per instance norm (<see cref="StylizerShape.Styles"/>, set from the
    /// list) and shares everything else. Iteration i trains style <see cref="StyleOf"/>(seed, i) alone: one-hot style weights
    /// and that style's Gram targets. With one style this is exactly the single-style training.
    /// </summary>
    public StylizerTrainingResult Train(TrainingPhotos photos, IReadOnlyList<ImageTensor> styles, StylizerTrainingOptions options,
        TrainingCheckpoint? resume = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (styles.Count < 1) throw new MLStyleException("training needs at least one style image");
        options = options with { Shape = options.Shape with { Styles = styles.Count } };
        options.Validate();
        int styleCount = styles.Count;
        var spec = Spec(options);
        var fingerprint = Fingerprint(options, styles);
        if (resume is not null && resume.Fingerprint != fingerprint)
            throw new MLStyleException("the checkpoint was made with other settings (style, size, batch, width, seed, learning rate, layers or weights); use the same ones to resume, or start again without resuming");
        int n = options.BatchSize, s = options.CropSize, jitter = options.JitterPixels, si = options.StylizerCropSize;
        var model = FastStylizer.Create(options.Shape, options.Seed);
        var parameters = FastStylizer.Parameters(model);
        IReadOnlyList<string> paramInputs, gradOutputs;
        var sizes = parameters.Select(p => (int)TensorProtos.Count(p)).ToArray();
        var theta = new float[sizes.Sum()];
        {
            int o = 0;
            foreach (var p in parameters) { TensorProtos.ToFloats(p).CopyTo(theta, o); o += (int)TensorProtos.Count(p); }
        }
        if (resume is not null)
        {
            if (resume.Weights.Length != theta.Length) throw new MLStyleException("the checkpoint's network does not match these settings");
            resume.Weights.CopyTo(theta, 0);
        }

        // Each style's Gram matrices once; the content targets are computed in the training graph from each batch.
        ModelProto training;
        var styleGrams = new List<IReadOnlyList<FloatTensor>>();
        {
            using var targetSession = new OnnxSession(StyleObjective.BuildTargetModel(spec), _settings);
            foreach (var style in styles)
            {
                var grams = StyleTargets.Blended(targetSession, spec, new[] { style }, new[] { 1f }, options.StyleSize ?? 4 * s);
                styleGrams.Add(Enumerable.Range(0, spec.StyleLayers.Count).Select(i => grams[StyleObjective.StyleTarget(i)]).ToList());
            }
            training = BuildTrainingModel(model, spec, n, s, styleGrams[0], out var pIn, out var gOut, jitter);
            paramInputs = pIn; gradOutputs = gOut;
        }
        using var session = new OnnxSession(training, _settings);

        var batch = new float[n * 3 * si * si];
        var rows = new float[jitter > 0 ? n * s * si : 0];
        var cols = new float[rows.Length];
        var paramBuffers = sizes.Select(z => new float[z]).ToArray();
        var gradBuffers = sizes.Select(z => new float[z]).ToArray();
        var scalars = new[] { new float[1], new float[1], new float[1], new float[1] };
        var inputs = new Dictionary<string, FloatTensor> { [ContentInput] = new(batch, new long[] { n, 3, si, si }) };
        if (jitter > 0)
        {
            inputs[JitterRowsInput] = new(rows, new long[] { n, 1, s, si });
            inputs[JitterColumnsInput] = new(cols, new long[] { n, 1, si, s });
        }
        for (int i = 0; i < parameters.Count; i++) inputs[paramInputs[i]] = new(paramBuffers[i], TensorProtos.Shape(parameters[i]));
        // Several styles: the one-hot style weights and the Gram targets of the iteration's style are inputs, set per iteration.
        var oneHot = new float[styleCount];
        var gramBuffers = new List<float[]>();
        if (styleCount > 1)
        {
            inputs[FastStylizer.StyleWeightsName] = new(oneHot, new long[] { styleCount });
            foreach (var (g, i) in styleGrams[0].Select((g, i) => (g, i)))
            {
                gramBuffers.Add(new float[g.Data.Length]);
                inputs[StyleObjective.StyleTarget(i)] = new(gramBuffers[i], g.Shape);
            }
        }
        var outputs = new Dictionary<string, FloatTensor>
        {
            [StyleObjective.Loss] = new(scalars[0], Array.Empty<long>()),
            [StyleObjective.ContentLoss] = new(scalars[1], Array.Empty<long>()),
            [StyleObjective.StyleLoss] = new(scalars[2], Array.Empty<long>()),
            [StyleObjective.TvLoss] = new(scalars[3], Array.Empty<long>()),
        };
        for (int i = 0; i < parameters.Count; i++) outputs[gradOutputs[i]] = new(gradBuffers[i], TensorProtos.Shape(parameters[i]));
        using var bound = session.Bind(inputs, outputs);

        var adam = new AdamOptimizer(new AdamOptions { LearningRate = options.LearningRate, GradientTolerance = 0f });
        var history = new List<TrainingRecord>(resume?.History ?? Array.Empty<TrainingRecord>());
        if (resume is not null) adam.Restore(resume.Adam);
        int start = resume?.Adam.Iteration ?? 0;
        double priorSeconds = history.Count > 0 ? history[^1].Seconds : 0;

        Objective objective = (x, g) =>
        {
            int o = 0;
            for (int i = 0; i < sizes.Length; i++) { x.Slice(o, sizes[i]).CopyTo(paramBuffers[i]); o += sizes[i]; }
            bound.Run();
            o = 0;
            for (int i = 0; i < sizes.Length; i++) { gradBuffers[i].CopyTo(g.Slice(o, sizes[i])); o += sizes[i]; }
            return scalars[0][0];
        };

        var sw = Stopwatch.StartNew();
        var lastGood = (float[])theta.Clone();
        AdamState? lastGoodAdam = adam.State;
        bool diverged = false;
        string stop = "iterations";
        int it = start;
        while (it < options.Iterations)
        {
            cancel.ThrowIfCancellationRequested();
            if (options.TimeLimit is { } limit && sw.Elapsed >= limit) { stop = "time limit"; break; }
            // The crops of iteration i depend only on (seed, i), so a resumed run sees the same batches.
            var rng = new Random(unchecked(options.Seed * 1_000_003 + it));
            for (int b = 0; b < n; b++) photos.SampleCrop(rng, si, batch.AsSpan(b * 3 * si * si, 3 * si * si));
            if (jitter > 0) SetShifts(rng, n, s, jitter, rows, cols);
            if (styleCount > 1)
            {
                int k = StyleOf(options.Seed, it, styleCount);
                Array.Clear(oneHot);
                oneHot[k] = 1f;
                for (int i = 0; i < gramBuffers.Count; i++) styleGrams[k][i].Data.CopyTo(gramBuffers[i], 0);
            }
            var step = adam.Step(theta, objective);
            it++;
            var rec = new TrainingRecord(it, scalars[0][0], scalars[1][0], scalars[2][0], scalars[3][0], priorSeconds + sw.Elapsed.TotalSeconds);
            if (!float.IsFinite(step.Loss) || !System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(theta))
            {
                lastGood.CopyTo(theta, 0);
                diverged = true;
                stop = $"the loss became {step.Loss} at iteration {it}; kept the last good weights (iteration {it - 1})";
                it--;
                break;
            }
            Array.Copy(theta, lastGood, theta.Length);
            history.Add(rec);
            double done = it - start;
            var elapsed = sw.Elapsed;
            double ips = done * n / Math.Max(1e-9, elapsed.TotalSeconds);
            TimeSpan? eta = TimeSpan.FromSeconds((options.Iterations - it) * elapsed.TotalSeconds / done);
            if (options.TimeLimit is { } tl && tl - elapsed < eta) eta = tl - elapsed;
            progress?.Report(new TrainingProgress(it, options.Iterations, rec, ips, elapsed, eta));
            if (CheckpointEvery > 0 && Checkpoint is not null && it % CheckpointEvery == 0)
                Checkpoint(new TrainingCheckpoint(fingerprint, (float[])theta.Clone(), adam.State!, history.ToList()), WithWeights(model, parameters, theta));
        }
        var final = WithWeights(model, parameters, theta);
        return new StylizerTrainingResult(final, history, it, sw.Elapsed, diverged, stop);
    }

    /// <summary>
    /// Fills the selection matrices of <see cref="JitterRowsInput"/> (<c>[N, 1, S, S + J]</c>) and <see cref="JitterColumnsInput"/>
    /// (<c>[N, 1, S + J, S]</c>) with a random offset 0 … J per image and direction: <c>rows · X · cols</c> is the S × S window of
    /// X at that offset.
    /// </summary>
    internal static void SetShifts(Random rng, int n, int s, int jitter, float[] rows, float[] cols)
    {
        int si = s + jitter;
        Array.Clear(rows); Array.Clear(cols);
        for (int b = 0; b < n; b++)
        {
            int dy = rng.Next(jitter + 1), dx = rng.Next(jitter + 1);
            for (int i = 0; i < s; i++)
            {
                rows[b * s * si + i * si + i + dy] = 1f;
                cols[b * si * s + (i + dx) * s + i] = 1f;
            }
        }
    }

    /// <summary>A copy of <paramref name="model"/> whose parameters are <paramref name="theta"/> (in <see cref="FastStylizer.Parameters"/> order).</summary>
    public static ModelProto WithWeights(ModelProto model, IReadOnlyList<TensorProto> parameters, ReadOnlySpan<float> theta)
    {
        var m = model.Clone();
        var byName = m.Graph.Initializer.ToDictionary(t => t.Name);
        int o = 0;
        foreach (var p in parameters)
        {
            int c = (int)TensorProtos.Count(p);
            var t = byName[p.Name];
            var fresh = TensorProtos.FromFloats(p.Name, theta.Slice(o, c), TensorProtos.Shape(p));
            t.FloatData.Clear();
            t.RawData = fresh.RawData;
            o += c;
        }
        return m;
    }

    /// <summary>
    /// The training graph: the styliser (its parameters as inputs <c>stylizer/NAME</c>) applied to the content batch
    /// <see cref="ContentInput"/> <c>[N, 3, S, S]</c>; the style objective (<see cref="StyleObjective.AddLoss(GraphBuilder, StyleObjectiveSpec, string, IReadOnlyList{string}, IReadOnlyList{string}, TrunkCopier, string)"/>)
    /// on its output, with the content targets computed from the batch in the same graph and the style's Gram matrices as
    /// constants; outputs the loss terms (means per image) and the gradient of the loss for every parameter (<c>NAME_grad</c>).
    /// With <paramref name="jitter"/> J &gt; 0 the batch is <c>[N, 3, S + J, S + J]</c> and the objective reads the S × S windows
    /// <c>rows · X · cols</c> of the styliser's output and of the batch, with the selection matrices as inputs
    /// <see cref="JitterRowsInput"/> and <see cref="JitterColumnsInput"/> (<see cref="StylizerTrainingOptions.Jitter"/>).
    /// A styliser of several styles (<see cref="FastStylizer.StyleCount"/> &gt; 1) gets its style weights from the input
    /// <see cref="FastStylizer.StyleWeightsName"/> <c>[S]</c>, and the Gram targets are inputs <see cref="StyleObjective.StyleTarget"/>
    /// of the shapes of <paramref name="styleGrams"/> (whose values are then not used), so one graph trains every style.
    /// </summary>
    public static ModelProto BuildTrainingModel(ModelProto stylizer, StyleObjectiveSpec spec, int batch, int size,
        IReadOnlyList<FloatTensor> styleGrams, out IReadOnlyList<string> parameterInputs, out IReadOnlyList<string> gradientOutputs,
        int jitter = 0)
    {
        var b = GraphBuilder.Create("stylizer_training");
        int si = size + jitter;
        b.AddInput(ContentInput, ElementType.Float, new long[] { batch, 3, si, si });
        string rows = "", cols = "";
        if (jitter > 0)
        {
            rows = b.AddInput(JitterRowsInput, ElementType.Float, new long[] { batch, 1, size, si });
            cols = b.AddInput(JitterColumnsInput, ElementType.Float, new long[] { batch, 1, si, size });
        }
        string Window(string x) => jitter > 0 ? b.MatMul(b.MatMul(rows, x), cols) : x;
        var s = stylizer.Clone();
        if (OnnxModels.Opset(s) < OnnxModels.TargetOpset) GraphTransforms.UpgradeOpset(s);
        var sIn = OnnxModels.RealInputs(s).Single();
        var sOut = s.Graph.Output[0].Name;
        var parameters = FastStylizer.Parameters(s);
        var feeds = new Dictionary<string, string> { [sIn] = ContentInput };
        int styles = FastStylizer.StyleCount(s);
        if (styles > 1) feeds[FastStylizer.StyleWeightsName] = b.AddInput(FastStylizer.StyleWeightsName, ElementType.Float, new long[] { styles });
        var pIn = new List<string>();
        foreach (var p in parameters)
        {
            s.Graph.Initializer.Remove(s.Graph.Initializer.First(t => t.Name == p.Name));
            s.Graph.Input.Add(GraphBuilder.MakeValueInfo(p.Name, ElementType.Float, p.Dims.ToArray(), null));
            pIn.Add(feeds[p.Name] = b.AddInput(Prefix + p.Name, ElementType.Float, p.Dims.ToArray()));
        }
        var copier = new TrunkCopier(b);
        var stylised = Window(copier.Inline(s, feeds, Prefix)[sOut]);
        var contentTargets = StyleObjective.AddContentTargets(b, spec, Window(ContentInput), copier, "content/");
        var styleTargets = styles > 1
            ? styleGrams.Select((g, i) => b.AddInput(StyleObjective.StyleTarget(i), ElementType.Float, g.Shape)).ToList()
            : StyleObjective.AddStyleTargets(b, styleGrams);
        var terms = StyleObjective.AddLoss(b, spec, stylised, contentTargets, styleTargets, copier, "loss/");
        foreach (var (t, name) in new[] { (terms.Loss, StyleObjective.Loss), (terms.Content, StyleObjective.ContentLoss), (terms.Style, StyleObjective.StyleLoss), (terms.Tv, StyleObjective.TvLoss) })
            b.AddOutput(b.Identity(t, name));
        var grads = Differentiator.AddGradients(b, terms.Loss, null, pIn);
        var gOut = new List<string>();
        foreach (var p in pIn)
        {
            var name = b.Identity(grads[p], p + "_grad");
            b.AddOutput(name);
            gOut.Add(name);
        }
        parameterInputs = pIn;
        gradientOutputs = gOut;
        GraphTransforms.RemoveUnusedInitializers(b.Model);
        return b.Model;
    }
}
