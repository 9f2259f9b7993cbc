using System.Diagnostics;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Engines;

/// <summary>Options of DeepDream. The defaults follow Google's original notebook where it applies.</summary>
public sealed record DeepDreamOptions
{
    /// <summary>Octaves below this short side (in pixels) are skipped (<see cref="DreamSchedule.MinOctaveSide"/>).</summary>
    public const int MinOctaveSide = DreamSchedule.MinOctaveSide;

    /// <summary>Layers to excite, with weights (default: <see cref="DreamDefaults.Layers"/>; ResNet18: layer3.0 and layer3.1).</summary>
    public IReadOnlyList<WeightedLayer>? Layers { get; init; }

    /// <summary>Only these channels of every layer count (default: all). Out-of-range channels are an error.</summary>
    public IReadOnlyList<int>? Channels { get; init; }

    /// <summary>Mean (default) or mean of squares (L2) of the activations. Guided dreams use the guide objective instead.</summary>
    public DreamReduction Objective { get; init; } = DreamReduction.Mean;

    /// <summary>Number of octaves (default 4): the image is dreamed at the full size and at 1/scale, 1/scale², … of it,
    /// smallest first (octaves whose short side would fall below <see cref="MinOctaveSide"/> are skipped).</summary>
    public int Octaves { get; init; } = 4;

    /// <summary>Size ratio between octaves (default 1.4).</summary>
    public float OctaveScale { get; init; } = 1.4f;

    /// <summary>Gradient-ascent steps per octave (default 10).</summary>
    public int IterationsPerOctave { get; init; } = 10;

    /// <summary>
    /// Step size on 0–255 pixels (default 1.5): each step adds step / mean|g| · g, so the mean change of a pixel value is
    /// <c>StepSize</c> whatever the gradient's scale (Google's normalisation).
    /// </summary>
    public float StepSize { get; init; } = 1.5f;

    /// <summary>Each step rolls the image by a random shift of up to this many pixels in x and y (default 32) and back.</summary>
    public int Jitter { get; init; } = 32;

    /// <summary>Tile side for the gradient (default 0: the whole image at once). Bounds memory for big images; see <see cref="DreamGradient"/>.</summary>
    public int Tile { get; init; }

    /// <summary>Minimum overlap of neighbouring tiles in pixels (default 64, at most half the tile).</summary>
    public int TileOverlap { get; init; } = 64;

    /// <summary>Guided dreaming: maximise the match with this image's features (default none).</summary>
    public ImageTensor? Guide { get; init; }

    /// <summary>The guide is resized to this long side before its features are taken (default 224, ImageNet's size; 0 keeps its size).</summary>
    public int GuideSize { get; init; } = 224;

    /// <summary>Zoom frames (default 0: none). Frame 1 is the dream of the input, frame k+1 the dream of frame k zoomed by <see cref="Zoom"/>.</summary>
    public int Frames { get; init; }

    /// <summary>Zoom between frames (default 0.05): the central 1 − zoom of a frame is scaled back to the full size.</summary>
    public float Zoom { get; init; } = 0.05f;

    /// <summary>Where frames are written as frame_0001.png, … (created if missing; required when <see cref="Frames"/> &gt; 0).</summary>
    public string? FramesDirectory { get; init; }

    /// <summary>Resize the input so its long side is this many pixels first (default null: keep the input's size).</summary>
    public int? Size { get; init; }

