using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Cli.Commands;

/// <summary>The check of the options a command cannot do without.</summary>
public static class RequiredOptions
{
    /// <summary>The error naming the first option without a value (<c>--input is required</c>), or null when all have one.</summary>
    public static Spectre.Console.ValidationResult? Missing(params (string? Value, string Option)[] options)
    {
        foreach (var (value, option) in options)
            if (string.IsNullOrWhiteSpace(value)) return Spectre.Console.ValidationResult.Error($"{option} is required");
        return null;
    }
}

/// <summary>Options shared by the commands that run ONNX Runtime on images: device, threads, the input size limit.</summary>
public class RuntimeSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("cpu (default), cuda or cuda:N. Without CUDA: one warning, then the CPU.")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>")]
    [Description("ONNX Runtime threads (default: one per core).")]
    public int Threads { get; init; }

    [CommandOption("--max-pixels <N>")]
    [Description("Refuse input images with more pixels than this, checked from the header (default 50000000).")]
    public long MaxPixels { get; init; } = Imaging.ImageLoadOptions.DefaultMaxPixels;

    /// <summary>How images are loaded: the --max-pixels limit, named as the option that raises it.</summary>
    public ImageLoadOptions LoadOptions() => new() { MaxPixels = MaxPixels, MaxPixelsName = "--max-pixels" };

    /// <summary>The session settings these options describe.</summary>
    public SessionSettings Session() => new() { Device = ExecutionDevice.Parse(Device), Threads = Threads };

    /// <inheritdoc />
    public override Spectre.Console.ValidationResult Validate()
    {
        if (Threads < 0 || Threads > MLStyle.Runtime.SessionSettings.MaxThreads)
            return Spectre.Console.ValidationResult.Error($"invalid --threads {Threads}: must be 0 (one per core) to {MLStyle.Runtime.SessionSettings.MaxThreads}");
        if (MaxPixels <= 0) return Spectre.Console.ValidationResult.Error($"invalid --max-pixels {MaxPixels}");
        return base.Validate();
    }
}

/// <summary>Options shared by the commands that run a backbone.</summary>
public class BackboneSettings : RuntimeSettings
{
    [CommandOption("--model <MODEL>")]
    [Description("Backbone: resnet18 (embedded, default), vgg16/vgg19 (a models/vgg19*.onnx file) or a path to an .onnx CNN.")]
    public string Model { get; init; } = "resnet18";

    [CommandOption("--models-dir <DIR>")]
    [Description("Where --model vgg19 and the like are looked up (default: ./models).")]
    public string? ModelsDir { get; init; }

    [CommandOption("--pooling <MODE>")]
    [Description("VGG pooling: max (default) or avg (Gatys' choice).")]
    public string Pooling { get; init; } = "max";

    [CommandOption("--seed <N>")]
    [Description("Random seed: the same seed on the same machine gives the same output (default 0).")]
    public int Seed { get; init; }

    /// <summary>The backbone these options describe.</summary>
    public Backbone Backbone() => BackboneFactory.Resolve(Model, ModelsDir, Pooling.ToLowerInvariant() switch
    {
        "max" => VggPooling.Max,
        "avg" or "average" => VggPooling.Average,
        _ => throw new MLStyleException($"invalid --pooling '{Pooling}': use max or avg"),
    });

    /// <summary>Parses a number given to <paramref name="option"/> (invariant culture); null stays null.</summary>
    public static float? Float(string? text, string option) =>
        text is null ? null
        : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v
        : throw new MLStyleException($"invalid {option} '{text}': expected a number");

    /// <summary>Parses a comma-separated list of numbers (invariant culture).</summary>
    public static IReadOnlyList<float> Floats(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
                ? v : throw new MLStyleException($"invalid {option} value '{s}': expected numbers separated by commas"))
            .ToList();

