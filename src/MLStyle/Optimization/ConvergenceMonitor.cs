#nullable enable
namespace MLStyle.Optimization;

/// <summary>
/// Early-stopping helper fed with one loss per iteration. Signals convergence when the relative loss change
/// <c>|prev - loss| / max(|prev|, 1e-30)</c> stays below a tolerance for <c>patience</c> consecutive updates, and
/// divergence when a loss is NaN or infinite.
/// </summary>
public sealed class ConvergenceMonitor
{
    private const double Tiny = 1e-30;
    private bool _hasPrevious;

    /// <summary>Creates a monitor.</summary>
    /// <param name="relativeTolerance">Relative change below which an update counts as stalled (≥ 0).</param>
    /// <param name="patience">Number of consecutive stalled updates required (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public ConvergenceMonitor(double relativeTolerance, int patience = 1)
    {
        if (!(relativeTolerance >= 0) || double.IsInfinity(relativeTolerance))
            throw new ArgumentOutOfRangeException(nameof(relativeTolerance), relativeTolerance, "Relative tolerance must be a non-negative finite number.");
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        RelativeTolerance = relativeTolerance;
        Patience = patience;
    }

    /// <summary>The relative-change tolerance.</summary>
    public double RelativeTolerance { get; }

    /// <summary>Consecutive stalled updates required for convergence.</summary>
    public int Patience { get; }

    /// <summary>Number of <see cref="Update"/> calls since construction or <see cref="Reset"/>.</summary>
    public int Updates { get; private set; }

    /// <summary>Current number of consecutive updates whose relative change was below the tolerance.</summary>
    public int StalledSteps { get; private set; }

    /// <summary>The most recent finite loss passed to <see cref="Update"/>, or NaN if none.</summary>
    public float LastLoss { get; private set; } = float.NaN;

    /// <summary>True when the last <see cref="StalledSteps"/> count reached <see cref="Patience"/>.</summary>
    public bool Converged { get; private set; }

    /// <summary>True once a NaN or infinite loss has been seen (stays true until <see cref="Reset"/>).</summary>
    public bool Diverged { get; private set; }

    /// <summary>
    /// Records the loss of one iteration.
    /// </summary>
    /// <param name="loss">The loss.</param>
    /// <returns>
    /// True when the run should stop: converged (relative change below tolerance for <see cref="Patience"/>
    /// consecutive updates) or diverged (check <see cref="Diverged"/> to tell which).
    /// </returns>
    public bool Update(float loss)
    {
        Updates++;
        if (!float.IsFinite(loss))
        {
            Diverged = true;
            Converged = false;
            return true;
        }

        if (Diverged)
            return true;

        if (_hasPrevious)
        {
            double previous = LastLoss;
            double change = Math.Abs(previous - loss) / Math.Max(Math.Abs(previous), Tiny);
            StalledSteps = change < RelativeTolerance ? StalledSteps + 1 : 0;
        }

        LastLoss = loss;
        _hasPrevious = true;
        Converged = StalledSteps >= Patience;
        return Converged;
    }

    /// <summary>Clears all state.</summary>
    public void Reset()
    {
        _hasPrevious = false;
        Updates = 0;
        StalledSteps = 0;
        LastLoss = float.NaN;
        Converged = false;
        Diverged = false;
    }
}
