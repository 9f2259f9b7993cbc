using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;

namespace MLStyle.Engines;

/// <summary>The quality measures of one stylised image (see <see cref="StyleQuality"/>).</summary>
/// <param name="StyleRatios">Per stage (<see cref="StyleQuality.Stages"/>): ‖G(output) − G(style)‖² / ‖G(content) − G(style)‖².</param>
/// <param name="OverallStyleRatio">mean over stages of ‖G(output) − G(style)‖² / ‖G(style)‖², divided by the same mean for the content.</param>
/// <param name="ContentRatio">mean over the content stages of ‖F(output) − F(content)‖² / ‖F(content)‖², divided by the same for the style.</param>
/// <param name="GridPeak">the strongest period-2 or period-4 luminance peak over its neighbouring frequencies (about 1 for photos).</param>
/// <param name="StripePeak">the strongest 2–5-pixel-period peak in any direction, of the luminance or either chroma channel, over its ring of the spectrum (<see cref="StyleQuality.StripePeak"/>).</param>
public sealed record StyleQualityReport(IReadOnlyList<double> StyleRatios, double OverallStyleRatio, double ContentRatio, double GridPeak, double StripePeak)
{
    /// <summary>The largest per-stage style ratio.</summary>
    public double WorstStyleRatio => StyleRatios.Max();
}

/// <summary>
/// Measures how well a stylised image matches its style at every depth, how much of the photo it keeps, and whether a periodic
/// grid shows, on the embedded ResNet18 used as a fixed observer (independent of the layers and weights the image was made with):
/// <list type="bullet">
/// <item>style ratio per stage (conv1 after its ReLU, and the last ReLU of layer1 … layer4 — layer4.2 on the embedded network): ‖G(output) − G(style)‖² over
/// ‖G(content) − G(style)‖², G = F·Fᵀ/(C·h·w); 0 = the painting's statistics, 1 = no better than the photo;</item>
/// <item>content ratio at layer2 and layer3: relative feature distance to the photo, over the painting's;</item>
/// <item>grid peak (<see cref="GridPeak"/>): power of the luminance at periods 2 and 4 over the neighbouring frequencies;</item>
/// <item>stripe peak (<see cref="StripePeak"/>): the strongest fine periodic pattern in any direction (periods 2–5 pixels), in
/// the luminance or the chroma, over the power of its ring of the 2-D spectrum.</item>
/// </list>
/// The output, the photo and the painting are all resized to one analysis size, the output's size rounded to multiples of 32
/// (where the network's strided layers align exactly with the image).
/// </summary>
public sealed class StyleQuality : IDisposable
{
    /// <summary>The layers whose Gram matrices are compared: conv1 and the last block output of layer1 … layer4.</summary>
    public IReadOnlyList<string> Stages { get; }

    /// <summary>The layers whose features are compared with the photo's: the last block outputs of layer2 and layer3.</summary>
    public IReadOnlyList<string> ContentStages { get; }

    /// <summary>The periods (pixels) whose peaks <see cref="GridPeak"/> looks for.</summary>
    public static readonly IReadOnlyList<int> GridPeriods = new[] { 2, 4 };

    readonly OnnxSession _session;
    readonly List<string> _outputs;

    /// <summary>Creates the measure on <paramref name="backbone"/> (the embedded ResNet18 unless given).</summary>
    public StyleQuality(Backbone? backbone = null, SessionSettings? settings = null)
    {
        backbone ??= BackboneFactory.ResNet18();
        string LastBlock(int stage) => backbone.Layers.Last(l => l.Name.StartsWith($"layer{stage}.", StringComparison.Ordinal) && !l.Name.EndsWith(".relu", StringComparison.Ordinal)).Name;
        Stages = new[] { "conv1", LastBlock(1), LastBlock(2), LastBlock(3), LastBlock(4) };
        ContentStages = new[] { LastBlock(2), LastBlock(3) };
        var stages = Stages.Select(backbone.Layer).ToList();
        var m = backbone.TrunkFor(stages);
        m.Graph.Output.Clear();
        var b = new GraphBuilder(m);
        _outputs = new List<string>();
        foreach (var s in stages) { var g = b.Identity(StyleLosses.Gram(b, s.Tensor), $"gram_{s.Name}"); b.AddOutput(g); _outputs.Add(g); }
        foreach (var c in ContentStages) { var f = b.Identity(backbone.Layer(c).Tensor, $"features_{c}"); b.AddOutput(f); _outputs.Add(f); }
        _session = new OnnxSession(m, settings);
    }

