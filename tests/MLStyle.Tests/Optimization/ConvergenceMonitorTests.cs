#nullable enable
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

public class ConvergenceMonitorTests
{
    [Fact]
    public void StopsAfterPatienceConsecutiveSmallChanges()
    {
        var monitor = new ConvergenceMonitor(relativeTolerance: 1e-3, patience: 3);
        // Relative changes: -, 0.5, 1e-4 (stall 1), 1e-4 (2), 0.01 (reset), 1e-4 (1), 1e-4 (2), 1e-4 (3 → stop)
        float[] losses = [100f, 50f, 49.995f, 49.990f, 49.49f, 49.485f, 49.48f, 49.475f, 49.47f];
        int stopAt = -1;
        for (int i = 0; i < losses.Length; i++)
        {
            if (monitor.Update(losses[i]))
            {
                stopAt = i;
                break;
            }
        }

        Assert.Equal(7, stopAt);
        Assert.True(monitor.Converged);
        Assert.False(monitor.Diverged);
        Assert.Equal(3, monitor.StalledSteps);
        Assert.Equal(8, monitor.Updates);
    }

    [Fact]
    public void LargeChangeResetsTheCount()
    {
        var monitor = new ConvergenceMonitor(1e-2, patience: 2);
        Assert.False(monitor.Update(10f));
        Assert.False(monitor.Update(10f));  // stall 1
        Assert.False(monitor.Update(5f));   // reset
        Assert.False(monitor.Update(5f));   // stall 1
        Assert.True(monitor.Update(5f));    // stall 2
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteLossFlagsDivergence(float bad)
    {
        var monitor = new ConvergenceMonitor(1e-6, patience: 5);
        Assert.False(monitor.Update(3f));
        Assert.False(monitor.Diverged);
        Assert.True(monitor.Update(bad));
        Assert.True(monitor.Diverged);
        Assert.False(monitor.Converged);
        Assert.True(monitor.Update(2f)); // divergence is sticky
        Assert.Equal(3f, monitor.LastLoss);

        monitor.Reset();
        Assert.False(monitor.Diverged);
        Assert.False(monitor.Update(2f));
    }

    [Fact]
    public void ZeroLossDoesNotDivideByZero()
    {
        var monitor = new ConvergenceMonitor(1e-6, patience: 1);
        Assert.False(monitor.Update(0f));
        Assert.True(monitor.Update(0f));
        Assert.False(monitor.Diverged);
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvergenceMonitor(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvergenceMonitor(double.NaN, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvergenceMonitor(1e-3, 0));
    }
}
