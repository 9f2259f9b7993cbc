using MLStyle.Imaging;
using MLStyle.Tests.Support;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary>Runs the real <c>mlstyle</c> executable (built beside the tests).</summary>
public class DreamCommandTests
{
    static (int Exit, string Out, string Err) Mlstyle(params string[] args)
    {
        var r = MLStyle.Tests.Cli.CliRunner.RunProcess(args);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    static readonly string Chelsea = TestImages.RepoFile("samples/content/chelsea.png");

    static void AssertBadInput((int Exit, string Out, string Err) r, params string[] mentions)
    {
        Assert.True(r.Exit == 2, $"exit {r.Exit}; stderr: {r.Err}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("error:"));
        var error = lines.Single(l => l.StartsWith("error:"));
        foreach (var m in mentions) Assert.Contains(m, error);
    }

    [Fact]
    public void UnknownLayer_Exit2_NamingTheLayer()
    {
        using var dir = new TempDir();
        AssertBadInput(Mlstyle("dream", "--input", Chelsea, "--output", dir.File("o.png"), "--layers", "layer3.0,layer9.9"), "layer9.9");
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData("--octave-scale", "abc", "--octave-scale")]
    [InlineData("--octave-scale", "1", "octave scale")]
    [InlineData("--step", "-1", "step size")]
    [InlineData("--octaves", "0", "octaves")]
    [InlineData("--zoom", "0.7", "zoom")]
    [InlineData("--channels", "1,x", "--channels")]
    [InlineData("--objective", "max", "--objective")]
    [InlineData("--tile", "16", "tile")]
    [InlineData("--iterations", "many", "many")]
    public void BadNumbers_Exit2_WithOneLine(string option, string value, string mention)
    {
        using var dir = new TempDir();
        AssertBadInput(Mlstyle("dream", "--input", Chelsea, "--output", dir.File("o.png"), option, value), mention);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void ChannelOutOfRange_Exit2_NamingChannelAndLayer()
    {
        using var dir = new TempDir();
        var model = TinyNet.Save(dir.Path);
        AssertBadInput(Mlstyle("dream", "--model", model, "--input", Chelsea, "--output", dir.File("o.png"), "--layers", "r1,r2", "--channels", "2,5"),
            "channel 5", "'r2'", "5 channels");
    }

    [Fact]
    public void MissingInput_Exit2()
    {
        using var dir = new TempDir();
        AssertBadInput(Mlstyle("dream", "--input", dir.File("nope.png"), "--output", dir.File("o.png")), "nope.png");
        AssertBadInput(Mlstyle("dream", "--output", dir.File("o.png")), "--input");
    }

    [Fact]
    public void ObjectiveWithGuide_Exit2()
    {
        using var dir = new TempDir();
        AssertBadInput(Mlstyle("dream", "--input", Chelsea, "--output", dir.File("o.png"), "--guide", Chelsea, "--objective", "l2"), "--objective");
    }

    [Fact]
    public void SameSeed_SameOutput_OnTheEmbeddedResNet18_WithFrames_AndNoTemporaryFiles()
    {
        using var dir = new TempDir();
        string[] Args(string o, int seed) => new[] { "dream", "--input", Chelsea, "--output", dir.File(o), "--size", "64", "--octaves", "1",
            "--iterations", "2", "--seed", seed.ToString(), "--threads", "2", "--frames", "2", "--frames-dir", dir.File(o + "-frames") };
        var a = Mlstyle(Args("a.png", 7));
        Assert.True(a.Exit == 0, a.Err);
        Assert.Contains("wrote", a.Out);
        var b = Mlstyle(Args("b.png", 7));
        Assert.True(b.Exit == 0, b.Err);
        Assert.Equal(File.ReadAllBytes(dir.File("a.png")), File.ReadAllBytes(dir.File("b.png")));
        Assert.Equal(File.ReadAllBytes(dir.File("a.png")), File.ReadAllBytes(Path.Combine(dir.File("a.png-frames"), "frame_0002.png")));
        Assert.Equal(new[] { "frame_0001.png", "frame_0002.png" }, Directory.GetFiles(dir.File("b.png-frames")).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFiles(dir.Path, ".*")); // no temporary files left
        var img = ImageIO.Load(dir.File("a.png"));
        Assert.Equal((64, 43), (img.Width, img.Height));
    }

    [Fact]
    public void TinyModel_Tiled_Guided_Channels_EndToEnd()
    {
        using var dir = new TempDir();
        var model = TinyNet.Save(dir.Path);
        var input = dir.File("in.png");
        ImageIO.Save(TinyNet.Picture(80, 60), input);
        var r = Mlstyle("dream", "--model", model, "--input", input, "--output", dir.File("o.png"), "--layers", "r2", "--channels", "0,2",
            "--octaves", "2", "--iterations", "2", "--tile", "32", "--tile-overlap", "8", "--guide", input, "--guide-size", "40");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("octave 2/2", r.Err);
        Assert.Contains("objective", r.Err);
        Assert.True(File.Exists(dir.File("o.png")));
    }

    [Fact]
    public void DryRun_PrintsTheEstimate_AndWritesNothing()
    {
        using var dir = new TempDir();
        var r = MLStyle.Tests.Cli.CliRunner.Run("dream", "--input", Chelsea, "--output", dir.File("o.png"), "--size", "1024", "--dry-run", "--max-memory", "64GiB");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(@"estimate: 1024x\d+, gradient ascent: peak memory ~[0-9.]+ [MG]iB .*memory limit 64\.00 GiB", r.Stdout);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void MaxMemory_BelowTheEstimate_Exit5_SuggestingTiles()
    {
        using var dir = new TempDir();
        var r = MLStyle.Tests.Cli.CliRunner.Run("dream", "--input", Chelsea, "--output", dir.File("o.png"), "--size", "2048", "--max-memory", "600MiB");
        r.AssertOneError(5, "--tile");
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