    /// <summary>The analysis size for an image of <paramref name="width"/>×<paramref name="height"/>: each side rounded to a multiple of 32.</summary>
    public static (int Width, int Height) AnalysisSize(int width, int height) =>
        (Math.Max(32, (int)Math.Round(width / 32.0) * 32), Math.Max(32, (int)Math.Round(height / 32.0) * 32));

    Dictionary<string, FloatTensor> Features(ImageTensor img, int w, int h)
    {
        var r = img.Width == w && img.Height == h ? img : ImageIO.Resize(img, w, h);
        return _session.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = new(r.Data, new long[] { 1, 3, h, w }) }, _outputs);
    }

    /// <summary>Measures <paramref name="output"/>, made from <paramref name="content"/> in the style of <paramref name="style"/>.</summary>
    public StyleQualityReport Measure(ImageTensor output, ImageTensor content, ImageTensor style)
    {
        var (w, h) = AnalysisSize(output.Width, output.Height);
        var fo = Features(output, w, h);
        var fc = Features(content, w, h);
        var fs = Features(style, w, h);
        var ratios = new double[Stages.Count];
        double outRel = 0, contentRel = 0;
        for (int i = 0; i < Stages.Count; i++)
        {
            var key = _outputs[i];
            double dOut = SquaredDistance(fo[key].Data, fs[key].Data), dContent = SquaredDistance(fc[key].Data, fs[key].Data);
            double norm = SquaredNorm(fs[key].Data);
            ratios[i] = dContent > 0 ? dOut / dContent : dOut > 0 ? double.PositiveInfinity : 0;
            outRel += dOut / norm; contentRel += dContent / norm;
        }
        double overall = contentRel > 0 ? outRel / contentRel : outRel > 0 ? double.PositiveInfinity : 0;
        double cOut = 0, cStyle = 0;
        for (int i = Stages.Count; i < _outputs.Count; i++)
        {
            var key = _outputs[i];
            double norm = SquaredNorm(fc[key].Data);
            cOut += SquaredDistance(fo[key].Data, fc[key].Data) / norm;
            cStyle += SquaredDistance(fs[key].Data, fc[key].Data) / norm;
        }
        double contentRatio = cStyle > 0 ? cOut / cStyle : cOut > 0 ? double.PositiveInfinity : 0;
        return new StyleQualityReport(ratios, overall, contentRatio, GridPeak(output), StripePeak(output));
    }

    static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; s += d * d; }
        return s;
    }

    static double SquaredNorm(ReadOnlySpan<float> a)
    {
        double s = 0;
        foreach (var v in a) s += (double)v * v;
        return s;
    }

    /// <summary>
    /// The grid measure of <paramref name="image"/> at its own resolution: on the luminance Y = 0.299R + 0.587G + 0.114B, for rows
    /// and for columns, the power |DFT_k|² of each mean-removed line averaged over lines; for each period p of
    /// <see cref="GridPeriods"/>, k₀ = round(len/p), peak = the largest power at k₀ − 1 … k₀ + 1, background = the median power
    /// at the frequencies 3–12 % of the band (len/2) away from k₀ on both sides, within 1 … len/2. Returns the largest
    /// peak/background over both axes and both periods: about 1–1.3 for photos and paintings, 3–10 for a stride grid plain at 4× zoom.
    /// </summary>
    public static double GridPeak(ImageTensor image)
    {
        int w = image.Width, h = image.Height;
        var y = Luminance(image);
        double best = 0;
        foreach (bool rows in new[] { true, false })
        {
            int len = rows ? w : h, lines = rows ? h : w;
            if (len < 8) continue;
            foreach (var p in GridPeriods)
            {
                int band = len / 2, k0 = (int)Math.Round(len / (double)p);
                int dMin = Math.Max(2, (int)Math.Round(0.03 * band)), dMax = Math.Max(dMin, (int)Math.Round(0.12 * band));
                var peakKs = Enumerable.Range(k0 - 1, 3).Where(k => k >= 1 && k <= band).ToArray();
                var bgKs = Enumerable.Range(dMin, dMax - dMin + 1).SelectMany(d => new[] { k0 - d, k0 + d }).Where(k => k >= 1 && k <= band).ToArray();
                if (bgKs.Length == 0 || peakKs.Length == 0) continue;
                var ks = peakKs.Concat(bgKs).Distinct().ToArray();
                var power = LinePower(y, w, h, rows, ks);
                double peak = peakKs.Max(k => power[Array.IndexOf(ks, k)]);
                var bg = bgKs.Select(k => power[Array.IndexOf(ks, k)]).OrderBy(v => v).ToArray();
                double median = MedianOfSorted(bg);
                if (median > 0) best = Math.Max(best, peak / median);
            }
        }
        return best;
    }

    /// <summary>Side of the tiles whose power spectra <see cref="StripePeak"/> averages (Welch's method), in pixels.</summary>
    public const int StripeTile = 32;

    /// <summary>The periods, in pixels, of the band <see cref="StripePeak"/> searches: 2 … 5 (radial frequency 1/5 … 1/2 cycle per pixel).</summary>
    public const double StripeMinPeriod = 2, StripeMaxPeriod = 5;

    /// <summary>
    /// The stripe measure of <paramref name="image"/> at its own resolution: fine periodic patterns in oblique directions —
    /// diagonal hatching included — in the luminance or the colour. The power spectra of Y = 0.299R + 0.587G + 0.114B and of
    /// the two chroma channels B − Y and R − Y are averaged over <see cref="StripeTile"/>² tiles overlapping by half (mean
    /// removed, 2-D Hann window; Welch's method, so a frequency bin varies by a few percent rather than by 100 % as in one
    /// periodogram), summed over the three channels and multiplied by the squared radial frequency (which flattens the 1/f²
    /// fall of natural images). The background of a bin is the median of its ring (the bins at the same rounded radius, in
    /// every direction). Returns the largest bin / background over the bins whose period is 2 … 5 pixels
    /// (<see cref="StripeMinPeriod"/> … <see cref="StripeMaxPeriod"/>), leaving out the bins within one of the axes: rows and
    /// columns carry the edges of buildings and the 8- and 16-pixel blocks of JPEG files in photos, and <see cref="GridPeak"/>
    /// measures those directions. Photos, paintings and <c>stylize</c> results measure 1.5–5, a styliser's diagonal colour
    /// hatching hundreds (docs/fast-style.md). A ring's median counts as at least 10⁻⁶ of the mean power of all bins, so an
    /// image with no fine detail at all (a noise-free gradient) measures near 0.
    /// </summary>
    public static double StripePeak(ImageTensor image)
    {
        int w = image.Width, h = image.Height, t = StripeTile;
        if (w < t || h < t) return 0;
        var r = image.Channel(0); var bl = image.Channel(2);
        var y = Luminance(image);
        var channels = new[] { y, new double[w * h], new double[w * h] };
        for (int i = 0; i < w * h; i++) { channels[1][i] = bl[i] - y[i]; channels[2][i] = r[i] - y[i]; }
        // The bins of the band, by ring (rounded radius); radius = frequency × tile side.
        var ringOf = new int[t * t];
        var flatten = new double[t * t];
        double rMin = t / StripeMaxPeriod, rMax = t / StripeMinPeriod;
        for (int v = 0; v < t; v++)
            for (int u = 0; u < t; u++)
            {
                int fu = u <= t / 2 ? u : u - t, fv = v <= t / 2 ? v : v - t;
                double rad = Math.Sqrt(fu * fu + fv * fv);
                bool axis = Math.Abs(fu) <= 1 || Math.Abs(fv) <= 1;
                ringOf[v * t + u] = rad >= rMin && rad <= rMax && !axis ? (int)Math.Round(rad) : -1;
                flatten[v * t + u] = rad * rad;
            }
        var rings = ringOf.Where(k => k >= 0).Distinct().ToArray();
        var power = new double[t * t];
        foreach (var ch in channels)
        {
            var p = WelchPower(ch, w, h, t);
            for (int i = 0; i < power.Length; i++) power[i] += p[i] * flatten[i];
        }
        // A ring with (next to) no power — a noise-free gradient's, where only rounding errors remain — has no peak to speak of.
        double floor = 1e-6 * power.Average();
        double best = 0;
        foreach (var ring in rings)
        {
            var bins = Enumerable.Range(0, t * t).Where(i => ringOf[i] == ring).ToArray();
            var sorted = bins.Select(i => power[i]).OrderBy(p => p).ToArray();
            double median = MedianOfSorted(sorted);
            best = Math.Max(best, sorted[^1] / Math.Max(median, floor));
        }
        return best;
    }

    /// <summary>
    /// The power spectrum of <paramref name="x"/> (<paramref name="w"/>×<paramref name="h"/>) averaged over
    /// <paramref name="t"/>² tiles at a stride of t/2 (the last row and column of tiles end at the image's edges), each
    /// mean-removed and Hann-windowed: <c>[v·t + u]</c> for the frequencies u/t, v/t.
    /// </summary>
    static double[] WelchPower(double[] x, int w, int h, int t)
    {
        static int[] Origins(int len, int t)
        {
            var o = new List<int>();
            for (int p = 0; p + t <= len; p += t / 2) o.Add(p);
            if (o[^1] + t < len) o.Add(len - t);
            return o.ToArray();
        }
        var hann = new double[t];
        for (int i = 0; i < t; i++) hann[i] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * (i + 0.5) / t);
        var cos = new double[t * t];
        var sin = new double[t * t];
        for (int k = 0; k < t; k++)
            for (int n = 0; n < t; n++) { double a = 2 * Math.PI * k * n / t; cos[k * t + n] = Math.Cos(a); sin[k * t + n] = Math.Sin(a); }
        var power = new double[t * t];
        var tile = new double[t * t];
        var re = new double[t * t];
        var im = new double[t * t];
        int tiles = 0;
        foreach (var oy in Origins(h, t))
            foreach (var ox in Origins(w, t))
            {
                double mean = 0;
                for (int y = 0; y < t; y++)
                    for (int xx = 0; xx < t; xx++) mean += tile[y * t + xx] = x[(oy + y) * w + ox + xx];
                mean /= t * t;
                for (int y = 0; y < t; y++)
                    for (int xx = 0; xx < t; xx++) tile[y * t + xx] = (tile[y * t + xx] - mean) * hann[y] * hann[xx];
                // Rows: DFT along x (real input) → re/im [y, u]; then columns: DFT along y → [v, u].
                for (int y = 0; y < t; y++)
                    for (int u = 0; u < t; u++)
                    {
                        double sr = 0, si = 0;
                        for (int n = 0; n < t; n++) { double vx = tile[y * t + n]; sr += vx * cos[u * t + n]; si -= vx * sin[u * t + n]; }
                        re[y * t + u] = sr; im[y * t + u] = si;
                    }
                for (int v = 0; v < t; v++)
                    for (int u = 0; u < t; u++)
                    {
                        double sr = 0, si = 0;
                        for (int n = 0; n < t; n++)
                        {
                            double c = cos[v * t + n], s = sin[v * t + n], a = re[n * t + u], b = im[n * t + u];
                            sr += a * c + b * s; si += b * c - a * s;
                        }
                        power[v * t + u] += sr * sr + si * si;
                    }
                tiles++;
            }
        for (int i = 0; i < power.Length; i++) power[i] /= tiles;
        return power;
    }

    /// <summary>The luminance Y = 0.299R + 0.587G + 0.114B of every pixel, row-major: the channel both peak measures look at.</summary>
    static double[] Luminance(ImageTensor image)
    {
        var r = image.Channel(0); var g = image.Channel(1); var bl = image.Channel(2);
        var y = new double[image.Width * image.Height];
        for (int i = 0; i < y.Length; i++) y[i] = 0.299 * r[i] + 0.587 * g[i] + 0.114 * bl[i];
        return y;
    }

    /// <summary>The median of an ascending array (the mean of the middle two for an even length).</summary>
    static double MedianOfSorted(double[] a) => a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);

    /// <summary>Mean over lines (rows or columns) of |DFT_k|² of each mean-removed line, at the frequencies <paramref name="ks"/>.</summary>
    static double[] LinePower(double[] y, int w, int h, bool rows, int[] ks)
    {
        int len = rows ? w : h, lines = rows ? h : w;
        var cos = new double[ks.Length, len];
        var sin = new double[ks.Length, len];
        for (int j = 0; j < ks.Length; j++)
            for (int n = 0; n < len; n++)
            {
                double a = 2 * Math.PI * ks[j] * n / len;
                cos[j, n] = Math.Cos(a); sin[j, n] = Math.Sin(a);
            }
        var power = new double[ks.Length];
        var line = new double[len];
        for (int l = 0; l < lines; l++)
        {
            double mean = 0;
            for (int n = 0; n < len; n++) { line[n] = rows ? y[l * w + n] : y[n * w + l]; mean += line[n]; }
            mean /= len;
            for (int n = 0; n < len; n++) line[n] -= mean;
            for (int j = 0; j < ks.Length; j++)
            {
                double re = 0, im = 0;
                for (int n = 0; n < len; n++) { re += line[n] * cos[j, n]; im -= line[n] * sin[j, n]; }
                power[j] += re * re + im * im;
            }
        }
        for (int j = 0; j < ks.Length; j++) power[j] /= lines;
        return power;
    }

    /// <summary>
    /// A contact sheet of the pairs measured: <paramref name="cells"/> in reading order (e.g. content, style and the results of
    /// each pair), <paramref name="columns"/> per row, each scaled to a long side of <paramref name="cellLongSide"/> pixels.
    /// </summary>
    public static ImageTensor Sheet(IReadOnlyList<ImageTensor> cells, int columns, int cellLongSide) =>
        ImageGrid.Compose(cells, columns, cellLongSide, padding: 4);

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
