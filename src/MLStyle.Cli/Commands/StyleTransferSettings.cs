using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;

namespace MLStyle.Cli.Commands;

/// <summary>
/// The style-transfer options: the objective's (<see cref="ObjectiveSettings"/>) and the optimisation's, shared by
/// <c>mlstyle stylize</c>, <c>mlstyle batch stylize</c> and <c>mlstyle bench quality</c>.
/// </summary>
public class StyleTransferSettings : ObjectiveSettings
{
    [CommandOption("-s|--style <IMAGES>")]
    [Description("Required. Style image(s), comma-separated.")]
    public string Style { get; init; } = "";

    [CommandOption("--size <PIXELS>")]
    [Description("Long side of the output (default 512).")]
    public int Size { get; init; } = 512;

    [CommandOption("--iterations <N>")]
    [Description("Iterations per scale (default 300).")]
    public int Iterations { get; init; } = 300;

    [CommandOption("--optimizer <NAME>")]
    [Description("lbfgs (default) or adam.")]
    public string Optimizer { get; init; } = "lbfgs";

    [CommandOption("--learning-rate <LR>")]
    [Description("Step size (default 1 for lbfgs, 2 for adam on 0-255 pixels).")]
    public string? LearningRate { get; init; }

    [CommandOption("--history <N>")]
    [Description("L-BFGS history pairs (default 25).")]
    public int History { get; init; } = 25;

    [CommandOption("--history-precision <P>")]
    [Description("Storage of the L-BFGS pairs: single (default, float32) or half (float16 with a scale per vector: half the memory; may leave a faint grid).")]
    public string HistoryPrecision { get; init; } = "single";

    [CommandOption("--line-search <MODE>")]
    [Description("L-BFGS line search: none (default, one evaluation per iteration) or strong-wolfe.")]
    public string LineSearch { get; init; } = "none";

    [CommandOption("--style-blend <WEIGHTS>")]
    [Description("Blend weights of the style images, e.g. 0.7,0.3 (default equal).")]
    public string? StyleBlend { get; init; }

    [CommandOption("--style-scale <F>")]
    [Description("Style images are resized to F times the output size (default 1).")]
    public string StyleScale { get; init; } = "1";

    [CommandOption("--init <INIT>")]
    [Description("content (default), random, or an image path.")]
    public string Init { get; init; } = "content";

    [CommandOption("--preserve-colors")]
    [Description("Keep the content's colours (luminance-only transfer).")]
    public bool PreserveColors { get; init; }

    [CommandOption("--scales <SIZES>")]
    [Description("Coarse-to-fine long sides, e.g. 256,512 (overrides --size).")]
    public string? Scales { get; init; }

    [CommandOption("--smooth-updates <TAPS>")]
    [Description("Blur every change the optimiser makes to the image, against stride grids: 0 (off), 3, 5, 7 or 9 taps (default 3).")]
    public int? SmoothUpdates { get; init; }

    [CommandOption("--tolerance <T>")]
    [Description("Stop a scale early when the loss changes by less than T for 5 iterations (default 1e-5; 0: never).")]
    public string Tolerance { get; init; } = "1e-5";

    /// <summary>The style image paths.</summary>
    public IReadOnlyList<string> StylePaths() => Style.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        return RequiredOptions.Missing((Style, "--style")) ?? base.Validate();
    }

    static IReadOnlyList<float> Blend(string text, int styleCount)
    {
        var blend = Floats(text, "--style-blend");
        if (blend.Count != styleCount) throw new MLStyleException($"--style-blend has {blend.Count} weights for {styleCount} style images");
        return blend;
    }

    /// <summary>The engine options these settings describe.</summary>
    public StyleTransferOptions Options(int styleCount) => new()
    {
        Size = Size,
        Iterations = Iterations,
        Optimizer = Optimizer.ToLowerInvariant(),
        LearningRate = Float(LearningRate, "--learning-rate"),
        LbfgsHistory = History,
        LbfgsHistoryPrecision = HistoryPrecision.ToLowerInvariant() switch
        {
            "half" or "float16" => MLStyle.Optimization.HistoryPrecision.Half,
            "single" or "float32" => MLStyle.Optimization.HistoryPrecision.Single,
            _ => throw new MLStyleException($"invalid --history-precision '{HistoryPrecision}': use half or single"),
        },
        LineSearch = LineSearch.ToLowerInvariant() switch
        {
            "none" => MLStyle.Optimization.LineSearch.None,
            "strong-wolfe" or "strongwolfe" or "wolfe" => MLStyle.Optimization.LineSearch.StrongWolfe,
            _ => throw new MLStyleException($"invalid --line-search '{LineSearch}': use none or strong-wolfe"),
        },
        ContentWeight = ContentWeightValue(),
        StyleWeight = StyleWeightValue(),
        TvWeight = TvWeightValue(),
        StyleBlend = StyleBlend is null ? null : Blend(StyleBlend, styleCount),
        StyleScale = Float(StyleScale, "--style-scale")!.Value,
        Init = Init,
        Seed = Seed,
        PreserveColors = PreserveColors,
        Scales = Scales is null ? null : Ints(Scales, "--scales"),
        ContentLayers = ContentLayerList(),
        StyleLayers = StyleLayerList(),
        Tolerance = Float(Tolerance, "--tolerance")!.Value,
        InputBlur = InputBlur,
        SmoothUpdates = SmoothUpdates ?? new StyleTransferOptions().SmoothUpdates,
    };
}

/// <summary>
/// The options of the style-transfer commands that plan their memory and time before they run (<c>stylize</c>,
/// <c>batch stylize</c>): those of <see cref="StyleTransferSettings"/> plus the pre-flight options.
/// </summary>
public class PlannedStyleTransferSettings : StyleTransferSettings, IPreflightSettings
{
    [CommandOption("--dry-run")]
    [Description("Print the pre-flight estimate (peak memory, time) and exit without running.")]
    public bool DryRun { get; init; }

    [CommandOption("--max-memory <SIZE>")]
    [Description("Memory the run may use, e.g. 8GiB (default: the machine's). Above it, stylize falls back to a shorter L-BFGS history, then Adam; what still does not fit is refused (exit 5).")]
    public string? MaxMemory { get; init; }
}
