using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;

namespace MLStyle.Cli.Commands;

/// <summary>
/// The DeepDream options that apply to every image (objective, octaves, steps, jitter, tiles, guide, size), shared by
/// <c>mlstyle dream</c> (which adds its input and output images, zoom frames and the pre-flight options) and
/// <c>mlstyle batch dream</c> (which adds the batch options).
/// </summary>
public class DreamSettings : BackboneSettings
{
    [CommandOption("--size <PIXELS>")]
    [Description("Resize the input so its long side is this many pixels first (default: keep its size).")]
    public int? Size { get; init; }

    [CommandOption("--layers <LAYERS>")]
    [Description("Layers to excite with optional weights, e.g. layer3.0,layer3.1:0.5 (default for resnet18: layer3.0,layer3.1).")]
    public string? Layers { get; init; }

    [CommandOption("--channels <LIST>")]
    [Description("Only these channels of every layer, e.g. 12,40 (default: all).")]
    public string? Channels { get; init; }

    [CommandOption("--objective <NAME>")]
    [Description("mean (default) or l2 (mean of squares) of the activations.")]
    public string? Objective { get; init; }

    [CommandOption("--octaves <N>")]
    [Description("Number of octaves (default 4).")]
    public int Octaves { get; init; } = 4;

    [CommandOption("--octave-scale <F>")]
    [Description("Size ratio between octaves (default 1.4).")]
    public string OctaveScale { get; init; } = "1.4";

    [CommandOption("--iterations <N>")]
    [Description("Gradient-ascent steps per octave (default 10).")]
    public int Iterations { get; init; } = 10;

    [CommandOption("--step <F>")]
    [Description("Step size on 0-255 pixels, divided by the mean |gradient| (default 1.5).")]
    public string Step { get; init; } = "1.5";

    [CommandOption("--jitter <PIXELS>")]
    [Description("Random roll of up to this many pixels per step (default 32).")]
    public int Jitter { get; init; } = 32;

    [CommandOption("--tile <PIXELS>")]
    [Description("Compute the gradient in tiles of this size, e.g. 512, for big images (default 0: whole image).")]
    public int Tile { get; init; }

    [CommandOption("--tile-overlap <PIXELS>")]
    [Description("Minimum overlap of neighbouring tiles (default 64).")]
    public int TileOverlap { get; init; } = 64;

    [CommandOption("--guide <IMAGE>")]
    [Description("Guided dream: maximise the match with this image's features.")]
    public string? Guide { get; init; }

    [CommandOption("--guide-size <PIXELS>")]
    [Description("The guide's long side before its features are taken (default 224; 0 keeps its size).")]
    public int GuideSize { get; init; } = 224;

    /// <summary>The engine options these settings describe (the guide image is loaded by the caller).</summary>
    public virtual DeepDreamOptions Options(ImageTensor? guide) => new()
    {
        Layers = Layers is null ? null : WeightedLayer.ParseList(Layers),
        Channels = Channels is null ? null : Ints(Channels, "--channels"),
        Objective = Objective?.ToLowerInvariant() switch
        {
            null or "mean" => DreamReduction.Mean,
            "l2" => DreamReduction.L2,
            _ => throw new MLStyleException($"invalid --objective '{Objective}': use mean or l2"),
        },
        Octaves = Octaves,
        OctaveScale = Number(OctaveScale, "--octave-scale"),
        IterationsPerOctave = Iterations,
        StepSize = Number(Step, "--step"),
        Jitter = Jitter,
        Tile = Tile,
        TileOverlap = TileOverlap,
        Guide = guide,
        GuideSize = GuideSize,
        Size = Size,
        Seed = Seed,
    };

    /// <summary>Checks every option and their combinations before any file is read; throws <see cref="MLStyleException"/>.</summary>
    public void CheckOptions()
    {
        if (Guide is not null && Objective is not null)
            throw new MLStyleException("--objective does not apply to guided dreams (--guide uses the guide-matching objective)");
        Options(null).Validate();
    }

    /// <summary>Parses a number given to <paramref name="option"/>.</summary>
    protected static float Number(string s, string option) => Float(s, option)!.Value;
}