    /// <summary>Random seed of the jitter and the tile offsets; the same seed on the same machine gives the same output (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Checks every option and throws an <see cref="MLStyleException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Octaves < 1 || Octaves > 32) throw new MLStyleException($"invalid octaves {Octaves}: must be between 1 and 32");
        if (!(OctaveScale > 1f && OctaveScale <= 4f)) throw new MLStyleException($"invalid octave scale {OctaveScale}: must be greater than 1 and at most 4");
        if (IterationsPerOctave < 0 || IterationsPerOctave > 100000) throw new MLStyleException($"invalid iterations {IterationsPerOctave}: must be between 0 and 100000");
        if (!(StepSize > 0 && float.IsFinite(StepSize))) throw new MLStyleException($"invalid step size {StepSize}: must be positive");
        if (Jitter < 0 || Jitter > 4096) throw new MLStyleException($"invalid jitter {Jitter}: must be between 0 and 4096 pixels");
        if (Tile != 0 && (Tile < 32 || Tile > 16384)) throw new MLStyleException($"invalid tile {Tile}: must be 0 (no tiles) or between 32 and 16384 pixels");
        if (Tile > 0 && (TileOverlap < 0 || TileOverlap > Tile / 2)) throw new MLStyleException($"invalid tile overlap {TileOverlap}: must be between 0 and half the tile ({Tile / 2})");
        if (GuideSize != 0 && (GuideSize < 16 || GuideSize > 4096)) throw new MLStyleException($"invalid guide size {GuideSize}: must be 0 or between 16 and 4096 pixels");
        if (Frames < 0 || Frames > 100000) throw new MLStyleException($"invalid frames {Frames}: must be between 0 and 100000");
        if (!(Zoom >= 0f && Zoom < 0.5f)) throw new MLStyleException($"invalid zoom {Zoom}: must be at least 0 and below 0.5");
        if (Frames > 0 && string.IsNullOrWhiteSpace(FramesDirectory)) throw new MLStyleException("frames need a frames directory");
        if (Size is { } s && (s < 16 || s > 16384)) throw new MLStyleException($"invalid size {s}: must be between 16 and 16384 pixels");
        if (Channels is { Count: 0 }) throw new MLStyleException("the channel list is empty");
    }

    /// <summary>The octave sizes for an image of <paramref name="width"/>×<paramref name="height"/>, largest (the image's own) first.</summary>
    public IReadOnlyList<(int Width, int Height)> OctaveSizes(int width, int height) =>
        DreamSchedule.OctaveSizes(width, height, Octaves, OctaveScale, MinOctaveSide);
}

/// <summary>One gradient-ascent step: the objective before it (at the jittered image).</summary>
public sealed record DreamStep(int Frame, int Octave, int Iteration, int Width, int Height, float Objective);

/// <summary>Progress of a running dream (octave 1 is the smallest; frame 1 the first).</summary>
public sealed record DreamProgress(int Frame, int Frames, int Octave, int Octaves, int Width, int Height, int Iteration, int Iterations,
    float Objective, TimeSpan Elapsed, TimeSpan? Eta)
{
    /// <summary>Fraction of the work done, 0–1 (by pixels × steps).</summary>
    public double Fraction { get; init; }
}

/// <summary>
/// One finished octave, for inspection: its base (the input resized), the image it started from (base + upsampled detail of
/// the previous octave, clipped) and the dreamed image. The images are only valid during the callback; clone them to keep them.
/// </summary>
public sealed record DreamOctave(int Frame, int Octave, ImageTensor Base, ImageTensor Start, ImageTensor Dreamed);

/// <summary>The result of a dream.</summary>
/// <param name="Image">The dream (the last frame when frames were made).</param>
/// <param name="History">Every step's objective.</param>
/// <param name="OctaveSizes">The octave sizes, smallest first.</param>
/// <param name="FramesWritten">Paths of the frames written.</param>
/// <param name="Steps">Gradient steps taken.</param>
/// <param name="Elapsed">Wall-clock time.</param>
/// <param name="PeakMemoryBytes">The process's peak working set.</param>
public sealed record DeepDreamResult(ImageTensor Image, IReadOnlyList<DreamStep> History, IReadOnlyList<(int Width, int Height)> OctaveSizes,
    IReadOnlyList<string> FramesWritten, int Steps, TimeSpan Elapsed, long PeakMemoryBytes);

/// <summary>
/// DeepDream (Mordvintsev, Olah and Tyka, 2015) by gradient ascent on the pixels: octaves with detail re-injection,
/// normalised steps, random jitter, optional tiles for big images, guided dreams and zoom frames. Gradients come from MLStyle's
/// differentiation of the backbone (<see cref="DreamObjective"/>), run by ONNX Runtime.
/// </summary>
/// <param name="backbone">The network whose features the objective reads.</param>
/// <param name="settings">Device and threads of the ONNX Runtime sessions (default <see cref="SessionSettings.Default"/>).</param>
public sealed class DeepDreamEngine(Backbone backbone, SessionSettings? settings = null)
{
    /// <summary>The path of zoom frame <paramref name="frame"/> (1-based) in <paramref name="directory"/>: <c>frame_0001.png</c>, ….</summary>
    public static string FramePath(string directory, int frame) => Path.Combine(directory, $"frame_{frame:D4}.png");