    /// <summary>Parses a comma-separated list of integers.</summary>
    public static IReadOnlyList<int> Ints(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                ? v : throw new MLStyleException($"invalid {option} value '{s}': expected whole numbers separated by commas"))
            .ToList();
}

/// <summary>
/// The options of the style objective (term weights, layers, input blur), declared once for the commands that use it:
/// <c>train</c> directly, <c>stylize</c>, <c>batch stylize</c> and <c>bench quality</c> through <see cref="StyleTransferSettings"/>.
/// Unset, each is the command's default: the backbone's (<see cref="StyleDefaults"/>), or training's own where
/// <see cref="StylizerTrainingOptions"/> has one.
/// </summary>
public class ObjectiveSettings : BackboneSettings
{
    [CommandOption("--content-weight <W>")]
    [Description("Content loss weight (default: the backbone's; train on resnet18: 3).")]
    public string? ContentWeight { get; init; }

    [CommandOption("--style-weight <W>")]
    [Description("Style loss weight (default: the backbone's).")]
    public string? StyleWeight { get; init; }

    [CommandOption("--tv-weight <W>")]
    [Description("Total-variation weight (default: the backbone's; train: 500).")]
    public string? TvWeight { get; init; }

    [CommandOption("--content-layers <LAYERS>")]
    [Description("Content layers with optional weights, e.g. layer2.1 or relu4_2:1.")]
    public string? ContentLayers { get; init; }

    [CommandOption("--style-layers <LAYERS>")]
    [Description("Style layers with optional weights, e.g. conv1,layer1.1:0.5 (default: the backbone's; train on resnet18: conv1,layer1.1,layer2.1,layer3.1).")]
    public string? StyleLayers { get; init; }

    [CommandOption("--input-blur <TAPS>")]
    [Description("Binomial blur the backbone sees the image through, against stride grids: 0 (none), 3 or 5 taps. Default: the backbone's; train: 5 (fewer stripes, see docs/fast-style.md).")]
    public int? InputBlur { get; init; }

    /// <summary>The parsed content weight, or null for the default.</summary>
    public float? ContentWeightValue() => Float(ContentWeight, "--content-weight");

    /// <summary>The parsed style weight, or null for the default.</summary>
    public float? StyleWeightValue() => Float(StyleWeight, "--style-weight");

    /// <summary>The parsed total-variation weight, or null for the default.</summary>
    public float? TvWeightValue() => Float(TvWeight, "--tv-weight");

    /// <summary>The parsed content layers, or null for the default.</summary>
    public IReadOnlyList<WeightedLayer>? ContentLayerList() => ContentLayers is null ? null : WeightedLayer.ParseList(ContentLayers);

    /// <summary>The parsed style layers, or null for the default.</summary>
    public IReadOnlyList<WeightedLayer>? StyleLayerList() => StyleLayers is null ? null : WeightedLayer.ParseList(StyleLayers);
}

/// <summary>
/// The options of a pre-flight estimate (<c>--dry-run</c>, <c>--max-memory</c>), declared by the commands that plan their
/// memory and time before they run: <see cref="PlannedStyleTransferSettings"/> (stylize, batch stylize) and
/// <see cref="DreamCommand.Settings"/>. Each declares them in its own settings (Spectre.Console.Cli shares options only
/// through single inheritance, and their bases differ), with the wording of what its limit does.
/// </summary>
public interface IPreflightSettings
{
    /// <summary>Print the estimate and exit.</summary>
    bool DryRun { get; }

    /// <summary>The --max-memory text, or null for the machine's available memory.</summary>
    string? MaxMemory { get; }
}

/// <summary>The memory limit of a run.</summary>
public static class PreflightSettingsExtensions
{
    /// <summary>The memory limit: --max-memory, or the machine's available memory.</summary>
    public static long MemoryLimit(this IPreflightSettings s) => s.MaxMemory is null ? Preflight.AvailableMemoryBytes() : ByteSizes.Parse(s.MaxMemory);
}
