using System.Numerics.Tensors;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Engines;

/// <summary>
/// The gradient of a DeepDream objective with respect to an image of any size, whole or in tiles, with an optional roll
/// (jitter). Owns one ONNX Runtime session per distinct input size (graphs are specialised to static sizes), created on
/// first use and cached; dispose it to free them.
/// </summary>
/// <remarks>
/// <para><b>Roll.</b> The gradient is taken at the image rolled by (<c>rollX</c>, <c>rollY</c>) pixels with wrap-around
/// (numpy's <c>np.roll</c>, as Google's DeepDream jitter) and returned un-rolled, i.e. aligned with the input image.</para>
/// <para><b>Tiles.</b> With <see cref="Tile"/> T &gt; 0 the (rolled) image is covered by T×T tiles (T×H or W×T when a side is
/// shorter than T) that lie wholly inside it — no padding: along each axis the first tile starts at 0, the next ones every
/// T − overlap pixels shifted back by the grid offset (<c>gridX</c>, <c>gridY</c>, in [0, T − overlap)), and the last one ends
/// at the image's edge, so neighbours overlap by at least <see cref="TileOverlap"/>. Every pixel takes its gradient from exactly
/// one tile: the boundary between two neighbours is the middle of their overlap, so each pixel is at least overlap/2 from the
/// edge of the tile it uses (or on the image's own border). Each tile's layer terms are scaled by
/// (feature positions in the tile) / (feature positions in the image), so the stitched gradient equals the whole image's
/// gradient wherever the network's view of the pixel is the same in the tile as in the image: exactly so when the
/// receptive-field radius r of the dreamed layers is at most overlap/4 (a pixel's gradient involves the features within r
/// of it, and those features see r further). Deep layers see farther than that; there, the grid offset is drawn at random
/// every step so that the tile borders never stay in place and no seams build up.</para>
/// </remarks>
internal sealed class DreamGradient : IDisposable
{
    readonly DreamObjectiveSpec _spec;
    readonly SessionSettings _settings;
    readonly IReadOnlyList<FloatTensor>? _guide;
    readonly Dictionary<(int W, int H), Runner> _runners = new();
    readonly Dictionary<(int W, int H), IReadOnlyList<(long H, long W)>> _featureSizes = new();

    /// <summary>Creates the gradient of <paramref name="spec"/>; guided specs need <paramref name="guideFeatures"/>.</summary>
    /// <param name="spec">The objective.</param>
    /// <param name="settings">Session settings (device, threads).</param>
    /// <param name="tile">Tile side in pixels; 0 computes the whole image at once.</param>
    /// <param name="tileOverlap">Minimum overlap of neighbouring tiles (0 ≤ overlap ≤ tile/2).</param>
    /// <param name="guideFeatures">The guide's features per layer (<see cref="GuideFeatures"/>), for guided objectives.</param>
    public DreamGradient(DreamObjectiveSpec spec, SessionSettings? settings = null, int tile = 0, int tileOverlap = 64,
        IReadOnlyList<FloatTensor>? guideFeatures = null)
    {
        spec.Validate();
        if (tile < 0) throw new MLStyleException($"invalid tile size {tile}: must be 0 (no tiles) or positive");
        if (tile > 0 && (tileOverlap < 0 || tileOverlap > tile / 2))
            throw new MLStyleException($"invalid tile overlap {tileOverlap}: must be between 0 and half the tile ({tile / 2})");
        if (spec.Guided && (guideFeatures is null || guideFeatures.Count != spec.Layers.Count))
            throw new ArgumentException("a guided objective needs the guide features of every layer", nameof(guideFeatures));
        _spec = spec;
        _settings = settings ?? SessionSettings.Default;
        _guide = spec.Guided ? guideFeatures : null;
        Tile = tile;
        TileOverlap = tileOverlap;
    }

    /// <summary>Tile side (0: untiled).</summary>
    public int Tile { get; }

    /// <summary>Minimum overlap of neighbouring tiles.</summary>
    public int TileOverlap { get; }

    /// <summary>Range of the grid offsets: [0, <see cref="GridPeriod"/>) (tile − overlap; 1 when untiled).</summary>
    public int GridPeriod => Tile > 0 ? Math.Max(1, Tile - TileOverlap) : 1;

    /// <summary>Number of cached sessions (one per distinct input size seen).</summary>
    public int SessionCount => _runners.Count;

