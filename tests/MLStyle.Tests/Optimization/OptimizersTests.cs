#nullable enable
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

public class OptimizersTests
{
    [Theory]
    [InlineData("lbfgs", typeof(LbfgsOptimizer))]
    [InlineData(" L-BFGS ", null)]
    [InlineData("LBFGS", typeof(LbfgsOptimizer))]
    [InlineData("Adam", typeof(AdamOptimizer))]
    public void CreatesByName(string name, Type? expected)
    {
        if (expected is null)
        {
            Assert.Throws<ArgumentException>(() => Optimizers.Create(name));
            return;
        }

        Assert.IsType(expected, Optimizers.Create(name));
    }

    [Fact]
    public void PassesSettingsThrough()
    {
        var lbfgs = Assert.IsType<LbfgsOptimizer>(Optimizers.Create("lbfgs", learningRate: 0.5f, historySize: 7, lineSearch: LineSearch.StrongWolfe));
        Assert.Equal(0.5f, lbfgs.Options.LearningRate);
        Assert.Equal(7, lbfgs.HistorySize);
        Assert.Equal(LineSearch.StrongWolfe, lbfgs.Options.LineSearch);

        var adam = Assert.IsType<AdamOptimizer>(Optimizers.Create("adam", learningRate: 3f, historySize: 7));
        Assert.Equal(3f, adam.Options.LearningRate);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("")]
    [InlineData(null)]
    public void RejectsUnknownNamesWithOneLineMessage(string? name)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => Optimizers.Create(name!));
        Assert.Contains("lbfgs", ex.Message);
        Assert.Contains("adam", ex.Message);
        Assert.Contains($"'{name}'", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal("name", ex.ParamName);
    }

    [Fact]
    public void RejectsInvalidSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Create("lbfgs", historySize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Create("adam", learningRate: 0f));
    }
}
