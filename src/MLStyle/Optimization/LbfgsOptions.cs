#nullable enable
namespace MLStyle.Optimization;

/// <summary>Line-search strategy used by <see cref="LbfgsOptimizer"/>.</summary>
public enum LineSearch
{
    /// <summary>
    /// No line search: fixed step <see cref="LbfgsOptions.LearningRate"/> along the L-BFGS direction (the first
    /// iteration uses <c>min(1, 1/‖g‖₁)·lr</c>). Exactly one objective evaluation per step. This is the default of
    /// <c>torch.optim.LBFGS</c> and of neural-style.
    /// </summary>
    None,

    /// <summary>
    /// Strong Wolfe line search with cubic interpolation (c1 = 1e-4, c2 = 0.9, at most 25 evaluations per step), a
    /// port of PyTorch's <c>_strong_wolfe</c>. Usually one or two evaluations per step, more when the curvature
    /// model is poor.
    /// </summary>
    StrongWolfe,
}

/// <summary>Settings of <see cref="LbfgsOptimizer"/>. Defaults follow <c>torch.optim.LBFGS</c> as used by neural-style.</summary>
public sealed record LbfgsOptions
{
    /// <summary>
    /// Number of (s, y) correction pairs kept (default 100, as neural-style uses). Memory is
    /// <c>2 · HistorySize · n · 4</c> bytes; it can be reduced at runtime with <see cref="LbfgsOptimizer.ShrinkHistory"/>.
    /// </summary>
    public int HistorySize { get; init; } = 100;

    /// <summary>
    /// Storage of the correction pairs (default <see cref="Optimization.HistoryPrecision.Single"/>, exact;
    /// <see cref="Optimization.HistoryPrecision.Half"/> halves the history's memory).
    /// </summary>
    public HistoryPrecision HistoryPrecision { get; init; } = HistoryPrecision.Single;

    /// <summary>Step length multiplier (default 1, as in PyTorch and neural-style).</summary>
    public float LearningRate { get; init; } = 1f;

    /// <summary>
    /// Line search (default <see cref="Optimization.LineSearch.None"/>: one objective evaluation per step, which is
    /// what matters when an evaluation costs hundreds of milliseconds; see the measurements in
    /// <see cref="LbfgsOptimizer"/>'s remarks).
    /// </summary>
    public LineSearch LineSearch { get; init; } = LineSearch.None;

    /// <summary>Convergence when <c>max|g| ≤ GradientTolerance</c> (default 1e-5, PyTorch's <c>tolerance_grad</c>).</summary>
    public float GradientTolerance { get; init; } = 1e-5f;

    /// <summary>
    /// PyTorch's <c>tolerance_change</c> (default 1e-9): convergence when the largest coordinate change of a step, or
    /// the change of the loss between consecutive evaluations, falls below it, or when the directional derivative
    /// is not below <c>-StepTolerance</c> (no descent direction).
    /// </summary>
    public float StepTolerance { get; init; } = 1e-9f;

    internal void Validate()
    {
        if (HistorySize < 1)
            throw new ArgumentOutOfRangeException(nameof(HistorySize), HistorySize, "L-BFGS history size must be at least 1.");
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be a positive finite number.");
        if (!Enum.IsDefined(HistoryPrecision))
            throw new ArgumentOutOfRangeException(nameof(HistoryPrecision), HistoryPrecision, "Unknown history precision.");
        if (!Enum.IsDefined(LineSearch))
            throw new ArgumentOutOfRangeException(nameof(LineSearch), LineSearch, "Unknown line search.");
        if (!(GradientTolerance >= 0f))
            throw new ArgumentOutOfRangeException(nameof(GradientTolerance), GradientTolerance, "Gradient tolerance must be non-negative.");
        if (!(StepTolerance >= 0f))
            throw new ArgumentOutOfRangeException(nameof(StepTolerance), StepTolerance, "Step tolerance must be non-negative.");
    }
}