    readonly Backbone _backbone = backbone;
    readonly SessionSettings _settings = settings ?? SessionSettings.Default;

    /// <summary>Called after every octave (see <see cref="DreamOctave"/>); for tests and visualisations.</summary>
    public Action<DreamOctave>? OctaveDone { get; init; }

    /// <summary>The objective these options describe (validated: unknown layers and out-of-range channels are errors).</summary>
    public DreamObjectiveSpec Spec(DeepDreamOptions o)
    {
        var spec = new DreamObjectiveSpec(_backbone, o.Layers ?? DreamDefaults.Layers(_backbone), o.Objective, o.Channels, o.Guide is not null);
        spec.Validate();
        return spec;
    }

    /// <summary>The guide image as the objective sees it (resized to <see cref="DeepDreamOptions.GuideSize"/>).</summary>
    public static ImageTensor PrepareGuide(ImageTensor guide, int guideSize) =>
        guideSize > 0 ? ImageIO.ResizeToLongSide(guide, guideSize) : guide;

    /// <summary>Dreams <paramref name="input"/> (and writes zoom frames when asked).</summary>
    public DeepDreamResult Run(ImageTensor input, DeepDreamOptions options, IProgress<DreamProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        var spec = Spec(options);
        var sw = Stopwatch.StartNew();
        var image = options.Size is { } size ? ImageIO.ResizeToLongSide(input, size) : input; // never modified
        var guide = options.Guide is { } g ? DreamGradient.GuideFeatures(spec, PrepareGuide(g, options.GuideSize), _settings) : null;
        using var gradient = new DreamGradient(spec, _settings, options.Tile, options.TileOverlap, guide);
        var rng = new Random(options.Seed);
        var sizes = options.OctaveSizes(image.Width, image.Height);
        int frames = Math.Max(1, options.Frames);
        if (options.Frames > 0) Directory.CreateDirectory(options.FramesDirectory!);

        var history = new List<DreamStep>();
        var written = new List<string>();
        double totalWork = frames * sizes.Sum(s => (double)s.Width * s.Height) * options.IterationsPerOctave, doneWork = 0;
        int steps = 0;
        for (int f = 1; f <= frames; f++)
        {
            cancel.ThrowIfCancellationRequested();
            var dreamed = Dream(f, image, sizes, options, gradient, rng, step =>
            {
                var rec = step with { Frame = f };
                history.Add(rec);
                steps++;
                doneWork += (double)rec.Width * rec.Height;
                var elapsed = sw.Elapsed;
                TimeSpan? eta = doneWork > 0 ? TimeSpan.FromTicks((long)(elapsed.Ticks * Math.Max(0, totalWork - doneWork) / doneWork)) : null;
                progress?.Report(new DreamProgress(f, frames, rec.Octave, sizes.Count, rec.Width, rec.Height, rec.Iteration, options.IterationsPerOctave,
                    rec.Objective, elapsed, eta) { Fraction = totalWork > 0 ? doneWork / totalWork : 1 });
            }, cancel);
            if (options.Frames > 0)
            {
                var path = FramePath(options.FramesDirectory!, f);
                ImageIO.Save(dreamed, path);
                written.Add(path);
            }
            image = f < frames ? Zoom(dreamed, options.Zoom) : dreamed;
        }
        return new DeepDreamResult(image, history, sizes.Reverse().ToList(), written, steps, sw.Elapsed, Process.GetCurrentProcess().PeakWorkingSet64);
    }

