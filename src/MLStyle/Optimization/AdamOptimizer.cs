#nullable enable
using System.Numerics.Tensors;

namespace MLStyle.Optimization;

/// <summary>Settings of <see cref="AdamOptimizer"/>.</summary>
public sealed record AdamOptions
{
    /// <summary>
    /// Step size (default 1.0). Adam's per-coordinate step is roughly <c>LearningRate</c> regardless of the gradient
    /// scale, so 1.0 moves each pixel by about one intensity level per iteration when pixels are in the 0–255 range.
    /// Use a proportionally smaller value (≈ 1/255) for images scaled to 0–1.
    /// </summary>
    public float LearningRate { get; init; } = 1f;

    /// <summary>Decay rate of the first-moment (mean) estimate (default 0.9).</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Decay rate of the second-moment (uncentred variance) estimate (default 0.999).</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Added to the bias-corrected RMS before dividing (default 1e-8).</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>The update rule these settings define.</summary>
    public AdamRule Rule => new(LearningRate, Beta1, Beta2, Epsilon);

    /// <summary>Convergence when <c>max|g| ≤ GradientTolerance</c> (default 1e-5, same as L-BFGS); the step then leaves x unchanged.</summary>
    public float GradientTolerance { get; init; } = 1e-5f;

    internal void Validate()
    {
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be a positive finite number.");
        if (!(Beta1 >= 0f && Beta1 < 1f))
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Beta1 must be in [0, 1).");
        if (!(Beta2 >= 0f && Beta2 < 1f))
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Beta2 must be in [0, 1).");
        if (!(Epsilon >= 0f) || !float.IsFinite(Epsilon))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "Epsilon must be a non-negative finite number.");
        if (!(GradientTolerance >= 0f))
            throw new ArgumentOutOfRangeException(nameof(GradientTolerance), GradientTolerance, "Gradient tolerance must be non-negative.");
    }
}

/// <summary>
/// Adam with bias correction, following <c>torch.optim.Adam</c> (no weight decay, no AMSGrad); the update is
/// <see cref="AdamRule"/>: <c>m ← β₁m + (1-β₁)g</c>, <c>v ← β₂v + (1-β₂)g²</c>,
/// <c>x ← x - (lr/(1-β₁ᵗ)) · m / (√v/√(1-β₂ᵗ) + ε)</c>.
/// </summary>
/// <remarks>
/// Each <see cref="Step"/> makes exactly one objective call, at the incoming <c>x</c>, and
/// <see cref="StepResult.Loss"/> is the loss there (before the update). Buffers: gradient, m and v (3·n floats),
/// allocated at the first step. If the loss or gradient is NaN/∞ the step leaves <c>x</c> and the moments untouched.
/// </remarks>
public sealed class AdamOptimizer : Optimizer
{
    private readonly AdamOptions _options;
    private int _n = -1;
    private float[]? _m;
    private float[]? _v;
    private float[]? _g;
    private int _t;
    private bool _started;
    private bool _hasCache;
    private float _cachedLoss;

    /// <summary>Creates an Adam optimiser.</summary>
    /// <param name="options">Settings; <c>null</c> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public AdamOptimizer(AdamOptions? options = null)
    {
        _options = options ?? new AdamOptions();
        _options.Validate();
    }

    /// <summary>The settings this optimiser was created with.</summary>
    public AdamOptions Options => _options;

    /// <inheritdoc />
    /// <remarks>One Adam update with one objective call; the returned loss is the loss at the incoming x (before the update).</remarks>
    public override StepResult Step(Span<float> x, Objective objective)
    {
        float loss = BeginStep(x, objective, ref _started, _n, n => { EnsureBuffers(n); return _g!; }, ref _hasCache, _cachedLoss, out int evals);

        float[] g = _g!, m = _m!, v = _v!;
        if (Stationary(loss, g, _options.GradientTolerance, evals) is { } stop)
        {
            if (stop.Converged) (_hasCache, _cachedLoss) = (true, loss); // x is unchanged, so the evaluation stays valid
            return stop;
        }
        float gradNorm = TensorPrimitives.Norm(g);

        _t++;
        _options.Rule.Update(x, g, m, v, _t);

        Iteration++;
        return new StepResult(loss, gradNorm, evals, false);
    }

    /// <inheritdoc />
    public override void Reset()
    {
        _started = false;
        _t = 0;
        _hasCache = false;
        ResetCounters();
        if (_m is not null)
        {
            Array.Clear(_m);
            Array.Clear(_v!);
        }
    }

    /// <inheritdoc />
    public override long EstimateMemoryBytes(int parameterCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        const long arrayOverhead = 32;
        return 3 * ((long)parameterCount * sizeof(float) + arrayOverhead);
    }

    private void EnsureBuffers(int n)
    {
        if (n == _n && _m is not null)
            return;

        _m = _v = _g = null;
        _n = -1;
        _m = new float[n]; // moments start at zero
        _v = new float[n];
        _g = AllocateBuffer(n);
        _n = n;
    }
}
