using System.Text.RegularExpressions;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Cli;

/// <summary>What <c>--help</c> tells a new user: examples that run, every option, and which options are required.</summary>
public class HelpTests
{
    [Theory]
    [InlineData("stylize")]
    [InlineData("dream")]
    [InlineData("batch", "stylize")]
    [InlineData("batch", "dream")]
    public void HelpExamples_NameOnlyFilesThatExist(params string[] command)
    {
        var r = CliRunner.Run([.. command, "--help"]);
        Assert.Equal(0, r.ExitCode);
        var samples = Regex.Matches(r.Stdout, @"samples/[\w./-]+\.(png|jpg)").Select(m => m.Value).ToList();
        Assert.All(samples, s => Assert.True(File.Exists(TestImages.RepoFile(s)), $"{string.Join(' ', command)} --help names {s}, which does not exist"));
    }

    [Fact]
    public void Stylize_Help_HasAnExampleWithCommittedSamples() =>
        Assert.Contains("samples/style/swirls.png", CliRunner.Run("stylize", "--help").Stdout);

    [Fact]
    public void BenchHelp_ListsTheBenchOptions()
    {
        var r = CliRunner.Run("bench", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var option in new[] { "--sizes", "--layers", "--repeat", "--formulations", "--markdown" })
            Assert.Contains(option, r.Stdout);
        Assert.Contains("batch", r.Stdout); // and still its sub-command
    }

    [Theory]
    [InlineData("stylize", "--content", "--output", "--style")]
    [InlineData("dream", "--input", "--output")]
    [InlineData("grad", "--model", "--of", "--wrt", "--output")]
    public void RequiredOptions_AreMarkedRequired(string command, params string[] required)
    {
        var lines = CliRunner.Run(command, "--help").Stdout.Split('\n');
        foreach (var option in required)
            Assert.Contains(lines, l => Regex.IsMatch(l, $@"{Regex.Escape(option)} <\w+>\s+Required\."));
        Assert.DoesNotContain(lines, l => l.Contains("--size ") && l.Contains("Required."));
    }

    static IReadOnlyList<string> Options(string help) =>
        Regex.Matches(help, @"^\s+(?:-\w, )?(--[\w-]+(?: <\w+>)?)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

    [Fact]
    public void BatchDreamHelp_ListsTheDreamOptionsOfEveryImage_AndNotThoseOfOneImage()
    {
        var dream = Options(CliRunner.Run("dream", "--help").Stdout);
        var batch = Options(CliRunner.Run("batch", "dream", "--help").Stdout);
        string[] oneImage = ["--input <IMAGE>", "--output <IMAGE>", "--frames <N>", "--zoom <F>", "--frames-dir <DIR>", "--dry-run", "--max-memory <SIZE>"];
        Assert.Superset(oneImage.ToHashSet(), dream.ToHashSet());
        Assert.Empty(batch.Intersect(oneImage));
        Assert.Subset(batch.ToHashSet(), dream.Except(oneImage).ToHashSet()); // no option of every image lost
        Assert.Contains("--input <DIR>", batch);
        Assert.Contains("--output <DIR>", batch);
        Assert.Contains("--workers <N>", batch);
    }
}