    /// <summary>
    /// The octave loop (Google's <c>deepdream</c>): from the smallest octave up, the dreamed image's detail (dreamed − base)
    /// is upsampled and added to the next, larger base, which is dreamed in turn.
    /// </summary>
    ImageTensor Dream(int frame, ImageTensor image, IReadOnlyList<(int Width, int Height)> sizes, DeepDreamOptions o, DreamGradient gradient,
        Random rng, Action<DreamStep> onStep, CancellationToken cancel)
    {
        ImageTensor? detail = null;
        ImageTensor x = image;
        bool reuseSessions = o.Frames > 1 || o.Tile > 0;
        for (int k = sizes.Count - 1; k >= 0; k--)
        {
            var (w, h) = sizes[k];
            int octave = sizes.Count - k;
            var baseImage = k == 0 ? image : ImageIO.Resize(image, w, h);
            x = baseImage.Clone();
            if (detail is not null)
            {
                var up = ImageIO.ResizeUnclamped(detail, w, h);
                System.Numerics.Tensors.TensorPrimitives.Add(x.Data, up.Data, x.Data);
                x.ClampInPlace();
            }
            var start = OctaveDone is null ? null : x.Clone();
            var grad = new float[x.Data.Length];
            for (int it = 1; it <= o.IterationsPerOctave; it++)
            {
                cancel.ThrowIfCancellationRequested();
                int ox = o.Jitter > 0 ? rng.Next(-o.Jitter, o.Jitter + 1) : 0;
                int oy = o.Jitter > 0 ? rng.Next(-o.Jitter, o.Jitter + 1) : 0;
                int gx = 0, gy = 0;
                if (gradient.Tile > 0)
                {
                    gx = rng.Next(gradient.GridPeriod);
                    gy = rng.Next(gradient.GridPeriod);
                }
                float objective = gradient.Compute(x, grad, ox, oy, gx, gy, cancel);
                if (!float.IsFinite(objective)) throw new MLStyleException($"the objective became {objective} at octave {octave}, iteration {it}");
                DreamSchedule.NormalisedStep(x.Data, grad, o.StepSize);
                onStep(new DreamStep(0, octave, it, w, h, objective));
            }
            if (!reuseSessions) gradient.ReleaseSessions(); // untiled single dreams never see this size again
            OctaveDone?.Invoke(new DreamOctave(frame, octave, baseImage, start!, x));
            if (k > 0)
            {
                System.Numerics.Tensors.TensorPrimitives.Subtract(x.Data, baseImage.Data, x.Data);
                detail = x;
            }
        }
        return x;
    }

    /// <summary>
    /// Zooms into the centre: the central (1 − <paramref name="zoom"/>) of the image, scaled back to the full size with bilinear
    /// interpolation (Google's <c>nd.affine_transform(frame, [1-s,1-s,1], [h*s/2,w*s/2,0], order=1)</c>).
    /// </summary>
    public static ImageTensor Zoom(ImageTensor image, float zoom)
    {
        if (zoom == 0) return image.Clone();
        int W = image.Width, H = image.Height;
        var result = new ImageTensor(W, H);
        float s = 1f - zoom;
        float offX = W * zoom / 2f, offY = H * zoom / 2f;
        var x0 = new int[W]; var x1 = new int[W]; var fx = new float[W];
        for (int x = 0; x < W; x++)
        {
            float sx = Math.Clamp(x * s + offX, 0, W - 1);
            x0[x] = (int)sx; x1[x] = Math.Min(W - 1, x0[x] + 1); fx[x] = sx - x0[x];
        }
        int plane = W * H;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
            {
                float sy = Math.Clamp(y * s + offY, 0, H - 1);
                int y0 = (int)sy, y1 = Math.Min(H - 1, y0 + 1);
                float fy = sy - y0;
                var r0 = image.Data.AsSpan(c * plane + y0 * W, W);
                var r1 = image.Data.AsSpan(c * plane + y1 * W, W);
                var d = result.Data.AsSpan(c * plane + y * W, W);
                for (int x = 0; x < W; x++)
                {
                    float top = r0[x0[x]] + (r0[x1[x]] - r0[x0[x]]) * fx[x];
                    float bottom = r1[x0[x]] + (r1[x1[x]] - r1[x0[x]]) * fx[x];
                    d[x] = top + (bottom - top) * fy;
                }
            }
        return result;
    }
}