    /// <summary>Tiles run by the last <see cref="Compute"/>.</summary>
    public int LastTileCount { get; private set; }

    /// <summary>
    /// Computes the guide features of <paramref name="guide"/> once (a forward pass at the guide's size): per layer a
    /// <c>[C, h·w]</c> tensor of the selected channels.
    /// </summary>
    public static IReadOnlyList<FloatTensor> GuideFeatures(DreamObjectiveSpec spec, ImageTensor guide, SessionSettings? settings = null)
    {
        using var s = new OnnxSession(DreamObjective.BuildGuideModel(spec, guide.Width, guide.Height), settings);
        var names = Enumerable.Range(0, spec.Layers.Count).Select(DreamObjective.GuideFeatures).ToList();
        var outs = s.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = new(guide.Data, new long[] { 1, 3, guide.Height, guide.Width }) }, names);
        return names.Select(n => outs[n]).ToList();
    }

    /// <summary>
    /// Along an axis of <paramref name="length"/> pixels: the start of every tile of <paramref name="tile"/> pixels
    /// (see the class remarks), for a grid offset in [0, tile − overlap).
    /// </summary>
    public static int[] TileOrigins(int length, int tile, int overlap, int offset)
    {
        if (tile <= 0 || length <= tile) return new[] { 0 };
        int stride = Math.Max(1, tile - overlap);
        offset = ((offset % stride) + stride) % stride;
        var list = new List<int> { 0 };
        for (int k = 1; ; k++)
        {
            int o = k * stride - offset;
            if (o >= length - tile) break;
            if (o > 0) list.Add(o);
        }
        list.Add(length - tile);
        return list.ToArray();
    }

    /// <summary>The pixel range [start, end) each tile of <see cref="TileOrigins"/> is responsible for.</summary>
    public static (int Start, int End)[] TileOwnership(int length, int tile, int[] origins)
    {
        var r = new (int, int)[origins.Length];
        int start = 0;
        for (int i = 0; i < origins.Length; i++)
        {
            int end = i + 1 < origins.Length ? (origins[i + 1] + origins[i] + Math.Min(tile, length)) / 2 : length;
            r[i] = (start, end);
            start = end;
        }
        return r;
    }

    /// <summary>
    /// Writes d objective / d image into <paramref name="grad"/> (the image's layout, <c>[3, H, W]</c>) and returns the objective
    /// (tiled: the sum of the tiles' terms weighted by the share of each tile's pixels they own, an estimate of the whole
    /// image's objective).
    /// </summary>
    public float Compute(ImageTensor image, float[] grad, int rollX = 0, int rollY = 0, int gridX = 0, int gridY = 0, CancellationToken cancel = default)
    {
        int W = image.Width, H = image.Height;
        if (grad.Length != image.Data.Length) throw new ArgumentException("the gradient buffer must match the image", nameof(grad));
        int tw = Tile > 0 ? Math.Min(Tile, W) : W, th = Tile > 0 ? Math.Min(Tile, H) : H;
        var runner = RunnerFor(tw, th);
        if (tw == W && th == H) runner.Scale.AsSpan().Fill(1f);
        else
        {
            var tileSizes = FeatureSizes(tw, th);
            var imageSizes = FeatureSizes(W, H);
            for (int l = 0; l < runner.Scale.Length; l++)
                runner.Scale[l] = (float)((double)tileSizes[l].H * tileSizes[l].W / (imageSizes[l].H * (double)imageSizes[l].W));
        }
        var xs = TileOrigins(W, tw, TileOverlap, gridX);
        var ys = TileOrigins(H, th, TileOverlap, gridY);
        var xOwn = TileOwnership(W, tw, xs);
        var yOwn = TileOwnership(H, th, ys);
        double objective = 0;
        LastTileCount = xs.Length * ys.Length;
        for (int j = 0; j < ys.Length; j++)
            for (int i = 0; i < xs.Length; i++)
            {
                cancel.ThrowIfCancellationRequested();
                CopyIn(image.Data, W, H, runner.Input, xs[i], ys[j], tw, th, rollX, rollY);
                runner.Run();
                var (ax, bx) = xOwn[i];
                var (ay, by) = yOwn[j];
                CopyOut(runner.Grad, xs[i], ys[j], tw, th, grad, W, H, ax, bx, ay, by, rollX, rollY);
                objective += runner.Objective[0] * ((double)(bx - ax) * (by - ay) / ((double)tw * th));
            }
        return (float)objective;
    }

    /// <summary>Disposes every cached session (the next <see cref="Compute"/> builds what it needs again).</summary>
    public void ReleaseSessions()
    {
        foreach (var r in _runners.Values) r.Dispose();
        _runners.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => ReleaseSessions();

    IReadOnlyList<(long H, long W)> FeatureSizes(int w, int h)
    {
        if (!_featureSizes.TryGetValue((w, h), out var f)) _featureSizes[(w, h)] = f = DreamObjective.FeatureSizes(_spec, w, h);
        return f;
    }

    Runner RunnerFor(int w, int h)
    {
        if (!_runners.TryGetValue((w, h), out var r))
            _runners[(w, h)] = r = new Runner(_spec, w, h, _settings, _guide);
        return r;
    }

    static int Mod(int a, int n) => ((a % n) + n) % n;

    /// <summary>Copies the tile at (tx, ty) of the image rolled by (ox, oy) into <paramref name="dst"/> ([3, th, tw]).</summary>
    static void CopyIn(float[] img, int W, int H, float[] dst, int tx, int ty, int tw, int th, int ox, int oy)
    {
        int plane = W * H, tplane = tw * th;
        int sx = Mod(tx - ox, W);
        int first = Math.Min(tw, W - sx);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < th; y++)
            {
                int sy = Mod(ty + y - oy, H);
                var src = img.AsSpan(c * plane + sy * W, W);
                var d = dst.AsSpan(c * tplane + y * tw, tw);
                src.Slice(sx, first).CopyTo(d);
                if (first < tw) src.Slice(0, tw - first).CopyTo(d[first..]);
            }
    }

    /// <summary>Copies the owned region [ax, bx)×[ay, by) (rolled coordinates) of a tile's gradient to the un-rolled image gradient.</summary>
    static void CopyOut(float[] tileGrad, int tx, int ty, int tw, int th, float[] grad, int W, int H, int ax, int bx, int ay, int by, int ox, int oy)
    {
        int plane = W * H, tplane = tw * th, len = bx - ax;
        int dx = Mod(ax - ox, W);
        int first = Math.Min(len, W - dx);
        for (int c = 0; c < 3; c++)
            for (int y = ay; y < by; y++)
            {
                int dy = Mod(y - oy, H);
                var src = tileGrad.AsSpan(c * tplane + (y - ty) * tw + (ax - tx), len);
                var d = grad.AsSpan(c * plane + dy * W, W);
                src[..first].CopyTo(d[dx..]);
                if (first < len) src[first..].CopyTo(d);
            }
    }

    /// <summary>A session for one input size with its bound buffers.</summary>
    sealed class Runner : IDisposable
    {
        readonly OnnxSession _session;
        readonly BoundRun _bound;
        public readonly float[] Input, Grad, Objective = new float[1], Scale;

        public Runner(DreamObjectiveSpec spec, int w, int h, SessionSettings settings, IReadOnlyList<FloatTensor>? guide)
        {
            var model = DreamObjective.BuildModel(spec, w, h, guide?.Select(g => g.Shape[1]).ToList());
            _session = new OnnxSession(model, settings);
            Input = new float[3 * w * h];
            Grad = new float[3 * w * h];
            Scale = new float[spec.Layers.Count];
            var shape = new long[] { 1, 3, h, w };
            var inputs = new Dictionary<string, FloatTensor>
            {
                [Backbone.InputName] = new(Input, shape),
                [DreamObjective.LayerScale] = new(Scale, new long[] { Scale.Length }),
            };
            if (guide is not null)
                for (int i = 0; i < guide.Count; i++) inputs[DreamObjective.GuideFeatures(i)] = guide[i];
            var outputs = new Dictionary<string, FloatTensor>
            {
                [DreamObjective.Objective] = new(Objective, Array.Empty<long>()),
                [DreamObjective.ImageGrad] = new(Grad, shape),
            };
            try { _bound = _session.Bind(inputs, outputs); }
            catch { _session.Dispose(); throw; }
        }

        public void Run() => _bound.Run();

        public void Dispose()
        {
            _bound.Dispose();
            _session.Dispose();
        }
    }
}
