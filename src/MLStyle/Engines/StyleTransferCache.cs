using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Engines;

/// <summary>
/// Sessions and style targets kept between the runs of one <see cref="StyleTransferEngine"/> (see
/// <see cref="StyleTransferEngine.Cache"/>): the target-extraction session, the blended Gram matrices of the style images
/// per style size, and the loss + gradient session of the most recent image size (its graph has static shapes, so images
/// of the same size reuse it; a new size replaces it, so memory stays that of one image). Everything is rebuilt when the
/// objective changes. Not thread-safe: one cache per worker.
/// </summary>
internal sealed class StyleTransferCache : IDisposable
{
    string? _specKey;
    StyleObjectiveSpec? _spec;
    SessionSettings? _settings;
    OnnxSession? _targets;
    (int W, int H, string Shapes, OnnxSession Session)? _loss;
    readonly Dictionary<(int Side, string Blend), (IReadOnlyList<ImageTensor> Styles, Dictionary<string, FloatTensor> Grams)> _grams = new();
    bool _disposed;

    /// <summary>Loss sessions built so far (a measure of reuse).</summary>
    public int LossSessionsBuilt { get; private set; }

    /// <summary>Binds the cache to an objective and session settings, dropping everything built for others.</summary>
    internal void Prepare(StyleObjectiveSpec spec, SessionSettings settings)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var key = spec.Key;
        if (key == _specKey && Equals(settings, _settings)) return;
        Clear();
        (_specKey, _spec, _settings) = (key, spec, settings);
    }

    internal OnnxSession TargetSession() => _targets ??= new OnnxSession(StyleObjective.BuildTargetModel(_spec!), _settings);

    internal Dictionary<string, FloatTensor>? StyleTargets(IReadOnlyList<ImageTensor> styles, float[] blend, int side) =>
        _grams.TryGetValue((side, string.Join(",", blend)), out var g) && g.Styles.Count == styles.Count
            && g.Styles.Zip(styles).All(p => ReferenceEquals(p.First, p.Second)) ? g.Grams : null;

    internal void KeepStyleTargets(IReadOnlyList<ImageTensor> styles, float[] blend, int side, Dictionary<string, FloatTensor> grams) =>
        _grams[(side, string.Join(",", blend))] = (styles.ToArray(), grams);

    internal OnnxSession LossSession(int w, int h, IReadOnlyList<long[]> contentShapes)
    {
        var shapes = string.Join(";", contentShapes.Select(s => string.Join("x", s)));
        if (_loss is { } l && l.W == w && l.H == h && l.Shapes == shapes) return l.Session;
        _loss?.Session.Dispose();
        _loss = null;
        var session = new OnnxSession(StyleObjective.BuildLossModel(_spec!, w, h, contentShapes), _settings);
        _loss = (w, h, shapes, session);
        LossSessionsBuilt++;
        return session;
    }

    void Clear()
    {
        _targets?.Dispose();
        _targets = null;
        _loss?.Session.Dispose();
        _loss = null;
        _grams.Clear();
        _specKey = null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        Clear();
        _disposed = true;
    }
}
